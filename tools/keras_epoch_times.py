"""Keras's seconds per training epoch, epoch by epoch, for the three models of
../shared/bench/keras_mnist.py (same data, optimizers, batch 128, shuffled).

keras_mnist.py averages over the whole fit, so its figure includes the first epoch's
tracing and compilation; this script times each epoch with a callback and prints the
median of the epochs after the first (steady state) next to the first epoch, to compare
with the criterion medians of `cargo bench --bench training`.

    ~/keras-venv/bin/python tools/keras_epoch_times.py data/mnist [epochs]
"""
import os, sys, time

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras

from keras_mnist_common import BENCH_MODELS, load


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


d = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 11
x, y, _, _ = load(d)
keras.utils.set_random_seed(1)
for name, (layers, optimizer, _) in BENCH_MODELS.items():
    m = keras.Sequential(layers())
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimes()
    m.fit(x[..., None] if "cnn" in name else x, y, batch_size=128, epochs=epochs, verbose=0, callbacks=[timer])
    steady = np.median(timer.times[1:])
    print(f"{name}: first_epoch_s={timer.times[0]:.3f} median_epoch_s={steady:.4f} (epochs 2-{epochs})", flush=True)
