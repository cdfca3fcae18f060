"""Records what Keras does with NaN and infinities in every activation and pooling layer,
as model-core/tests/data/nan_inf.json, for model-core/tests/nan_inf.rs.

    TF_ENABLE_ONEDNN_OPTS=0 ~/keras-venv/bin/python tools/keras_nan_inf.py model-core/tests/data/nan_inf.json

TensorFlow has two CPU kernels for some of these ops. Its own (Eigen) softmax gives a row
with a NaN or an infinity NaN everywhere, as JAX does and as the formula
exp(x − max) / Σ exp(x − max) does in IEEE arithmetic; oneDNN's (TensorFlow's default on
x86) gives NaN only at those positions and 0 elsewhere. The fixture records TensorFlow's
own kernels (TF_ENABLE_ONEDNN_OPTS=0, which this script checks), and prints every case
where oneDNN differs, for the record. Values are written as strings ("nan", "inf", "-inf",
or the float's repr), since JSON has no NaN.
"""
import json, os, subprocess, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
ONEDNN = "--onednn" in sys.argv  # only for the comparison below
if os.environ.get("TF_ENABLE_ONEDNN_OPTS") != ("1" if ONEDNN else "0"):
    sys.exit("run with TF_ENABLE_ONEDNN_OPTS=0 (TensorFlow's own kernels; see the docstring)")
import numpy as np
import keras
from keras import layers as L

nan, inf = float("nan"), float("inf")
# Every row mixes the special values with ordinary ones, on the last axis (where softmax
# normalizes) and along the steps (where pooling takes its windows).
ROWS = [
    [nan, 1.0, -2.0, 0.5],
    [inf, 1.0, -2.0, 0.5],
    [-inf, 1.0, -2.0, 0.5],
    [inf, -inf, 0.0, 3.0],
    [nan, inf, -inf, 1.0],
    [-inf, -inf, -inf, -inf],
    [nan, nan, nan, nan],
    [7.0, -7.0, 0.0, 2.5],
]
ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax",
               "log_softmax", "softplus", "softsign", "elu", "selu", "gelu", "silu",
               "hard_silu", "mish", "leaky_relu", "exponential"]

cases = []
def case(class_name, config, x):
    layer = getattr(L, class_name)(**config)
    y = np.asarray(layer(x))
    cases.append({"class_name": class_name, "config": config,
                  "input_shape": list(x.shape[1:]),
                  "input": [repr(float(v)) for v in x.ravel()],
                  "output": [repr(float(v)) for v in y.ravel()]})

x = np.array(ROWS, dtype=np.float32).reshape(1, len(ROWS), 4)
for a in ACTIVATIONS:
    case("Activation", {"activation": a}, x)
case("ReLU", {}, x)
case("ReLU", {"max_value": 2.0, "negative_slope": 0.5, "threshold": 1.0}, x)
case("LeakyReLU", {}, x)
case("ELU", {}, x)
case("Softmax", {}, x)
# Pooling over the 8 rows as steps: windows of two rows mix every kind of special value,
# and the last window of the 2-D case is all NaN.
for name in ["MaxPooling1D", "AveragePooling1D"]:
    case(name, {"pool_size": 2}, x)
    case(name, {"pool_size": 3, "strides": 1, "padding": "same"}, x)
for name in ["GlobalMaxPooling1D", "GlobalAveragePooling1D"]:
    case(name, {}, x)
x2 = x.reshape(1, 4, 2, 4)
for name in ["MaxPooling2D", "AveragePooling2D"]:
    case(name, {"pool_size": 2}, x2)
for name in ["GlobalMaxPooling2D", "GlobalAveragePooling2D"]:
    case(name, {}, x2)

with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"recorded_with": f"keras {keras.__version__}, TF_ENABLE_ONEDNN_OPTS={int(ONEDNN)}"})[:-1])
    f.write(', "cases": [\n' + ",\n".join(json.dumps(c) for c in cases) + "\n]}\n")
print(f"{len(cases)} cases")

# For the record: where oneDNN's kernels say otherwise.
if not ONEDNN:
    other = sys.argv[1] + ".onednn"
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1")
    subprocess.run([sys.executable, __file__, other, "--onednn"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    theirs = json.load(open(other))["cases"]
    os.remove(other)
    for a, b in zip(cases, theirs):
        if a["output"] != b["output"]:
            print(f"oneDNN differs: {a['class_name']} {a['config']}")
