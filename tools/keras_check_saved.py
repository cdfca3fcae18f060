#!/usr/bin/env python3
"""Checks that Keras 3.15.1 opens what `save_keras` writes, and agrees on the outputs.

It has `tests/keras_files.rs` save every fixture's model (imported from Keras's file, weights
loaded) as a `.keras` file and as a `.weights.h5`, opens each `.keras` with
`keras.saving.load_model(path)` (no custom objects), loads each `.weights.h5` with
`model.load_weights` into the model Keras reads from the original file, runs the fixture's
inputs through both in inference and compares with the outputs Keras gave for the original
file, within 1e-4 + 1e-3·|keras|. Not part of CI (no Python
there). Run from the repository root:

    ~/keras-venv/bin/python tools/keras_check_saved.py
"""
import json, os, subprocess, sys, tempfile

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import numpy as np
import keras
from safetensors.numpy import load_file

DIR = "tests/data/keras-files"
out = tempfile.mkdtemp(prefix="keras-check-")
subprocess.run(
    ["cargo", "test", "-q", "--test", "keras_files", "save"],
    check=True, env=dict(os.environ, KERAS_FILES_SAVE_DIR=out), stdout=subprocess.DEVNULL,
)
index = json.load(open(os.path.join(DIR, "index.json")))


def worst(model, xs, ys):
    dtypes = [t.dtype for t in model.inputs]
    xs = [x.astype("int32") if "int" in str(d) else x for x, d in zip(xs, dtypes)]
    got = model(xs if len(xs) > 1 else xs[0], training=False)
    got = got if isinstance(got, (list, tuple)) else [got]
    return max(float(np.max(np.abs(np.asarray(g) - y) / (1e-4 + 1e-3 * np.abs(y)))) for g, y in zip(got, ys))


# The model of each fixture as Keras reads it from its own file (for `load_weights`).
originals = {e["fixture"]: f for f, e in sorted(index.items()) if not e.get("weights_only") and not e.get("keras2")}
ok = 0
for file, entry in sorted(index.items()):
    stem = os.path.join(out, file.replace(".", "_"))
    io = load_file(os.path.join(DIR, entry["fixture"] + ".io.safetensors"))
    xs = [io[k] for k in sorted(k for k in io if k.startswith("x"))]
    ys = [io[k] for k in sorted(k for k in io if k.startswith("y"))]
    try:
        model = keras.saving.load_model(stem + ".keras")
        w_keras = worst(model, xs, ys)
        other = keras.saving.load_model(os.path.join(DIR, originals[entry["fixture"]]))
        for w in other.weights:
            w.assign(np.zeros(w.shape, w.dtype))
        other.load_weights(stem + ".weights.h5")
        w_weights = worst(other, xs, ys)
        same = max(w_keras, w_weights) <= 1.0 and model.count_params() == entry["params"]
        ok += same
        print(f"{file}: load_model opens our .keras ({model.count_params()} params, worst output {w_keras:.4f} of the tolerance), "
              f"load_weights reads our .weights.h5 (worst {w_weights:.4f}){'' if same else '  MISMATCH'}")
    except Exception as e:
        print(f"{file}: FAILED {type(e).__name__}: {e}")
# A model written with `model!` (not imported), initialized here: its outputs as computed here.
io = load_file(os.path.join(out, "handwritten.io.safetensors"))
try:
    model = keras.saving.load_model(os.path.join(out, "handwritten.keras"))
    w = worst(model, [io["x0"], io["x1"]], [io["y"]])
    ok += w <= 1.0
    print(f"handwritten (model!): load_model opens our .keras ({model.count_params()} params, worst output {w:.4f} of the tolerance)")
except Exception as e:
    print(f"handwritten (model!): FAILED {type(e).__name__}: {e}")
print(f"keras opens what we write: {ok}/{len(index) + 1} files, same outputs")
sys.exit(0 if ok == len(index) + 1 else 1)
