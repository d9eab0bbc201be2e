"""On a CUDA GPU (marked gpu; CTest's python_gpu_tests): torch CUDA tensors in place on the
current stream, CUDA graphs, and PyTorch's own fp8 GEMM as a second oracle written by others."""
import pytest

torch = pytest.importorskip("torch")

import qlinear  # noqa: E402
import qlinear.torch as qtorch  # noqa: E402
from oracle import relative_error  # noqa: E402

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available() or not qlinear.env()["gpus"],
                                 reason="needs a CUDA GPU and qlinear's CUDA build")]

FAMILIES = ["mixed_precision", "w4a8_int", "w4a8_fp8", "int8_scaled_mm", "fp8_scaled_mm", "fp8_block",
            "mxfp8_weight_only", "nvfp4_weight_only", "mxfp8", "mxfp4_weight_only", "fp8_weight_only",
            "mxfp4"]


def cuda_module(family, k=512, n=264, seed=0):
    torch.manual_seed(seed)
    linear = torch.nn.Linear(k, n).to(torch.bfloat16)
    return qtorch.QuantizedLinear.from_linear(linear, family, device="cuda"), linear


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("m", [1, 7, 300])
def test_cuda_layer_matches_the_cpu_reference(family, m):
    module, linear = cuda_module(family)
    x = torch.randn(m, 512, device="cuda").to(torch.bfloat16)
    y = module(x)
    assert y.is_cuda and y.shape == (m, 264)
    reference = qtorch.QuantizedLinear.from_linear(linear, family, kernel=f"reference_{family}")
    expected = reference(x.cpu())
    scale = (expected.double().abs().max() + 1e-30).item()
    assert (y.cpu().double() - expected.double()).abs().max().item() <= 2.0 ** -6 * scale


def test_runs_on_the_current_stream_in_place():
    module, _ = cuda_module("mixed_precision")
    x = torch.randn(16, 512, device="cuda").to(torch.bfloat16)
    expected = module(x)
    stream = torch.cuda.Stream()
    out = torch.empty(16, 264, device="cuda", dtype=torch.bfloat16)
    address = out.data_ptr()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        module.layer.forward(x, out=out)
    stream.synchronize()
    assert out.data_ptr() == address and torch.equal(out, expected)


def test_cuda_graph_replays_the_op():
    """Both overloads run on the capturing stream (a launch on another one would break the
    capture), the out= one into the caller's tensor."""
    module, _ = cuda_module("fp8_scaled_mm")
    x = torch.randn(4, 512, device="cuda").to(torch.bfloat16)
    out = torch.empty(4, 264, device="cuda", dtype=torch.bfloat16)
    address = out.data_ptr()
    module(x)  # warm up outside the capture (first-call setup)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y = module(x)
        module(x, out=out)
    x.copy_(torch.randn(4, 512, device="cuda").to(torch.bfloat16))
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(y, module(x)) and torch.equal(out, y) and out.data_ptr() == address


def test_the_op_refuses_tensors_on_another_device():
    module, _ = cuda_module("mixed_precision")
    x = torch.zeros(2, 512, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="x is on cpu; expected cuda"):
        module(x)
    with pytest.raises(ValueError, match="out is on cpu; expected cuda"):
        module(x.cuda(), out=torch.empty(2, 264, dtype=torch.bfloat16))


@pytest.mark.parametrize("scheme", ["per_tensor", "row_wise"])
def test_fp8_matches_torch_scaled_mm(scheme):
    """torch._scaled_mm on the same e4m3 codes and scales (x quantized by PyTorch's own cast)."""
    n, k, m = 272, 512, 32  # N off qlinear's 128-row tiles, a multiple of 16 as torch._scaled_mm needs
    fields = ({"act_scale": "per_tensor", "act_scale_static": True, "weight_scale": "per_tensor"}
              if scheme == "per_tensor" else {"act_scale": "per_token", "weight_scale": "per_channel"})
    config = qlinear.default_config("fp8_scaled_mm", n, k, **fields)
    weights = qlinear.random_layer(config, 5)
    layer = qlinear.Layer(config, weights, "cuda")
    x = torch.randn(m, k, device="cuda").to(torch.bfloat16)
    w_codes = torch.from_numpy(weights["weight"].numpy()).view(torch.float8_e4m3fn).cuda()
    w_scale = torch.from_numpy(weights["weight_scale"].numpy()).cuda()
    if scheme == "per_tensor":
        x_scale = torch.from_numpy(weights["input_scale"].numpy()).cuda().reshape(())
        w_scale = w_scale.reshape(())
    else:
        x_scale = (x.float().abs().amax(dim=1, keepdim=True) / 448.0).clamp(min=1e-30)
        w_scale = w_scale.reshape(1, n)
    x_codes = (x.float() / x_scale).clamp(-448.0, 448.0).to(torch.float8_e4m3fn)
    expected = torch._scaled_mm(x_codes, w_codes.t(), scale_a=x_scale, scale_b=w_scale,
                                out_dtype=torch.bfloat16)
    y = layer.forward(x)
    magnitude = (x_codes.float().abs() * x_scale) @ (w_codes.float().abs().t() * w_scale)
    error = ((y.float() - expected.float()).abs() / magnitude.clamp(min=1e-30)).max().item()
    assert error <= 2 * layer.tolerance + 2.0 ** -8
    assert relative_error(y.cpu(), config, weights, x.cpu()) <= layer.tolerance


def test_int4_matches_torch_weight_int4pack_mm():
    """PyTorch's tinygemm int4 kernel on the same codes and bf16 group scales: it computes
    (q - 8) · scale + zero with zero = 0, which is uint4b8's meaning."""
    n, k, m, group = 264, 1024, 16, 128
    config = qlinear.default_config("mixed_precision", n, k, group_size=group)
    weights = qlinear.random_layer(config, 9)
    layer = qlinear.Layer(config, weights, "cuda")
    x = torch.randn(m, k, device="cuda").to(torch.bfloat16)
    packed = torch.from_numpy(weights["weight"].numpy())  # [N, K/2], element 2j in the low nibble
    scales = torch.from_numpy(weights["weight_scale"].numpy().view("int16")).view(torch.bfloat16)
    if tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5):  # [N, K/2] uint8, 2j high
        torch_codes = ((packed << 4) | (packed >> 4)).cuda()
    else:  # [N, K] int32 codes
        torch_codes = torch.stack([packed & 0xF, packed >> 4], dim=-1).reshape(n, k).to(torch.int32).cuda()
    w_int4 = torch._convert_weight_to_int4pack(torch_codes, 8)
    scale_and_zero = torch.stack([scales.t(), torch.zeros_like(scales.t())], dim=-1).contiguous().cuda()
    expected = torch._weight_int4pack_mm(x, w_int4, group, scale_and_zero)
    y = layer.forward(x)
    w_hat = torch.from_numpy(qlinear.reference.dequantize_weights(config, weights)).cuda()
    magnitude = x.double().abs() @ w_hat.abs().t()
    error = ((y.double() - expected.double()).abs() / magnitude.clamp(min=1e-30)).max().item()
    assert error <= 2.0 ** -7, f"qlinear and _weight_int4pack_mm differ by {error:.3g} of the magnitude"
    assert relative_error(y.cpu(), config, weights, x.cpu()) <= layer.tolerance
