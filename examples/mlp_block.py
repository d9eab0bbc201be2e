"""A transformer MLP block (Llama's: down(silu(gate(x)) · up(x))) whose three projections are
quantized with qlinear.torch.QuantizedLinear.from_linear, run through qlinear and through
PyTorch (fp32 matmuls on the exact dequantized weights); prints the difference and the time of
each.

    PYTHONPATH=build/python python3 examples/mlp_block.py [--family fp8_scaled_mm] [--tokens 1]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import qlinear
import qlinear.torch as qtorch
from qlinear.quantize import quantize_weights


class MLP(torch.nn.Module):
    def __init__(self, gate_proj, up_proj, down_proj):
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = gate_proj, up_proj, down_proj

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DequantizedLinear(torch.nn.Module):
    """PyTorch's matmul on the weights a QuantizedLinear holds, decoded exactly to fp32."""

    def __init__(self, linear, quantized):
        super().__init__()
        config = quantized.layer.config
        tensors = quantize_weights(linear.weight.detach().double().numpy(), config)
        weight = qlinear.reference.dequantize_weights(config, tensors)
        self.weight = torch.nn.Parameter(torch.from_numpy(weight).float(), requires_grad=False)

    def forward(self, x):
        return F.linear(x.float(), self.weight).to(x.dtype)


def median_ms(block, x, reps):
    block(x)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        block(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", default="mixed_precision", choices=qlinear.families())
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--intermediate", type=int, default=5632)
    parser.add_argument("--tokens", type=int, default=1)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()

    torch.manual_seed(0)
    shapes = [(args.hidden, args.intermediate)] * 2 + [(args.intermediate, args.hidden)]
    linears = [torch.nn.Linear(k, n, bias=False).to(torch.bfloat16) for k, n in shapes]
    quantized = [qtorch.QuantizedLinear.from_linear(linear, args.family) for linear in linears]
    qlinear_mlp = MLP(*quantized)
    torch_mlp = MLP(*(DequantizedLinear(l, q) for l, q in zip(linears, quantized)))

    x = torch.randn(args.tokens, args.hidden).to(torch.bfloat16)
    with torch.inference_mode():
        y, y_torch = qlinear_mlp(x).float(), torch_mlp(x).float()
        qlinear_ms = median_ms(qlinear_mlp, x, args.reps)
        torch_ms = median_ms(torch_mlp, x, args.reps)
    difference = ((y - y_torch).norm() / y_torch.norm()).item()
    print(f"MLP block {args.hidden} -> {args.intermediate} -> {args.hidden}, {args.tokens} token(s), "
          f"{args.family}: kernels {', '.join(sorted({q.layer.kernel for q in quantized}))}")
    print(f"  qlinear                              {qlinear_ms:9.3f} ms")
    print(f"  PyTorch, fp32 on dequantized weights {torch_ms:9.3f} ms")
    print(f"  relative difference |y - y_torch| / |y_torch| = {difference:.2e} "
          "(bf16 roundings between the projections; for W8A8 families also the activation quantization)")


if __name__ == "__main__":
    main()
