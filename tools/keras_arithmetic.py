"""Records Keras 3.15.1 on arithmetic with constants on tensors, for tests/graph_nesting.rs:
the names, classes and outputs of a model built with `+`, `-`, `*`, `/` and numbers, as
MobileNetV3 writes its hard sigmoid (`ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`).

    ~/keras-venv/bin/python tools/keras_arithmetic.py tests/data/arithmetic/ops.txt

Writes the operations (`name class`) in Keras's order, then `input` and `output` lines of
space-separated float32 values (`repr` of each, so they read back exactly).
"""
import os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
from keras import layers as L

x = keras.Input((6,))
h = L.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)
y = 2.0 - h
y = y / 4.0
y = 1.0 / (y + 1.0)
y = L.Add()([y, h])
m = keras.Model(x, y)
inp = np.array([[-4.0, -3.0, -0.5, 0.0, 1.7, 5.0], [2.9, -2.9, 0.1, 3.0, -1.0, 0.3]], "float32")
out = m.predict(inp, verbose=0)
with open(sys.argv[1], "w") as f:
    for op in m.operations[1:]:
        f.write(f"{op.name} {type(op).__name__}\n")
    for row_in, row_out in zip(inp, out):
        f.write("input " + " ".join(repr(float(v)) for v in row_in) + "\n")
        f.write("output " + " ".join(repr(float(v)) for v in row_out) + "\n")
