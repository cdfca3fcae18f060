"""Records Keras training runs of functional models for tests/graph_training_parity.rs.

As tools/keras_train_parity.py does for Sequential models: for each case a small graph
model, Keras's seeded initial weights, then `fit` on the first 300 digits of data/mnist,
batch 64, 3 epochs, no shuffle, and the weights and per-epoch metrics Keras ends with.
The cases: a residual CNN with batch normalization, an Inception-style concatenation of
branches, a model of two outputs with one loss each and `loss_weights`, and a model of two
inputs (the image's top and bottom halves).

    ~/keras-venv/bin/python tools/keras_train_graph_parity.py data/mnist tests/data/graph_training_parity.safetensors

Tensors: "<case>/init/<layer name>/<k>" and "<case>/final/<layer name>/<k>" (k the index in
Keras's `get_weights()`), "<case>/<metric>" (one value per epoch, from the History: `loss`,
and for two outputs `<output>_loss` too).
"""
import os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
from keras import layers as L
from safetensors.numpy import save_file

from keras_mnist_common import load

SAMPLES, BATCH, EPOCHS = 300, 64, 3

data, out = sys.argv[1], sys.argv[2]
x, y, _, _ = load(data)
x, y = x[:SAMPLES], y[:SAMPLES].astype("int64")
even = (y % 2 == 0).astype("int64")


def residual():
    inp = keras.Input((28, 28, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="stem")(inp)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.ReLU(name="stem_relu")(x)
    y = L.Conv2D(8, 3, padding="same", use_bias=False, name="block_conv1")(x)
    y = L.BatchNormalization(name="block_bn1")(y)
    y = L.ReLU(name="block_relu1")(y)
    y = L.Conv2D(8, 3, padding="same", use_bias=False, name="block_conv2")(y)
    y = L.BatchNormalization(name="block_bn2")(y)
    x = L.Add(name="block_add")([x, y])
    x = L.ReLU(name="block_out")(x)
    x = L.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inp, L.Dense(10, activation="softmax", name="classes")(x), name="residual")


def inception():
    inp = keras.Input((28, 28, 1))
    x = L.Conv2D(6, 3, strides=2, activation="relu", name="stem")(inp)
    a = L.Conv2D(4, 1, activation="relu", name="branch1x1")(x)
    b = L.Conv2D(3, 1, activation="relu", name="branch3x3_reduce")(x)
    b = L.Conv2D(4, 3, padding="same", activation="relu", name="branch3x3")(b)
    c = L.MaxPooling2D(3, strides=1, padding="same", name="branch_pool")(x)
    c = L.Conv2D(2, 1, activation="relu", name="branch_pool_proj")(c)
    x = L.Concatenate(name="mixed")([a, b, c])
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.Flatten(name="flatten")(x)
    return keras.Model(inp, L.Dense(10, activation="softmax", name="classes")(x), name="inception")


def two_outputs():
    inp = keras.Input((28, 28))
    x = L.Flatten(name="flatten")(inp)
    x = L.Dense(16, activation="relu", name="trunk")(x)
    digit = L.Dense(10, activation="softmax", name="digit")(x)
    parity = L.Dense(1, activation="sigmoid", name="parity")(x)
    return keras.Model(inp, [digit, parity], name="two_outputs")


def two_inputs():
    top, bottom = keras.Input((14, 28), name="top"), keras.Input((14, 28), name="bottom")
    shared = L.Dense(12, activation="relu", name="rows")
    a = L.Flatten(name="flatten_top")(shared(top))
    b = L.Flatten(name="flatten_bottom")(shared(bottom))
    x = L.Concatenate(name="joined")([a, b])
    x = L.Dense(16, activation="tanh", name="hidden")(x)
    return keras.Model([top, bottom], L.Dense(10, activation="softmax", name="classes")(x), name="two_inputs")


O = keras.optimizers
sparse = "sparse_categorical_crossentropy"
keras.utils.set_random_seed(200)
# name: (model, optimizer, loss, loss_weights, inputs, targets)
CASES = {
    # SGD rather than Adam for batch normalization: the convolutions' gradients through it
    # are differences of near-equal sums, and Adam's normalisation would turn their float
    # rounding (which differs between any two implementations) into whole steps.
    "residual_bn_sgd": (residual(), O.SGD(0.05, momentum=0.9), sparse, None, x[..., None], y),
    "inception_concat_adam": (inception(), O.Adam(), sparse, None, x[..., None], y),
    "two_outputs_sgd": (
        two_outputs(),
        O.SGD(0.1),
        [sparse, "binary_crossentropy"],
        [1.0, 0.5],
        x,
        [y, even],
    ),
    "two_inputs_shared_rmsprop": (two_inputs(), O.RMSprop(), sparse, None, [x[:, :14], x[:, 14:]], y),
}

tensors = {}
for name, (model, optimizer, loss, loss_weights, inputs, targets) in CASES.items():
    for layer in model.layers:
        for k, w in enumerate(layer.get_weights()):
            tensors[f"{name}/init/{layer.name}/{k}"] = np.ascontiguousarray(w, dtype="float32")
    model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights)
    history = model.fit(inputs, targets, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    for layer in model.layers:
        for k, w in enumerate(layer.get_weights()):
            tensors[f"{name}/final/{layer.name}/{k}"] = np.ascontiguousarray(w, dtype="float32")
    for metric, values in history.history.items():
        tensors[f"{name}/{metric}"] = np.array(values, dtype="float32")
    print(name, {m: [round(v, 5) for v in vs] for m, vs in history.history.items()}, flush=True)

save_file(tensors, out)
print(f"wrote {len(tensors)} tensors to {out} ({os.path.getsize(out)} bytes)")
