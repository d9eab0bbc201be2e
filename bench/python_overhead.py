"""What calling a kernel from Python costs: µs a call of one forward at M = 1 through
qlinear.Layer (numpy arrays, torch tensors, out= given), through the custom op
torch.ops.qlinear.linear (output from torch's allocator, or out=) called bare and through
QuantizedLinear, beside the same call made from C++ in the
same process on the same tensors (Layer.call_us). Each is the wall time of `reps` calls in a row
until the last output is on the host, the best of 5 runs; on a GPU this is the host's cost a call
wherever it exceeds the kernel's. The layer is small, so the kernel's own time is short. The op's
kernels are C++ or Python (qlinear.torch.op_kernels, printed); bench/python_overhead_ab.sh times
packages in turn.

    PYTHONPATH=build/python python3 bench/python_overhead.py [--device cuda] [--n 256 --k 256]
"""
import argparse
import time

import numpy as np
import torch

import qlinear
import qlinear.torch as qtorch


def call_us(call, reps, synchronize):
    best = None
    for run in range(6):  # run 0 warms up
        start = time.perf_counter()
        for _ in range(reps):
            call()
        synchronize()
        took = (time.perf_counter() - start) * 1e6
        if run and (best is None or took < best):
            best = took
    return best / reps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--family", default="mixed_precision")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--reps", type=int, default=2000)
    # M = 0: every path checks its tensors and returns before the kernel, so a row is the
    # binding's cost alone, free of the kernel's own spread on a busy machine (no C++ row then).
    parser.add_argument("--m", type=int, default=1, choices=(0, 1))
    args = parser.parse_args()

    config = qlinear.default_config(args.family, args.n, args.k)
    layer = qlinear.Layer(config, qlinear.random_layer(config, 1), args.device)
    module = qtorch.QuantizedLinear(layer)
    x = torch.randn(args.m, args.k).to(torch.bfloat16).to(args.device)
    out = torch.empty(args.m, args.n, dtype=torch.bfloat16, device=args.device)
    synchronize = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    stream = torch.cuda.current_stream().cuda_stream if x.is_cuda else 0

    rows = [("C++ (QuantizedLinear::forward_into)",
             layer._impl.call_us(x, out, stream, args.reps) if args.m else 0.0)]
    if not x.is_cuda:
        x_np = x.view(torch.int16).numpy().view(np.uint16)
        out_np = np.empty((args.m, args.n), np.uint16)
        rows.append(("Layer.forward, numpy, out=", call_us(lambda: layer.forward(x_np, out=out_np), args.reps, synchronize)))
    rows.append(("Layer.forward, torch, out=", call_us(lambda: layer.forward(x, out=out), args.reps, synchronize)))
    # The op as torch.compile's graphs and other ops' callers reach it, and through the module,
    # which adds nn.Module's call (its cost, beside nn.Linear's own, is the last row).
    op, op_out = torch.ops.qlinear.linear.default, torch.ops.qlinear.linear.out
    rows.append(("torch.ops.qlinear.linear", call_us(lambda: op(x, module.layer_id), args.reps, synchronize)))
    rows.append(("torch.ops.qlinear.linear.out", call_us(lambda: op_out(x, module.layer_id, out=out), args.reps, synchronize)))
    rows.append(("QuantizedLinear (torch.ops.qlinear.linear)", call_us(lambda: module(x), args.reps, synchronize)))
    rows.append(("QuantizedLinear, out= (torch.ops.qlinear.linear.out)", call_us(lambda: module(x, out=out), args.reps, synchronize)))
    with torch.inference_mode():
        rows.append(("the same under torch.inference_mode()", call_us(lambda: module(x), args.reps, synchronize)))
    # nn.Module's own cost a call, on torch's bf16 linear of the same shape (not a qlinear row).
    linear = torch.nn.Linear(args.k, args.n, bias=False, dtype=torch.bfloat16, device=args.device)
    with torch.no_grad():
        module_cost = (call_us(lambda: linear(x), args.reps, synchronize) -
                       call_us(lambda: torch.nn.functional.linear(x, linear.weight), args.reps, synchronize))
    # Which kernels the op has (a package older than the op's C++ kernels has Python ones only).
    op_kernels = getattr(qtorch, "op_kernels", "Python")
    print(f"{config.describe()}, M = {args.m}, kernel {layer.kernel} on {args.device}, torch {torch.__version__}, "
          f"op kernels {op_kernels}")
    for label, us in rows:
        print(f"  {label:52s} {us:8.2f} us  ({us - rows[0][1]:+.2f})")
    print(f"  {'nn.Linear(x) less F.linear(x): nn.Module.__call__':52s} {module_cost:+8.2f} us")


if __name__ == "__main__":
    main()
