"""Records extra numerical-parity cases in the reference corpus's format (see
../shared/keras-reference/README.md) for configurations the shared corpus does not reach:
recurrent cells with non-default activations (softmax and log_softmax over each gate's
units, gelu, silu, mish, hard_silu), as activation and as recurrent_activation.

    ~/keras-venv/bin/python tools/keras_numeric_extra.py model-core/tests/data/numeric

model-core/tests/numeric_parity.rs runs every model of that directory the same way as the corpus.
"""
import json, os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
from keras import layers as L
from safetensors.numpy import save_file

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
cases = []
for cell in ["SimpleRNN", "LSTM", "GRU"]:
    for act in ["softmax", "log_softmax", "gelu", "silu", "mish", "hard_silu"]:
        cases.append((cell, {"units": 5, "activation": act, "return_sequences": True}))
    if cell != "SimpleRNN":
        for gate in ["softmax", "silu", "gelu"]:
            cases.append((cell, {"units": 5, "recurrent_activation": gate}))
cases.append(("GRU", {"units": 5, "activation": "softmax", "reset_after": False, "return_sequences": True}))

for i, (cell, config) in enumerate(cases):
    keras.utils.set_random_seed(i)
    model = keras.Sequential([keras.Input((6, 3)), getattr(L, cell)(**config)])
    # Wider than the default initializers, so that every gate leaves its linear range.
    for w in model.weights:
        w.assign(np.random.uniform(-0.8, 0.8, w.shape).astype("float32"))
    x = np.random.uniform(-1, 1, (3, 6, 3)).astype("float32")
    tensors = {"input": x, "output": model.predict(x, verbose=0)}
    weights = []
    for j, layer in enumerate(model.layers):
        listed = []
        for w in layer.weights:
            tensors[f"{j}.{w.name}"] = np.asarray(w.numpy())
            listed.append({"name": w.name, "shape": list(w.shape), "trainable": w.trainable})
        weights.append(listed)
    name = f"recurrent_activation_{i:02d}"
    spec = {"name": name, "input_shape": [6, 3], "layers": [{"class_name": cell, "config": config}], "weights": weights}
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(spec, f)
    save_file(tensors, f"{out}/{name}.safetensors")
    print(name, cell, config)
