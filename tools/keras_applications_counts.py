"""Records keras.applications' parameter counts and layers, for tests/applications.rs and
the `const_assert_eq!`s of examples/applications/.

For each of the ten models, built as `keras.applications.X(weights=None)` with its default
arguments (include_top=True, 224x224x3 or 299x299x3, 1000 classes; MobileNetV3Small's
default input has no sizes, so it is built at 224x224x3, which changes no count), writes
`tests/data/applications/<name>.txt`:

    total <count_params()> trainable <n> non_trainable <n>
    <operation name> <class name> <output shape without the batch> <params>
    ...

one line per operation of `model.operations` (layers, nested models as one row, and the
operations Keras records for arithmetic on tensors, `Add` of `keras.src.ops.numpy`), in
Keras's order, as `model.summary()` lists them. Shapes are written `(224,224,3)`. Also
`<name>.keras3.txt`: `model.summary()` as it prints in a terminal of 120 columns.

    COLUMNS=120 ~/keras-venv/bin/python tools/keras_applications_counts.py tests/data/applications
"""
import os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["COLUMNS"] = "120"
import keras

A = keras.applications
MODELS = {
    "vgg16": A.VGG16,
    "resnet50": A.ResNet50,
    "mobilenet": A.MobileNet,
    "mobilenet_v2": A.MobileNetV2,
    "densenet121": A.DenseNet121,
    "efficientnet_b0": A.EfficientNetB0,
    "inception_v3": A.InceptionV3,
    "xception": A.Xception,
    "convnext_tiny": A.ConvNeXtTiny,
    # Its default input is (None, None, 3); the DSL needs sizes, and its counts do not
    # depend on them (checked below), so it is recorded at 224x224x3 as the others.
    "mobilenet_v3_small": lambda weights: A.MobileNetV3Small(weights=weights, input_shape=(224, 224, 3)),
}

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
only = sys.argv[2:]


def count(weights):
    return sum(int(w.numpy().size) for w in weights)


for name, make in MODELS.items():
    if only and name not in only:
        continue
    # A fresh session per model, so that automatic names (`add`, `input_layer`) start
    # from zero as they do in a program that builds one model.
    keras.backend.clear_session()
    m = make(weights=None)
    if name == "mobilenet_v3_small":
        assert m.count_params() == A.MobileNetV3Small(weights=None).count_params()
        keras.backend.clear_session()
        m = make(weights=None)
    lines = [
        f"total {m.count_params()} trainable {count(m.trainable_weights)} "
        f"non_trainable {count(m.non_trainable_weights)}"
    ]
    for op in m.operations:
        shape = op.output.shape if not isinstance(op.output, (list, tuple)) else op.output[0].shape
        dims = ",".join(str(d) for d in shape[1:])
        params = op.count_params() if hasattr(op, "count_params") and op.built else 0
        lines.append(f"{op.name} {type(op).__name__} ({dims}) {params}")
    with open(os.path.join(out_dir, f"{name}.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    summary = []
    m.summary(print_fn=lambda s, line_break=True: summary.append(s))
    with open(os.path.join(out_dir, f"{name}.keras3.txt"), "w") as f:
        f.write("".join(summary))
    print(name, lines[0], len(lines) - 1, "operations", flush=True)
