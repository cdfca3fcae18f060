#!/usr/bin/env python3
"""The seed article's search with Keras Tuner 1.4.8, for the side-by-side figures of
examples/tune_units.rs: Flatten, Dense(units, relu), Dense(10, softmax); units 32..512 step
32, learning rate in {1e-2, 1e-3, 1e-4} (Adam), Hyperband (max_epochs 10, factor 3),
objective val_accuracy, batch 32, validation on the 2,000 test digits of data/mnist.

    ~/keras-venv/bin/pip install keras-tuner==1.4.8
    ~/keras-venv/bin/python tools/keras_tuner_search.py data/mnist
"""
import os, sys, tempfile, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras, keras_tuner as kt
from keras import layers as L

from keras_mnist_common import load

d = sys.argv[1]
xtr, ytr, xte, yte = load(d)

def build(hp):
    units = hp.Int("units", min_value=32, max_value=512, step=32)
    lr = hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])
    m = keras.Sequential([keras.Input((28, 28)), L.Flatten(), L.Dense(units, activation="relu"), L.Dense(10, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m

tuner = kt.Hyperband(build, objective="val_accuracy", max_epochs=10, factor=3, seed=1,
                     directory=tempfile.mkdtemp(), project_name="mlp", overwrite=True)
t = time.time()
tuner.search(xtr, ytr, validation_data=(xte, yte), verbose=0)
dt = time.time() - t
best = tuner.oracle.get_best_trials(1)[0]
print(f"keras_tuner: {len(tuner.oracle.trials)} trials in {dt:.1f} s; best units={best.hyperparameters.get('units')} "
      f"learning_rate={best.hyperparameters.get('learning_rate')} val_accuracy={best.score:.4f}", flush=True)
