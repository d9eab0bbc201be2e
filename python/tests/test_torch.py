"""qlinear.torch: the custom op (with its fake implementation), QuantizedLinear from a float layer
and from a checkpoint, and torch tensors through qlinear.Layer in place. Skipped without torch.
CTest runs this file twice where the op's C++ kernels were built: with them, and with the Python
kernels (QLINEAR_TORCH_OP_KERNELS=python)."""
import importlib.util
import os
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import qlinear  # noqa: E402
import qlinear.torch as qtorch  # noqa: E402
from qlinear._frameworks import current_stream_getter  # noqa: E402
from qlinear.quantize import quantize_weights  # noqa: E402
from oracle import relative_error  # noqa: E402
from test_formats import PREFIX, check, make_checkpoint  # noqa: E402

# family, fields, and the largest relative (Frobenius) error quantization may cause on y
FROM_LINEAR = [
    ("mixed_precision", {}, 0.12),
    ("mixed_precision", {"weight_type": "uint8b128", "weight_scale": "per_channel"}, 0.01),
    ("w4a8_int", {}, 0.12),
    ("w4a8_fp8", {}, 0.12),
    ("int8_scaled_mm", {}, 0.02),
    ("fp8_scaled_mm", {}, 0.06),
    ("fp8_block", {}, 0.06),
    ("mxfp8_weight_only", {}, 0.06),
    ("nvfp4_weight_only", {}, 0.15),
    ("mxfp4_weight_only", {}, 0.2),
    ("fp8_weight_only", {}, 0.06),
    ("mxfp8", {}, 0.08),
    ("mxfp4", {}, 0.3),  # e2m1 activations too: about twice mxfp4_weight_only's error
]


def float_linear(seed, k, n, dtype=torch.bfloat16):
    torch.manual_seed(seed)
    return torch.nn.Linear(k, n, bias=True).to(dtype)


@pytest.mark.parametrize("family, fields, bound", FROM_LINEAR)
def test_from_linear_matches_the_oracle_and_the_float_layer(family, fields, bound, seed):
    linear = float_linear(seed, 384, 72)
    module = qtorch.QuantizedLinear.from_linear(linear, family, **fields)
    x = torch.randn(4, 384, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)
    y = module(x)
    assert y.shape == (4, 72) and y.dtype == torch.bfloat16
    # The kernel against the oracle, on the very tensors the quantizer made.
    config = module.layer.config
    tensors = quantize_weights(linear.weight.detach().double().numpy(), config)
    tensors["bias"] = linear.bias.detach().float().numpy()
    assert relative_error(y, config, tensors, x) <= module.layer.tolerance
    # And the quantized layer still computes nearly what the float one did.
    reference = linear(x).double()
    assert torch.linalg.norm(y.double() - reference) <= bound * torch.linalg.norm(reference)


def test_the_op_has_a_fake_implementation():
    module = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    x = torch.empty(2, 7, 128, dtype=torch.bfloat16, device="meta")
    y = torch.ops.qlinear.linear(x, module.layer_id)
    assert (y.shape, y.dtype, y.device.type) == ((2, 7, 40), torch.bfloat16, "meta")


def test_the_op_reads_views_and_the_layer_writes_out_in_place(seed):
    module = qtorch.QuantizedLinear.from_linear(float_linear(seed, 128, 40, torch.float16))
    x = torch.randn(6, 128).to(torch.float16)
    rows = x[2:5]  # a view at an offset: read where it lies
    assert torch.equal(module(rows), module(x)[2:5])
    out = torch.full((3, 40), float("nan"), dtype=torch.float16)
    address = out.data_ptr()
    assert module.layer.forward(rows, out=out) is out and out.data_ptr() == address
    assert torch.equal(out, module(rows))
    assert isinstance(module.layer.forward(rows), torch.Tensor)


def test_the_out_overload_writes_the_callers_tensor(seed):
    module = qtorch.QuantizedLinear.from_linear(float_linear(seed, 128, 40))
    x = torch.randn(2, 3, 128).to(torch.bfloat16)
    out = torch.full((2, 3, 40), float("nan"), dtype=torch.bfloat16)
    address = out.data_ptr()
    assert module(x, out=out) is out and out.data_ptr() == address
    assert torch.equal(out, module(x))
    meta = torch.empty(2, 3, 40, dtype=torch.bfloat16, device="meta")
    x_meta = torch.empty(2, 3, 128, dtype=torch.bfloat16, device="meta")
    assert torch.ops.qlinear.linear.out(x_meta, module.layer_id, out=meta) is meta
    with pytest.raises(ValueError, match="out"):
        module(x, out=torch.empty(2, 3, 41, dtype=torch.bfloat16))
    with pytest.raises(ValueError, match="out"):
        module(x, out=torch.empty(2, 3, 40, dtype=torch.float16))


def test_torch_tensors_carry_the_types_torch_lacks_as_bits(seed):
    """fp8 weights as torch.uint8 (PyTorch < 2.1 has no float8): the carriers numpy uses too."""
    config = qlinear.default_config("fp8_scaled_mm", 40, 64)
    weights = {name: torch.from_numpy(t.numpy()) for name, t in qlinear.random_layer(config, seed).items()}
    assert weights["weight"].dtype == torch.uint8
    layer = qlinear.Layer(config, weights)
    x = torch.randn(3, 64).to(torch.bfloat16)
    assert relative_error(layer.forward(x), config, weights, x) <= layer.tolerance


def test_a_wrong_dtype_gets_qlinears_message():
    module = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    with pytest.raises(ValueError, match="x has dtype fp32; the layer takes bf16"):
        module(torch.zeros(1, 128))


def test_the_op_reads_x_through_its_attributes_in_place(seed):
    """The op hands x to the kernel by its data pointer, shape and strides: a view at an offset
    with batch dimensions is read where it lies."""
    module = qtorch.QuantizedLinear.from_linear(float_linear(seed, 128, 40))
    x = torch.randn(3, 4, 128, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)
    batch = x[1:]
    assert batch.storage_offset() > 0
    y = torch.ops.qlinear.linear(batch, module.layer_id)
    assert y.shape == (2, 4, 40)
    assert torch.equal(y.reshape(8, 40), module(batch.reshape(8, 128)))
    assert torch.equal(y[1], module(x[2]))


@pytest.mark.parametrize("x, message", [
    (torch.zeros(2, 128, dtype=torch.float16), "x has dtype fp16; the layer takes bf16"),
    (torch.zeros(2, 128, dtype=torch.float64),
     "x has dtype float64, which qlinear has no type for; expected bf16"),
    (torch.zeros(2, 64, dtype=torch.bfloat16), r"x has shape \[2, 64\]; expected \[\.\.\., 128\]"),
    (torch.zeros(128, 2, dtype=torch.bfloat16).t(), "must be contiguous"),
])
def test_the_op_refuses_tensors_the_layer_cannot_take(x, message):
    module = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    with pytest.raises(ValueError, match=message):
        torch.ops.qlinear.linear(x, module.layer_id)


def test_the_module_hands_the_op_a_contiguous_x(seed):
    module = qtorch.QuantizedLinear.from_linear(float_linear(seed, 128, 40))
    x = torch.randn(128, 3).to(torch.bfloat16).t()
    assert torch.equal(module(x), module(x.contiguous()))


def test_the_op_traces_through_its_fake_implementation(seed):
    """make_fx with fake tensors (as torch.compile traces) records the op from its fake
    implementation; the graph then runs the kernel."""
    make_fx = pytest.importorskip("torch.fx.experimental.proxy_tensor").make_fx
    module = qtorch.QuantizedLinear.from_linear(float_linear(seed, 128, 40))
    x = torch.randn(3, 128).to(torch.bfloat16)
    graph = make_fx(module, tracing_mode="fake")(x)
    assert "qlinear.linear" in graph.code
    assert torch.equal(graph(x), module(x))


def test_the_stream_comes_from_the_raw_getter_where_torch_has_one():
    """The op asks torch._C._cuda_getCurrentRawStream (newer PyTorch) for the current stream, else
    torch.cuda.current_stream(index).cuda_stream."""
    def stream(index):
        return SimpleNamespace(cuda_stream=1000 + index)
    older = SimpleNamespace(_C=SimpleNamespace(), cuda=SimpleNamespace(current_stream=stream))
    assert current_stream_getter(older)(3) == 1003
    newer = SimpleNamespace(_C=SimpleNamespace(_cuda_getCurrentRawStream=lambda index: 2000 + index))
    assert current_stream_getter(newer)(3) == 2003


def test_from_linear_refuses_configs_it_cannot_make():
    with pytest.raises(ValueError, match="calibrated static input scale"):
        qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40), "nvfp4")
    with pytest.raises(ValueError, match="symmetric"):
        qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40), weight_type="uint4", zero_points=True)


def test_from_checkpoint_runs_the_layer_as_its_quantizer_meant(tmp_path, seed, rng):
    model = str(tmp_path / "model")
    w, bias, torch_dtype, make_x = make_checkpoint(model, "gptq_v1_4bit_act_order", 200, 256, seed)
    module = qtorch.QuantizedLinear.from_checkpoint(model, PREFIX)
    assert (module.in_features, module.out_features) == (256, 200)
    x = torch.from_numpy(make_x(rng, (5, 256))).to(getattr(torch, torch_dtype))
    check(module(x).double().numpy(), x.double().numpy(), w, bias, torch_dtype)


def test_a_layer_leaves_the_op_with_its_module():
    """A freed layer's id, still held by a caller, is refused by every implementation of the op,
    and never names another layer."""
    module = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    layer_id = module.layer_id
    del module
    other = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    assert other.layer_id != layer_id
    x = torch.zeros(2, 128, dtype=torch.bfloat16)
    out = torch.empty(2, 40, dtype=torch.bfloat16)
    dead = f"layer {layer_id} is not a live qlinear layer"
    with pytest.raises(ValueError, match=dead):
        torch.ops.qlinear.linear(x, layer_id)
    with pytest.raises(ValueError, match=dead):
        torch.ops.qlinear.linear.out(x, layer_id, out=out)
    with pytest.raises(ValueError, match=dead):
        torch.ops.qlinear.linear(x.to("meta"), layer_id)


def test_a_layer_freed_while_other_threads_call_it(seed):
    """Threads calling the op (whose C++ kernels run without the GIL) while the module is freed:
    each call gives the layer's output or the freed id's ValueError; none crashes."""
    module = qtorch.QuantizedLinear.from_linear(float_linear(seed, 128, 40))
    layer_id = module.layer_id
    x = torch.randn(4, 128).to(torch.bfloat16)
    expected = module(x)
    outcomes = []

    def call_until_freed():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                outcomes.append(torch.equal(torch.ops.qlinear.linear(x, layer_id), expected))
            except ValueError as error:
                outcomes.append("freed" if "is not a live qlinear layer" in str(error) else str(error))
                return

    threads = [threading.Thread(target=call_until_freed) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    del module
    for thread in threads:
        thread.join()
    assert outcomes.count("freed") == len(threads) and set(outcomes) == {True, "freed"}


def test_op_kernels_says_which_kernels_serve():
    built = importlib.util.find_spec("qlinear._torch_op") is not None
    chosen = os.environ.get("QLINEAR_TORCH_OP_KERNELS", "").lower() != "python"
    assert qtorch.op_kernels == ("C++" if built and chosen else "Python")


@pytest.mark.parametrize("family, shape", [("mixed_precision", (5, 256)), ("fp8_block", (2, 3, 256)),
                                           ("int8_scaled_mm", (1, 256))])
def test_the_op_gives_the_layers_bits(family, shape, seed):
    """The op (either overload) runs the very call Layer.forward makes: equal bits."""
    module = qtorch.QuantizedLinear.from_linear(float_linear(seed, 256, 48), family)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)
    expected = module.layer.forward(x)
    assert torch.equal(torch.ops.qlinear.linear(x, module.layer_id), expected)
    out = torch.full(expected.shape, float("nan"), dtype=torch.bfloat16)
    assert torch.ops.qlinear.linear.out(x, module.layer_id, out=out) is out
    assert torch.equal(out, expected)


@pytest.mark.parametrize("out, message", [
    (torch.empty(40, 2, dtype=torch.bfloat16).t(), "must be contiguous"),
    (torch.empty(2, 40, dtype=torch.float16), "out has dtype fp16; the layer writes bf16"),
    (torch.empty(2, 40, dtype=torch.float64), "out has dtype float64, which qlinear has no type for"),
    (torch.empty(3, 40, dtype=torch.bfloat16), r"out has shape \[3, 40\]"),
])
def test_the_out_overload_refuses_what_layer_forward_refuses(out, message):
    module = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    with pytest.raises(ValueError, match=message):
        torch.ops.qlinear.linear.out(torch.zeros(2, 128, dtype=torch.bfloat16), module.layer_id, out=out)


@pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch.compile needs PyTorch 2")
def test_torch_compile_runs_the_op():
    module = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    x = torch.randn(3, 128).to(torch.bfloat16)
    compiled = torch.compile(lambda t: module(t) * 2, fullgraph=True)
    assert torch.equal(compiled(x), module(x) * 2)


def test_an_empty_batch_gives_an_empty_output():
    module = qtorch.QuantizedLinear.from_linear(float_linear(0, 128, 40))
    y = module(torch.zeros(0, 128, dtype=torch.bfloat16))  # torch gives such tensors no storage
    assert y.shape == (0, 40)


FP8_ACTIVATIONS = {  # config fields, and the scale PyTorch computes for x [M, K]
    "static_per_tensor": (("fp8_scaled_mm", {"act_scale": "per_tensor", "act_scale_static": True}),
                          lambda x, weights: torch.from_numpy(weights["input_scale"].numpy())),
    "dynamic_per_token": (("fp8_scaled_mm", {}),
                          lambda x, weights: x.abs().amax(dim=1, keepdim=True) / 448.0),
    "dynamic_per_group_128": (("fp8_block", {}),
                              lambda x, weights: (x.reshape(x.shape[0], -1, 128).abs().amax(dim=2, keepdim=True)
                                                  / 448.0).repeat_interleave(128, dim=2).reshape(x.shape)),
}


# Marked gpu, though it needs none, so that it runs with the GPU tests on the device, whose PyTorch
# has float8 (the GPU quantizer's codes equal the reference's: tests/gpu/act_quant_test.cpp).
@pytest.mark.gpu
@pytest.mark.skipif(not hasattr(torch, "float8_e4m3fn"), reason="PyTorch < 2.1 has no float8 types")
@pytest.mark.parametrize("scheme", sorted(FP8_ACTIVATIONS))
def test_fp8_activation_codes_equal_pytorchs_casts(scheme, seed):
    """The activation quantizer every kernel reproduces gives the codes of PyTorch's own e4m3 cast
    (round to nearest even) after its clamp: equal, not close."""
    (family, fields), torch_scale = FP8_ACTIVATIONS[scheme]
    config = qlinear.default_config(family, 64, 384, **fields)
    weights = qlinear.random_layer(config, seed)
    x = torch.randn(7, 384, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)
    x[0, 5] = 900.0  # an outlier: saturation under a static scale
    q = qlinear.reference.quantize_activations(config, weights, x)
    scale = torch_scale(x.float(), weights)
    expected = (x.float() / scale).clamp(-448.0, 448.0).to(torch.float8_e4m3fn).view(torch.uint8)
    assert torch.equal(torch.from_numpy(q["codes"].numpy()), expected)


def test_tensors_that_require_grad_are_read_as_they_are(seed):
    """As in a model run outside no_grad: x and weights that require grad are read (the forward is
    not differentiable, so its output does not require grad)."""
    config = qlinear.default_config("fp8_scaled_mm", 40, 64, bias=True)
    weights = {name: torch.from_numpy(t.numpy()) for name, t in qlinear.random_layer(config, seed).items()}
    weights["bias"] = torch.nn.Parameter(torch.randn(40))
    layer = qlinear.Layer(config, weights)
    x = torch.randn(3, 64).to(torch.bfloat16).requires_grad_()
    y = layer.forward(x)
    assert not y.requires_grad
    assert torch.equal(y, qtorch.QuantizedLinear(layer)(x))
