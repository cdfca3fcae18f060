#!/usr/bin/env bash
# Runs the Keras and ONNX Runtime peers and this project's benchmarks one after the other,
# in one session, for the side-by-side figures in BENCHMARKS.md. Needs the Keras venv of
# ../shared/bench, with ONNX Runtime beside Keras:
#   python3 -m venv ~/keras-venv && ~/keras-venv/bin/pip install tensorflow-cpu==2.21.0 keras==3.15.1 onnx onnxruntime
# Usage: tools/bench_vs_keras.sh [infer|train|all]   (output: target/bench-vs-keras/*.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
out=target/bench-vs-keras
mkdir -p "$out"
py=${KERAS_PYTHON:-$HOME/keras-venv/bin/python}
if [[ $what == infer || $what == all ]]; then
    "$py" ../shared/bench/keras_infer.py 2 | tee "$out/keras_infer.txt"
    # ONNX Runtime: the 4-conv CNN and the MLP at batch 1, on one thread and on two (the
    # same models as the bench's `cnn4/batch1/threads{1,2}` and `mlp/batch1`).
    for threads in 1 2; do
        "$py" ../shared/bench/ort_peer.py "$threads"
    done | tee "$out/ort_infer.txt"
    cargo bench --bench inference -- --noplot 2>&1 | grep -E "^inference/|time:|thrpt:" | tee "$out/ours_infer.txt"
    # Criterion prints the mean; the median is in its estimates.
    for e in target/criterion/inference/*/new/estimates.json; do
        python3 -c 'import json, sys; e = json.load(open(sys.argv[1])); print(sys.argv[1].split("/")[3], "median %.4f ms" % (e["median"]["point_estimate"] / 1e6))' "$e"
    done | tee -a "$out/ours_infer.txt"
fi
if [[ $what == train || $what == all ]]; then
    "$py" ../shared/bench/keras_mnist.py data/mnist | tee "$out/keras_mnist.txt"
    "$py" tools/keras_epoch_times.py data/mnist | tee "$out/keras_epoch_times.txt"
    cargo bench --bench training -- --noplot 2>&1 | grep -E "^training/|time:|thrpt:" | tee "$out/ours_training.txt"
    # Criterion prints the mean; the median is in its estimates.
    for e in target/criterion/training/*/new/estimates.json; do
        python3 -c 'import json, sys; e = json.load(open(sys.argv[1])); print(sys.argv[1].split("/")[3], "median %.4f s" % (e["median"]["point_estimate"] / 1e9))' "$e"
    done | tee -a "$out/ours_training.txt"
    cargo run --release -q -p model-core --features runtime --example train_bench linear mlp cnn 2>/dev/null \
        | grep -E "s/epoch" | tee "$out/ours_mnist.txt"
fi
