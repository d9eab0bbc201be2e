"""What calling a kernel from Python costs: the median µs of one forward at M = 1 through
qlinear.Layer (numpy arrays, torch tensors, out= given) and through the custom op
torch.ops.qlinear.linear (output allocated by torch), beside `qlinear bench`'s median for the same
kernel called from C++ on the same layer shape. The layer is small, so that the kernel's own time
is short and the difference is the binding's.

    PYTHONPATH=build/python python3 bench/python_overhead.py --bin build/bin/qlinear [--device cuda]
"""
import argparse
import json
import statistics
import subprocess
import tempfile
import time

import numpy as np

import qlinear


def median_us(call, reps, synchronize=lambda: None):
    for _ in range(reps // 10):
        call()
    times = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        call()
        synchronize()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e3


def cpp_median_us(binary, args, kernel, reps):
    with tempfile.NamedTemporaryFile(suffix=".json") as results:
        subprocess.run([binary, "bench", "--family", args.family, "--n", str(args.n), "--k", str(args.k),
                        "--m", "1", "--rotate-mib", "0", "--reps", str(reps), "--device", args.device,
                        "--kernel", kernel, "--json", results.name], check=True, capture_output=True)
        records = json.load(open(results.name))["records"]
    return next(r["us"] for r in records if r["kernel"] == kernel and not r.get("peer"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="the qlinear tool of the same build")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--family", default="mixed_precision")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()

    import torch
    import qlinear.torch as qtorch

    config = qlinear.default_config(args.family, args.n, args.k)
    layer = qlinear.Layer(config, qlinear.random_layer(config, 1), args.device)
    module = qtorch.QuantizedLinear(layer)
    x = torch.from_numpy(qlinear.random_activations("bf16", [1, args.k], 2).numpy().view(np.int16))
    x = x.view(torch.bfloat16).to(args.device)
    out = torch.empty(1, args.n, dtype=torch.bfloat16, device=args.device)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)

    rows = [("C++ (qlinear bench)", cpp_median_us(args.bin, args, layer.kernel, args.reps))]
    if not x.is_cuda:
        x_np = x.view(torch.int16).numpy().view(np.uint16)
        out_np = np.empty((1, args.n), np.uint16)
        rows.append(("Layer.forward, numpy, out=", median_us(lambda: layer.forward(x_np, out=out_np), args.reps)))
    rows.append(("Layer.forward, torch, out=", median_us(lambda: layer.forward(x, out=out), args.reps, sync)))
    rows.append(("torch.ops.qlinear.linear", median_us(lambda: module(x), args.reps, sync)))
    with torch.inference_mode():
        rows.append(("torch.ops.qlinear.linear, inference_mode", median_us(lambda: module(x), args.reps, sync)))
    print(f"{config.describe()}, M = 1, kernel {layer.kernel} on {args.device}, torch {torch.__version__}")
    for label, us in rows:
        print(f"  {label:42s} {us:8.2f} us  ({us - rows[0][1]:+.2f})")


if __name__ == "__main__":
    main()
