"""Records Keras 3.15.1 on a model that nests a `Sequential`, as ConvNeXt nests its stem,
for tests/graph_nested.rs: `model.summary()` (120 columns) and the parameter counts.

    COLUMNS=120 ~/keras-venv/bin/python tools/keras_nested.py tests/data/nested

Writes `stemmed.keras3.txt` (the summary) and `stemmed.counts.txt` (`name params` per
layer of the outer model, then `total`, `trainable`, `non_trainable`).
"""
import os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["COLUMNS"] = "120"
import keras
from keras import layers as L

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
inp = keras.Input((32, 32, 3))
stem = keras.Sequential(
    [
        L.Conv2D(8, 4, strides=4, name="stem_conv"),
        L.LayerNormalization(epsilon=1e-6, name="stem_layernorm"),
    ],
    name="stem",
)
s = stem(inp)
y = L.Conv2D(8, 3, padding="same")(s)
y = L.BatchNormalization()(y)
y = L.Add()([y, s])
y = L.GlobalAveragePooling2D()(y)
m = keras.Model(inp, L.Dense(10)(y), name="stemmed")
lines = []
m.summary(print_fn=lambda s, line_break=True: lines.append(s))
with open(f"{out}/stemmed.keras3.txt", "w") as f:
    f.write("".join(lines))
with open(f"{out}/stemmed.counts.txt", "w") as f:
    for l in m.layers:
        f.write(f"{l.name} {l.count_params()}\n")
    f.write(f"total {m.count_params()}\n")
    f.write(f"trainable {sum(int(w.numpy().size) for w in m.trainable_weights)}\n")
    f.write(f"non_trainable {sum(int(w.numpy().size) for w in m.non_trainable_weights)}\n")
print("".join(lines))
