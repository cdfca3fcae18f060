#!/usr/bin/env python3
"""ONNX Runtime on our exported benchmark models (`examples/export_onnx.rs`): the MLP
784-128-10 at batch 1 and 128, the MNIST CNN at batch 128, the seed CNN at batch 8 — the
cases of `cargo bench --bench inference` — with one thread and with two. Each case is
warmed up, then timed call by call; prints the median and the range (min–max) of the
per-call times, in ms.

    cargo run --release --example export_onnx            # writes target/onnx/*.onnx

The graph models of `cargo bench --bench graph_inference`, ResNet50 and MobileNetV2 at
batch 1 and 8, are timed too when their files are there:

    cargo run --release --example applications -- resnet50 --onnx target/onnx/resnet50.onnx
    cargo run --release --example applications -- mobilenet_v2 --onnx target/onnx/mobilenet_v2.onnx
    ~/keras-venv/bin/python tools/onnx_bench_ort.py [DIR] [THREADS...]
"""
import os, sys, time

import numpy as np
import onnxruntime as ort

DIR = sys.argv[1] if len(sys.argv) > 1 else "target/onnx"
THREADS = [int(t) for t in sys.argv[2:]] or [1, 2]
CASES = [  # file, sample shape (channels last), batch, calls timed
    ("mlp", (28, 28), 1, 3000),
    ("mlp", (28, 28), 128, 500),
    ("mnist_cnn", (28, 28, 1), 128, 40),
    ("seed_cnn", (256, 256, 3), 8, 15),
    ("resnet50", (224, 224, 3), 1, 20),
    ("resnet50", (224, 224, 3), 8, 5),
    ("mobilenet_v2", (224, 224, 3), 1, 40),
    ("mobilenet_v2", (224, 224, 3), 8, 10),
]
OPTIONAL = {"resnet50", "mobilenet_v2"}
rng = np.random.default_rng(0)
for th in THREADS:
    for name, shape, batch, reps in CASES:
        if name in OPTIONAL and not os.path.exists(os.path.join(DIR, name + ".onnx")):
            continue
        so = ort.SessionOptions()
        so.intra_op_num_threads = th
        so.inter_op_num_threads = 1
        s = ort.InferenceSession(os.path.join(DIR, name + ".onnx"), so, providers=["CPUExecutionProvider"])
        feed = {s.get_inputs()[0].name: rng.standard_normal((batch, *shape)).astype(np.float32)}
        for _ in range(max(3, reps // 20)):
            s.run(None, feed)
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            s.run(None, feed)
            ts.append(time.perf_counter() - t)
        ts.sort()
        md = ts[len(ts) // 2]
        print(f"ort {th}T {name}/batch{batch}: median {md*1e3:.4f} ms, range {ts[0]*1e3:.4f}–{ts[-1]*1e3:.4f} ms")
