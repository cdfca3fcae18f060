"""Keras/TensorFlow CPU inference time of keras.applications models, the peer of
`cargo bench --bench graph_inference` (BENCHMARKS.md). As ../shared/bench/keras_infer.py:
the model call compiled with `tf.function`, best of 5 runs, random weights (weights=None)
and random inputs.

    ~/keras-venv/bin/python tools/keras_applications_infer.py [threads]

Prints one line per case: `<model> batch=<n>: <ms> ms/batch (<samples/s> samples/s)`.
"""
import os, sys, time

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras

if len(sys.argv) > 1:
    n = int(sys.argv[1])
    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(1)
keras.utils.set_random_seed(1)
A = keras.applications
cases = [
    ("resnet50", lambda: A.ResNet50(weights=None), 1),
    ("resnet50", lambda: A.ResNet50(weights=None), 8),
    ("mobilenet_v2", lambda: A.MobileNetV2(weights=None), 1),
    ("mobilenet_v2", lambda: A.MobileNetV2(weights=None), 8),
]
for name, make, batch in cases:
    model = make()
    x = np.random.default_rng(0).uniform(-1, 1, size=(batch, 224, 224, 3)).astype("float32")
    f = tf.function(lambda t: model(t, training=False))
    f(x)  # trace
    reps = 20 if batch == 1 else 4
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            f(x).numpy()
        best = min(best, (time.perf_counter() - t) / reps)
    print(f"{name} batch={batch}: {best * 1e3:.2f} ms/batch ({batch / best:.1f} samples/s)", flush=True)
