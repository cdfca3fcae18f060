"""Records Keras training runs for tests/training_parity.rs.

For each case: a small model, Keras's own seeded initial weights, then `fit` on the first
300 digits of data/mnist, batch 64 (the last batch of each epoch holds 44), 3 epochs, no
shuffle, and the weights and per-epoch metrics that Keras ends with. The Rust test starts
from the same initial weights, trains the same way and compares.

    ~/keras-venv/bin/python tools/keras_train_parity.py data/mnist tests/data/training_parity.safetensors

Tensors: "<case>/init/<layer>/<k>" and "<case>/final/<layer>/<k>" (layer index in the
model, k the index in Keras's `get_weights()`), "<case>/loss" and "<case>/accuracy" (one
value per epoch, from the History; Keras picks the accuracy from the shapes: sparse
categorical for class ids, categorical for one-hot rows).
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
onehot = np.eye(10, dtype="float32")[y]

flat = lambda: [keras.Input((28, 28)), L.Flatten()]
mlp = lambda: flat() + [L.Dense(16, activation="relu"), L.Dense(10, activation="softmax")]
sparse = "sparse_categorical_crossentropy"
O = keras.optimizers
decay = O.schedules.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.5)

# Keras layers take their initializers' seeds when they are constructed, so the global seed
# must be set before the cases below are built, or each run records other initial weights.
keras.utils.set_random_seed(100)
# name: (layers, optimizer, loss, one-hot targets)
CASES = {
    "linear_sgd": (flat() + [L.Dense(10, activation="softmax")], O.SGD(0.01), sparse, False),
    "mlp_sgd_nesterov": (mlp(), O.SGD(0.05, momentum=0.9, nesterov=True), sparse, False),
    "mlp_adam": (mlp(), O.Adam(), sparse, False),
    "mlp_adamw": (mlp(), O.AdamW(), sparse, False),
    "mlp_rmsprop": (mlp(), O.RMSprop(), sparse, False),
    "mlp_rmsprop_centered_momentum": (mlp(), O.RMSprop(momentum=0.5, centered=True), sparse, False),
    "mlp_adam_amsgrad_decay": (mlp(), O.Adam(decay, amsgrad=True), sparse, False),
    "logits_categorical": (
        flat() + [L.Dense(16, activation="relu"), L.Dense(10)],
        O.Adam(),
        keras.losses.CategoricalCrossentropy(from_logits=True),
        True,
    ),
    "sigmoid_binary": (flat() + [L.Dense(10, activation="sigmoid")], O.SGD(0.1), "binary_crossentropy", True),
    "sigmoid_mse": (flat() + [L.Dense(10, activation="sigmoid")], O.SGD(0.5), "mse", True),
    "linear_mae": (flat() + [L.Dense(10)], O.SGD(0.01), "mae", True),
    "batchnorm_adam": (
        flat() + [L.Dense(16, use_bias=False), L.BatchNormalization(), L.Activation("relu"), L.Dense(10, activation="softmax")],
        O.Adam(),
        sparse,
        False,
    ),
    "cnn_adam": (
        [keras.Input((28, 28, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
         L.Conv2D(8, 3, padding="same", activation="relu"), L.AveragePooling2D(2),
         L.Flatten(), L.Dense(10, activation="softmax")],
        O.Adam(),
        sparse,
        False,
    ),
    "lstm_adam": ([keras.Input((28, 28)), L.LSTM(8), L.Dense(10, activation="softmax")], O.Adam(), sparse, False),
    "gru_adam": (
        [keras.Input((28, 28)), L.GRU(8, return_sequences=True), L.GlobalAveragePooling1D(),
         L.Dense(10, activation="softmax")],
        O.Adam(),
        sparse,
        False,
    ),
}

tensors = {}
for name, (layers, optimizer, loss, dense_targets) in CASES.items():
    model = keras.Sequential(layers)
    inputs = x[..., None] if name.startswith("cnn") else x
    targets = onehot if dense_targets else y
    for j, layer in enumerate(model.layers):
        for k, w in enumerate(layer.get_weights()):
            tensors[f"{name}/init/{j}/{k}"] = np.ascontiguousarray(w, dtype="float32")
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    history = model.fit(inputs, targets, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    for j, layer in enumerate(model.layers):
        for k, w in enumerate(layer.get_weights()):
            tensors[f"{name}/final/{j}/{k}"] = np.ascontiguousarray(w, dtype="float32")
    tensors[f"{name}/loss"] = np.array(history.history["loss"], dtype="float32")
    tensors[f"{name}/accuracy"] = np.array(history.history["accuracy"], dtype="float32")
    print(name, "loss", history.history["loss"], "accuracy", history.history["accuracy"], flush=True)

save_file(tensors, out)
print(f"wrote {len(tensors)} tensors to {out} ({os.path.getsize(out)} bytes)")
