"""Writes, for each keras.applications model, what `cargo run --release --example
applications -- NAME --keras DIR` checks: that Keras's weights load into the DSL's model by
layer name and give Keras's outputs.

    ~/keras-venv/bin/python tools/keras_applications_weights.py DIR [NAME...]

For each model (built as tools/keras_applications_counts.py builds it, seeded random
weights, the batch normalizations' moving statistics set away from 0 and 1 so that they
matter): `DIR/NAME.weights.h5` (`model.save_weights`), `DIR/NAME.x.f32` (two random images,
values in [0, 255), little-endian float32) and `DIR/NAME.y.f32` (Keras's `predict` on
them). The files are large (VGG16's weights are 528 MB), so they are not checked in.
"""
import os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras

A = keras.applications
MODELS = {
    "vgg16": (A.VGG16, 224),
    "resnet50": (A.ResNet50, 224),
    "mobilenet": (A.MobileNet, 224),
    "mobilenet_v2": (A.MobileNetV2, 224),
    "densenet121": (A.DenseNet121, 224),
    "efficientnet_b0": (A.EfficientNetB0, 224),
    "inception_v3": (A.InceptionV3, 299),
    "xception": (A.Xception, 299),
    "convnext_tiny": (A.ConvNeXtTiny, 224),
    "mobilenet_v3_small": (lambda weights: A.MobileNetV3Small(weights=weights, input_shape=(224, 224, 3)), 224),
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, (make, size) in MODELS.items():
    if sys.argv[2:] and name not in sys.argv[2:]:
        continue
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    m = make(weights=None)
    for i, l in enumerate(m.layers):
        if isinstance(l, keras.layers.BatchNormalization):
            c = l.moving_mean.shape[0]
            rng = np.random.default_rng(i)
            l.moving_mean.assign(rng.uniform(-0.1, 0.1, c).astype("float32"))
            l.moving_variance.assign(rng.uniform(0.5, 1.5, c).astype("float32"))
    m.save_weights(os.path.join(out, f"{name}.weights.h5"))
    x = np.random.default_rng(0).uniform(0, 255, size=(2, size, size, 3)).astype("<f4")
    x.tofile(os.path.join(out, f"{name}.x.f32"))
    m.predict(x, verbose=0).astype("<f4").tofile(os.path.join(out, f"{name}.y.f32"))
    print(name, flush=True)
