"""Records model summaries for tests/summaries.rs, from real Keras.

For each model below (the same models are written in the DSL in tests/summaries.rs):

- `<name>.keras3.txt`: Keras 3.15.1's `model.summary()`, as it prints in a terminal of 120
  columns (its default widths: 88 for a stack, 108 for a graph).
- `<name>.keras2.txt`: Keras 2's functional table, the layout of the seed article's era
  (TF 2.4–2.8 `print_summary`: `print_row`'s fixed columns, a rule under each row, the
  `Connected to` column as a Python list). Those TensorFlow versions do not install on this
  Python, so the rows come from Keras 2 as it is today (`tf_keras`: `model.layers` order,
  `_inbound_nodes`, `iterate_inbound`, `output_shape` or `multiple`) and only the few lines
  that lay the rows out are written here, after that era's `print_summary`.

    ~/keras-venv/bin/pip install tf_keras
    COLUMNS=120 ~/keras-venv/bin/python tools/keras_summaries.py tests/data/summaries
"""
import io, os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["COLUMNS"] = "120"

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)


def models(keras, L):
    """name -> model, built from one vocabulary so that Keras 2 and 3 get the same models."""

    def residual():
        inp = keras.Input((28, 28, 1), name="image")
        x = L.Conv2D(8, 3, padding="same", name="stem")(inp)
        y = L.Conv2D(8, 3, padding="same", activation="relu", name="block_expand_convolution")(x)
        y = L.BatchNormalization(name="block_expand_batch_normalization")(y)
        x = L.Add(name="block_add")([x, y])
        x = L.GlobalAveragePooling2D(name="pool")(x)
        return keras.Model(inp, L.Dense(10, activation="softmax", name="classes")(x), name="residual")

    def siamese():
        a = keras.Input((12,), name="left")
        b = keras.Input((12,), name="right")
        shared = L.Dense(8, activation="relu", name="encoder")
        ea, eb = shared(a), shared(b)
        joined = L.Concatenate(name="joined")([ea, eb])
        distance = L.Subtract(name="distance")([ea, eb])
        score = L.Dense(1, activation="sigmoid", name="score")(joined)
        return keras.Model([a, b], [score, distance], name="siamese")

    def shared_shapes():
        a = keras.Input((4, 6), name="short")
        b = keras.Input((9, 6), name="long")
        shared = L.Dense(5, name="rows")
        x = L.Flatten(name="flat_short")(shared(a))
        y = L.Flatten(name="flat_long")(shared(b))
        return keras.Model([a, b], L.Concatenate(name="joined")([x, y]), name="shared_shapes")

    def chain():
        inp = keras.Input((16,), name="features")
        x = L.Dense(8, activation="relu", name="hidden")(inp)
        return keras.Model(inp, L.Dense(2, name="out")(x), name="chain")

    def mlp():
        return keras.Sequential(
            [keras.Input((28, 28)), L.Flatten(name="flatten"), L.Dense(128, activation="relu", name="dense"),
             L.Dense(10, activation="softmax", name="dense_1")],
            name="mlp",
        )

    return {"residual": residual, "siamese": siamese, "shared_shapes": shared_shapes, "chain": chain, "mlp": mlp}


def keras3():
    import keras
    from keras import layers as L

    for name, build in models(keras, L).items():
        model = build()
        lines = []
        model.summary(print_fn=lambda s, line_break=True: lines.append(s))
        text = "".join(lines)
        with open(f"{out_dir}/{name}.keras3.txt", "w") as f:
            f.write(text)
        print(text)


def keras2():
    import tf_keras as keras
    from tf_keras import layers as L

    def print_row(fields, positions):
        line = ""
        for i in range(len(fields)):
            if i > 0:
                line = line[:-1] + " "
            line += str(fields[i])
            line = line[: positions[i]]
            line += " " * (positions[i] - len(line))
        return line.rstrip()

    for name, build in models(keras, L).items():
        model = build()
        if isinstance(model, keras.Sequential):
            continue
        relevant = set()
        for v in model._nodes_by_depth.values():
            relevant.update(id(n) for n in v)
        sequential_like = True
        for v in model._nodes_by_depth.values():
            if len(v) > 1 or (len(v) == 1 and len(v[0].keras_inputs) > 1):
                sequential_like = False
                break
        if sequential_like:
            for layer in model.layers:
                if sum(id(n) in relevant for n in layer._inbound_nodes) > 1:
                    sequential_like = False
        if sequential_like:
            line_length, positions = 65, [29, 55, 65]
            header = ["Layer (type)", "Output Shape", "Param #"]
        else:
            line_length, positions = 98, [32, 53, 65, 98]
            header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        lines = ["_" * line_length, print_row(header, positions), "=" * line_length]
        for i, layer in enumerate(model.layers):
            try:
                shape = layer.output_shape
            except AttributeError:
                shape = "multiple"
            fields = [f"{layer.name} ({layer.__class__.__name__})", shape, layer.count_params()]
            if not sequential_like:
                connections = []
                for node in layer._inbound_nodes:
                    if id(node) not in relevant:
                        continue
                    for inbound, node_index, tensor_index, _ in node.iterate_inbound():
                        connections.append(f"{inbound.name}[{node_index}][{tensor_index}]")
                fields.append(connections)
            lines.append(print_row(fields, positions))
            lines.append("=" * line_length if i == len(model.layers) - 1 else "_" * line_length)
        with open(f"{out_dir}/{name}.keras2.txt", "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))


keras3()
keras2()
