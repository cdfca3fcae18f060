#!/usr/bin/env python3
"""Checks every ONNX export in ONNX Runtime: `onnx.checker` (full check, with shape
inference) and a run of each file on the corpus's inputs, compared with Keras's outputs
and with this runtime's, within 1e-4 + 1e-3·|reference|.

It has `tests/onnx_export.rs` export every model of the numeric and graph corpora (and the
recurrent cells it unrolls, `model-core/tests/data/numeric`) into a temporary directory (`ONNX_EXPORT_DIR`), each `<model>.onnx` beside `<model>.io.safetensors`
(`input/<i>`, `keras/<i>`, `ours/<i>`), then checks each. Not part of CI (no Python
there). Run from the repository root (`pip install onnx onnxruntime safetensors numpy`):

    ~/keras-venv/bin/python tools/onnx_check_ort.py [DIR]

With DIR, the exports already there are checked and no test is run. The last line is
`onnx runtime: N/M exports pass (checker, run, keras, ours)`; the exit code is 0 only when
all pass.
"""
import glob, os, subprocess, sys, tempfile

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file


def close(got, want):
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    if got.shape != want.shape:
        return f"shape {got.shape} vs {want.shape}"
    off = np.abs(got - want) > 1e-4 + 1e-3 * np.abs(want)
    off |= np.isnan(got) != np.isnan(want)
    if off.any():
        i = int(np.argmax(off.reshape(-1)))
        return f"{int(off.sum())}/{off.size} values off; first at {i}: {got.reshape(-1)[i]} vs {want.reshape(-1)[i]}"
    return None


def main():
    if len(sys.argv) > 1:
        out = sys.argv[1]
    else:
        out = tempfile.mkdtemp(prefix="onnx-check-")
        subprocess.run(
            ["cargo", "test", "-q", "--test", "onnx_export"],
            check=True, env=dict(os.environ, ONNX_EXPORT_DIR=out),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    files = sorted(glob.glob(os.path.join(out, "*.onnx")))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    passed, failures = 0, []
    for path in files:
        name = os.path.basename(path)[: -len(".onnx")]
        try:
            onnx.checker.check_model(onnx.load(path), full_check=True)
        except Exception as e:  # the checker's own exceptions vary by version
            failures.append(f"{name}: checker: {e}".splitlines()[0])
            continue
        io = load_file(os.path.join(out, name + ".io.safetensors"))
        try:
            sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            feeds = {
                inp.name: io[f"input/{i}"].astype(np.float32)
                for i, inp in enumerate(sess.get_inputs())
            }
            outs = sess.run(None, feeds)
        except Exception as e:
            failures.append(f"{name}: onnxruntime: {e}".splitlines()[0])
            continue
        wrong = []
        for i, got in enumerate(outs):
            for ref in ("keras", "ours"):
                why = close(got, io[f"{ref}/{i}"])
                if why:
                    wrong.append(f"output {i} vs {ref}: {why}")
        if wrong:
            failures.append(f"{name}: " + "; ".join(wrong))
        else:
            passed += 1
    for f in failures:
        print(f)
    print(f"onnx runtime: {passed}/{len(files)} exports pass (checker, run, keras, ours)")
    sys.exit(0 if files and passed == len(files) else 1)


if __name__ == "__main__":
    main()
