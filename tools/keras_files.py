#!/usr/bin/env python3
"""Records the Keras-file fixtures of tests/keras_files.rs, from real Keras 3.15.1.

For each model below, built with random weights (every variable, batch normalization's
moving statistics included, so that a weight read into the wrong place shows):

- `<name>.keras` (`model.save`), or `<name>.h5` (`model.save`, the legacy HDF5 format), or
  `<name>.weights.h5` (`model.save_weights`) for the files that hold weights only;
- `<name>.io.safetensors`: a batch of inputs (`x`, or `x0`, `x1`, … for several) and
  Keras's outputs in inference (`y`, or `y0`, `y1`, …), all float32 (`Embedding` ids too);
- `<name>.summary.txt`: `model.summary()` as Keras prints it in a terminal of 120 columns;
- `<name>_keras2.h5` and `<name>_keras2.keras` for a few: the same model and weights saved
  by Keras 2 (`tf_keras`, the era of the seed article and of `keras.applications`'
  downloads: `weight_names` such as `dense/kernel:0`, Keras 2's `inbound_nodes`, and
  `.keras` weights without the layers' names, found by counting);
- `index.json`: per file, the model's name, `count_params()` and the trainable and
  non-trainable counts, and for a weights-only file the fixture whose model it fits.

Also a few files for the bad-input tests: float16 and bfloat16 weights, a `Lambda` layer,
a custom layer. Run from the repository root:

    ~/keras-venv/bin/python tools/keras_files.py tests/data/keras-files
"""
import io, json, os, sys, contextlib

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["COLUMNS"] = "120"

import numpy as np
import keras
import tf_keras
from keras import layers as L
from safetensors.numpy import save_file

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(11)


def randomize(model):
    """Every variable random: kernels and biases around 0, variances positive."""
    for w in model.weights:
        shape = tuple(w.shape)
        if "moving_variance" in w.path or w.path.endswith("variance"):
            v = rng.uniform(0.5, 1.5, shape)
        else:
            v = rng.normal(0.0, 0.4, shape)
        w.assign(v.astype(w.dtype))


def cnn():
    # The seed article's image classifier, scaled down to 24×24 and fewer filters.
    return keras.Sequential([
        keras.Input((24, 24, 3)),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.Conv2D(8, 3, activation="relu"),
        L.MaxPooling2D(3),
        L.Dropout(0.25),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.Conv2D(8, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(32, activation="relu", name="hidden"),
        L.Dropout(0.5),
        L.Dense(16, activation="relu"),
        L.Dropout(0.5),
        L.Dense(9, activation="softmax"),
    ], name="image_classifier")


def mlp():
    return keras.Sequential([
        keras.Input((8, 8)),
        L.Flatten(),
        L.Dense(32, activation="relu"),
        L.Dense(10, activation="softmax"),
    ], name="mlp")


def lstm():
    return keras.Sequential([
        keras.Input((10, 4)),
        L.LSTM(8, return_sequences=True),
        L.LSTM(6),
        L.Dense(3, activation="tanh"),
    ], name="lstm_stack")


def batchnorm():
    return keras.Sequential([
        keras.Input((12, 12, 2)),
        L.Conv2D(6, 3, use_bias=False),
        L.BatchNormalization(),
        L.ReLU(),
        L.GlobalAveragePooling2D(),
        L.Dense(8),
        L.BatchNormalization(momentum=0.9, epsilon=1e-5),
        L.Dense(2, activation="sigmoid"),
    ], name="batch_norm")


def embedding():
    return keras.Sequential([
        keras.Input((12,), dtype="int32"),
        L.Embedding(50, 8),
        L.Conv1D(6, 3, padding="causal", activation="gelu"),
        L.GlobalAveragePooling1D(),
        L.Dense(2, activation="softmax"),
    ], name="text_classifier")


def bidirectional():
    return keras.Sequential([
        keras.Input((7, 5)),
        L.Bidirectional(L.LSTM(6, return_sequences=True)),
        L.Bidirectional(L.GRU(4), merge_mode="sum"),
        L.Dense(2),
    ], name="bidirectional")


def timedistributed():
    return keras.Sequential([
        keras.Input((6, 5)),
        L.TimeDistributed(L.Dense(4, activation="relu")),
        L.SimpleRNN(5, return_sequences=True, go_backwards=True),
        L.LayerNormalization(),
        L.GRU(3, reset_after=False),
    ], name="time_distributed")


def residual():
    inp = keras.Input((10, 10, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.BatchNormalization()(y)
    y = L.Conv2D(8, 3, padding="same")(y)
    x = L.Add()([x, y])
    x = L.Activation("relu")(x)
    s = L.Conv2D(16, 1, strides=2)(x)
    y = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Add(name="block2_out")([s, y])
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(4, activation="softmax")(x), name="residual")


def concatenation():
    inp = keras.Input((9, 9, 4))
    a = L.Conv2D(4, 1, activation="relu")(inp)
    b = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    c = L.MaxPooling2D(3, strides=1, padding="same")(inp)
    c = L.Conv2D(2, 1)(c)
    x = L.Concatenate()([a, b, c])
    x = L.Flatten()(x)
    return keras.Model(inp, L.Dense(3)(x), name="inception")


def two_inputs():
    a = keras.Input((6,), name="left")
    b = keras.Input((6,), name="right")
    shared = L.Dense(5, activation="tanh", name="encoder")
    ea, eb = shared(a), shared(b)
    joined = L.Concatenate()([ea, eb])
    score = L.Dense(1, activation="sigmoid", name="score")(joined)
    diff = L.Subtract(name="difference")([ea, eb])
    return keras.Model([a, b], [score, diff], name="siamese")


def half(dtype):
    def build():
        return keras.Sequential([
            keras.Input((4,)),
            L.Dense(3, activation="relu", dtype=dtype),
            L.Dense(2, dtype=dtype),
        ], name=f"mlp_{dtype}")
    return build


def with_lambda():
    return keras.Sequential([keras.Input((4,)), L.Dense(3), L.Lambda(lambda t: t * 2.0)], name="with_lambda")


@keras.saving.register_keras_serializable(package="fixtures")
class Scale(L.Layer):
    def call(self, x):
        return x * 3.0


def with_custom():
    return keras.Sequential([keras.Input((4,)), L.Dense(3), Scale()], name="with_custom")


def inputs_for(model):
    xs = []
    for t in model.inputs:
        shape = (3,) + tuple(t.shape[1:])
        if "int" in str(t.dtype):
            xs.append(rng.integers(0, 50, shape).astype("int32"))
        else:
            xs.append(rng.normal(0.0, 1.0, shape).astype("float32"))
    return xs


def mlp2(k):
    return k.Sequential([
        k.layers.Flatten(input_shape=(8, 8)),
        k.layers.Dense(32, activation="relu"),
        k.layers.Dense(10, activation="softmax"),
    ], name="mlp")


def two_inputs2(k):
    a = k.Input((6,), name="left")
    b = k.Input((6,), name="right")
    shared = k.layers.Dense(5, activation="tanh", name="encoder")
    ea, eb = shared(a), shared(b)
    joined = k.layers.Concatenate()([ea, eb])
    score = k.layers.Dense(1, activation="sigmoid", name="score")(joined)
    diff = k.layers.Subtract(name="difference")([ea, eb])
    return k.Model([a, b], [score, diff], name="siamese")


def record(name, build, formats, weights_only=(), keras2=None):
    keras.utils.clear_session()
    model = build()
    randomize(model)
    xs = inputs_for(model)
    ys = model(xs if len(xs) > 1 else xs[0], training=False)
    ys = ys if isinstance(ys, (list, tuple)) else [ys]
    tensors = {}
    for i, x in enumerate(xs):
        tensors["x" if len(xs) == 1 else f"x{i}"] = x.astype("float32")
    for i, y in enumerate(ys):
        tensors["y" if len(ys) == 1 else f"y{i}"] = np.asarray(y, dtype="float32")
    save_file(tensors, os.path.join(out_dir, f"{name}.io.safetensors"))
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        model.summary()
    with open(os.path.join(out_dir, f"{name}.summary.txt"), "w") as f:
        f.write(text.getvalue())
    entry = {
        "model": model.name,
        "params": int(model.count_params()),
        "trainable": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "non_trainable": int(sum(np.prod(w.shape) for w in model.non_trainable_weights)),
    }
    files = {}
    for ext in formats:
        path = os.path.join(out_dir, f"{name}{ext}")
        model.save(path)
        files[f"{name}{ext}"] = dict(entry, fixture=name)
    for ext in weights_only:
        path = os.path.join(out_dir, f"{name}{ext}")
        model.save_weights(path)
        files[f"{name}{ext}"] = dict(entry, fixture=name, weights_only=True)
    if keras2 is not None:
        tf_keras.backend.clear_session()
        twin = keras2(tf_keras)
        twin.set_weights(model.get_weights())
        for ext in (".h5", ".keras"):
            twin.save(os.path.join(out_dir, f"{name}_keras2{ext}"))
            files[f"{name}_keras2{ext}"] = dict(entry, fixture=name, keras2=True)
    return files


index = {}
index.update(record("cnn", cnn, [".keras", ".h5"]))
index.update(record("mlp", mlp, [".keras"], [".weights.h5"], keras2=mlp2))
index.update(record("lstm", lstm, [".keras"]))
index.update(record("batchnorm", batchnorm, [".keras", ".h5"]))
index.update(record("embedding", embedding, [".keras"]))
index.update(record("bidirectional", bidirectional, [".keras", ".h5"]))
index.update(record("timedistributed", timedistributed, [".h5"]))
index.update(record("residual", residual, [".keras"], [".weights.h5"]))
index.update(record("concatenation", concatenation, [".keras", ".h5"]))
index.update(record("two_inputs", two_inputs, [".keras"], keras2=two_inputs2))
with open(os.path.join(out_dir, "index.json"), "w") as f:
    json.dump(index, f, indent=1, sort_keys=True)
    f.write("\n")

# Bad input: files this project must refuse, or convert, with a clear message.
bad = os.path.join(out_dir, "bad")
os.makedirs(bad, exist_ok=True)
for dtype in ("float16", "bfloat16"):
    keras.utils.clear_session()
    m = half(dtype)()
    randomize(m)
    m.save(os.path.join(bad, f"mlp_{dtype}.keras"))
    # The values as float32, which a conversion must give exactly.
    save_file({f"{i}": np.asarray(w.numpy(), dtype="float32") for i, w in enumerate(m.weights)},
              os.path.join(bad, f"mlp_{dtype}.values.safetensors"))
for name, build in (("with_lambda", with_lambda), ("with_custom", with_custom)):
    keras.utils.clear_session()
    m = build()
    m.save(os.path.join(bad, f"{name}.keras"))
print("\n".join(sorted(index)))
