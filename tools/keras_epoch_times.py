"""Keras's seconds per training epoch, epoch by epoch, for the three models of
../shared/bench/keras_mnist.py (same data, optimizers, batch 128, shuffled).

keras_mnist.py averages over the whole fit, so its figure includes the first epoch's
tracing and compilation; this script times each epoch with a callback and prints the
median of the epochs after the first (steady state) next to the first epoch, to compare
with the criterion medians of `cargo bench --bench training`.

    ~/keras-venv/bin/python tools/keras_epoch_times.py data/mnist [epochs]
"""
import gzip, os, struct, sys, time

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
from keras import layers as L


def idx(p):
    with gzip.open(p) as f:
        nd = struct.unpack(">I", f.read(4))[0] & 0xFF
        dims = struct.unpack(">" + "I" * nd, f.read(4 * nd))
        return np.frombuffer(f.read(), np.uint8).reshape(dims)


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


d = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 11
x = idx(f"{d}/train-images-idx3-ubyte.gz").astype("float32") / 255
y = idx(f"{d}/train-labels-idx1-ubyte.gz")
keras.utils.set_random_seed(1)
models = {
    "linear_sgd": ([keras.Input((28, 28)), L.Flatten(), L.Dense(10, activation="softmax")], "sgd"),
    "mlp_adam": ([keras.Input((28, 28)), L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")], "adam"),
    "cnn_adam": ([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")], "adam"),
}
for name, (layers, optimizer) in models.items():
    m = keras.Sequential(layers)
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimes()
    m.fit(x[..., None] if "cnn" in name else x, y, batch_size=128, epochs=epochs, verbose=0, callbacks=[timer])
    steady = np.median(timer.times[1:])
    print(f"{name}: first_epoch_s={timer.times[0]:.3f} median_epoch_s={steady:.4f} (epochs 2-{epochs})", flush=True)
