"""Keras's test accuracy over several seeds for one model of ../shared/bench/keras_mnist.py
(same data, optimizer, epochs, batch 128), to compare with ours over seeds:

    ~/keras-venv/bin/python tools/keras_accuracy_seeds.py data/mnist linear_sgd 1 40
    for s in $(seq 1 40); do TRAIN_BENCH_SEED=$s cargo run --release -q -p model-core \\
        --features runtime --example train_bench linear; done

keras_mnist.py reports one run at seed 1; a different seed moves the linear model's
accuracy by up to ±0.008 on these 2,000 test digits.
"""
import os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras

from keras_mnist_common import BENCH_MODELS, load

d, name, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
xtr, ytr, xte, yte = load(d)
layers, optimizer, epochs = BENCH_MODELS[name]
if "cnn" in name:
    xtr, xte = xtr[..., None], xte[..., None]
accs = []
for seed in range(first, last + 1):
    keras.utils.set_random_seed(seed)
    m = keras.Sequential(layers())
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(xtr, ytr, batch_size=128, epochs=epochs, verbose=0)
    loss, acc = m.evaluate(xte, yte, verbose=0)
    accs.append(acc)
    print(f"{name} seed {seed}: test_acc={acc:.4f} test_loss={loss:.4f}", flush=True)
a = np.array(accs)
print(f"{name}: {len(a)} seeds, mean {a.mean():.4f}, median {np.median(a):.4f}, min {a.min():.4f}, max {a.max():.4f}")
