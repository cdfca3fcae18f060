#!/usr/bin/env python3
"""Trains the MNIST MLP of ../shared/bench (Flatten, Dense(128, relu), Dense(10, softmax);
Adam, 10 epochs, batch 128) with real Keras on data/mnist, and saves its weights as
safetensors in the layout `model!` models load: `"<layer name>/<weight name>"`, Keras's
layouts. The result is data/mnist-mlp-keras.safetensors, used by examples/mnist_infer.rs.

    ~/keras-venv/bin/pip install safetensors
    ~/keras-venv/bin/python tools/keras_train_mlp.py data/mnist data/mnist-mlp-keras.safetensors
"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from keras import layers as L
from safetensors.numpy import save_file

from keras_mnist_common import load

d = sys.argv[1]
x_train, y_train, x_test, y_test = load(d)
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((28, 28)), L.Flatten(name="flatten"),
                          L.Dense(128, activation="relu", name="dense"), L.Dense(10, activation="softmax", name="dense_1")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=10, batch_size=128, verbose=0)
loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"Keras test accuracy: {acc:.4f}, loss: {loss:.4f}")
tensors = {}
for layer in model.layers:
    for w in layer.weights:
        tensors[f"{layer.name}/{w.name}"] = np.ascontiguousarray(w.numpy().astype("float32"))
probs = model.predict(x_test[:5], verbose=0)
print("first 5 predictions:", probs.argmax(1).tolist(), "labels:", y_test[:5].tolist())
save_file(tensors, sys.argv[2])
print("saved", sorted(tensors))
