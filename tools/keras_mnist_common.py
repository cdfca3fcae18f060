"""What the Keras scripts in tools/ share: the MNIST IDX reader and the three models of
../shared/bench/keras_mnist.py with their optimizers and epochs. Imported by the scripts
beside it (Python puts a script's own folder on its path)."""
import gzip, struct

import numpy as np
import keras
from keras import layers as L


def idx(path):
    """One gzip-compressed IDX file as a uint8 array of its dimensions."""
    with gzip.open(path) as f:
        nd = struct.unpack(">I", f.read(4))[0] & 0xFF
        dims = struct.unpack(">" + "I" * nd, f.read(4 * nd))
        return np.frombuffer(f.read(), np.uint8).reshape(dims)


def load(d):
    """(train images, train labels, test images, test labels) of the MNIST files in `d`,
    images as float32 in [0, 1], 28×28."""
    x_train = idx(f"{d}/train-images-idx3-ubyte.gz").astype("float32") / 255
    x_test = idx(f"{d}/t10k-images-idx3-ubyte.gz").astype("float32") / 255
    return x_train, idx(f"{d}/train-labels-idx1-ubyte.gz"), x_test, idx(f"{d}/t10k-labels-idx1-ubyte.gz")


# keras_mnist.py's models: name -> (a function giving fresh layers, optimizer, epochs).
BENCH_MODELS = {
    "linear_sgd": (lambda: [keras.Input((28, 28)), L.Flatten(), L.Dense(10, activation="softmax")], "sgd", 12),
    "mlp_adam": (
        lambda: [keras.Input((28, 28)), L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")],
        "adam",
        10,
    ),
    "cnn_adam": (
        lambda: [keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                 L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                 L.Dense(10, activation="softmax")],
        "adam",
        10,
    ),
}
