"""qlinear.Layer on numpy arrays: every family against the float64 oracle on fresh random layers
of off-grid shapes, outputs in place, and the errors a caller's mistakes get."""
import numpy as np
import pytest

import qlinear
from oracle import relative_error

# (family, N, K, fields): N never a multiple of a tile, K a multiple of the format's group only.
CONFIGS = [
    ("mixed_precision", 75, 256, {}),
    ("mixed_precision", 75, 256, {"weight_type": "uint4", "zero_points": True, "group_size": 64}),
    ("mixed_precision", 33, 192, {"weight_type": "uint8b128", "weight_scale": "per_channel"}),
    ("mixed_precision", 40, 256, {"act_order": True, "group_size": 32}),
    ("nvfp4_weight_only", 24, 96, {}),
    ("mxfp8_weight_only", 24, 96, {}),
    ("mxfp4_weight_only", 24, 96, {}),
    ("fp8_weight_only", 37, 80, {}),
    ("fp8_weight_only", 37, 80, {"weight_scale": "per_tensor"}),
    ("w4a8_int", 40, 256, {}),
    ("w4a8_fp8", 40, 256, {}),
    ("w4a8_fp8", 33, 192, {"weight_scale": "per_channel"}),
    ("int8_scaled_mm", 37, 80, {}),
    ("int8_scaled_mm", 37, 80, {"act_scale": "per_tensor", "act_scale_static": True, "act_zero_points": True}),
    ("fp8_scaled_mm", 37, 80, {}),
    ("fp8_scaled_mm", 37, 80, {"act_scale": "per_tensor", "act_scale_static": True, "weight_scale": "per_tensor"}),
    ("fp8_block", 200, 320, {}),
    ("nvfp4", 24, 96, {}),
    ("mxfp8", 24, 96, {}),
    ("mxfp4", 24, 96, {}),
]
# numpy has fp16 and fp32; bf16 travels as its bits (uint16).
ACTIVATIONS = [("fp16", "fp32", np.float32), ("bf16", "bf16", np.uint16)]


def numpy_layer(config, seed, rng):
    """The random layer's tensors as numpy arrays (carriers for the types numpy lacks), with a
    bias when the config has one."""
    weights = {name: t.numpy() for name, t in qlinear.random_layer(config, seed).items()}
    if config.bias:
        weights["bias"] = rng.normal(size=config.n).astype(np.float32)
    return weights


@pytest.mark.parametrize("act_type, out_type, out_dtype", ACTIVATIONS)
@pytest.mark.parametrize("family, n, k, fields", CONFIGS)
def test_every_family_matches_the_oracle(family, n, k, fields, act_type, out_type, out_dtype, seed, rng):
    config = qlinear.default_config(family, n, k, act_type=act_type, out_type=out_type, bias=True, **fields)
    weights = numpy_layer(config, seed, rng)
    x = qlinear.random_activations(act_type, [2, 3, k], seed + 1).numpy()
    for kernel in (None, f"reference_{family}"):
        layer = qlinear.Layer(config, weights, "cpu", kernel=kernel)
        y = layer.forward(x)
        assert y.shape == (2, 3, n) and y.dtype == out_dtype
        error = relative_error(y, config, weights, x)
        assert error <= layer.tolerance, f"{layer.kernel}: error {error:.3g} > {layer.tolerance:.3g}"


def test_chosen_kernel_is_this_machines_first_that_fits():
    config = qlinear.default_config("mixed_precision", 256, 256)
    layer = qlinear.Layer(config, qlinear.random_layer(config, 1))
    assert layer.kernel == layer.choice.kernel == qlinear.select(config, "cpu").kernel
    assert layer.device == "cpu" and "cpu" in layer.choice.platform
    assert layer.kernel in repr(layer)


def test_reference_weights_decode_as_the_format_says(seed):
    """The oracle's ŵ for GPTQ-style uint4b8 codes, decoded here by hand: (code - 8) · scale."""
    config = qlinear.default_config("mixed_precision", 24, 256, group_size=64)
    weights = {name: t.numpy() for name, t in qlinear.random_layer(config, seed).items()}
    packed = weights["weight"]  # [N, K / 2]: two codes a byte, low nibble first
    codes = np.stack([packed & 0xF, packed >> 4], axis=-1).reshape(24, 256).astype(np.float64)
    scales = qlinear.decode(weights["weight_scale"], "bf16")
    by_hand = (codes - 8) * np.repeat(scales, 64, axis=1)
    assert np.array_equal(qlinear.reference.dequantize_weights(config, weights), by_hand)


@pytest.fixture
def fp16_layer(seed):
    config = qlinear.default_config("mixed_precision", 48, 128, act_type="fp16", out_type="fp32")
    return qlinear.Layer(config, qlinear.random_layer(config, seed)), config


def test_out_is_written_in_place_and_x_read_in_place(fp16_layer, seed):
    layer, config = fp16_layer
    x = qlinear.random_activations("fp16", [5, 128], seed).numpy()
    out = np.full((5, 48), np.nan, dtype=np.float32)
    address = out.ctypes.data
    assert layer.forward(x, out=out) is out and out.ctypes.data == address
    assert np.isfinite(out).all()
    x.flags.writeable = False  # numpy cannot export read-only arrays by DLPack; read in place
    assert np.array_equal(layer(x), out)


def test_qlinear_tensors_in_and_out(fp16_layer, seed):
    layer, _ = fp16_layer
    x = qlinear.random_activations("fp16", [1, 128], seed)
    y = layer.forward(x)
    assert isinstance(y, qlinear.Tensor) and y.shape == (1, 48) and y.dtype == "fp32"
    assert np.array_equal(y.numpy(), layer.forward(x.numpy()))


def test_forward_errors_are_qlinears_messages(fp16_layer):
    layer, _ = fp16_layer
    x = np.zeros((2, 128), np.float16)
    with pytest.raises(ValueError, match="x has dtype fp32; the layer takes fp16"):
        layer.forward(np.zeros((2, 128), np.float32))
    with pytest.raises(ValueError, match=r"x has dtype float64, which qlinear has no type for; expected fp16"):
        layer.forward(np.zeros((2, 128)))
    with pytest.raises(ValueError, match=r"expected \[\.\.\., 128\] \(K of the layer\)"):
        layer.forward(np.zeros((2, 127), np.float16))
    with pytest.raises(ValueError, match="must be contiguous"):
        layer.forward(np.zeros((2, 256), np.float16)[:, ::2])
    with pytest.raises(ValueError, match="out has dtype fp16; the layer writes fp32"):
        layer.forward(x, out=np.zeros((2, 48), np.float16))
    with pytest.raises(ValueError, match=r"out has shape \[3, 48\]"):
        layer.forward(x, out=np.zeros((3, 48), np.float32))
    read_only = np.zeros((2, 48), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        layer.forward(x, out=read_only)
    with pytest.raises(TypeError, match="x is a list"):
        layer.forward([[0.0] * 128])


def test_weight_errors_are_qlinears_messages(seed):
    config = qlinear.default_config("mixed_precision", 48, 128)
    weights = {name: t.numpy() for name, t in qlinear.random_layer(config, seed).items()}
    with pytest.raises(ValueError, match="weight_scale is missing; expected bf16"):
        qlinear.Layer(config, {"weight": weights["weight"]})
    with pytest.raises(ValueError, match="unknown tensor 'scales'"):
        qlinear.Layer(config, {**weights, "scales": weights["weight_scale"]})
    with pytest.raises(ValueError, match=r"weight has shape \[48, 64\]; expected \[48, 128\]"):
        qlinear.Layer(config, {**weights, "weight": weights["weight"][:, :32].copy()})
    with pytest.raises(ValueError, match="weight_scale has dtype fp32; expected bf16"):
        qlinear.Layer(config, {**weights, "weight_scale": weights["weight_scale"].astype(np.float32)})
    with pytest.raises(ValueError, match="bias was given"):
        qlinear.Layer(config, {**weights, "bias": np.zeros(48, np.float32)})
    with pytest.raises(ValueError, match="device 'tpu'"):
        qlinear.Layer(config, weights, "tpu")
    with pytest.raises(ValueError, match="no_such_kernel"):
        qlinear.Layer(config, weights, kernel="no_such_kernel")


@pytest.mark.skipif(bool(qlinear.env()["gpus"]), reason="this machine has a GPU")
def test_a_cuda_layer_without_a_gpu_says_so(seed):
    config = qlinear.default_config("mixed_precision", 48, 128)
    with pytest.raises(ValueError, match="[Cc][Uu][Dd][Aa]"):
        qlinear.Layer(config, qlinear.random_layer(config, seed), "cuda")


def test_only_unsigned_integers_of_the_same_width_carry_a_types_bits(seed):
    config = qlinear.default_config("fp8_scaled_mm", 40, 64)
    weights = {name: t.numpy() for name, t in qlinear.random_layer(config, seed).items()}
    assert weights["weight"].dtype == np.uint8  # float8_e4m3fn as its bits: accepted
    qlinear.Layer(config, weights)
    with pytest.raises(ValueError, match="weight has dtype int8; expected float8_e4m3fn"):
        qlinear.Layer(config, {**weights, "weight": weights["weight"].view(np.int8)})
    with pytest.raises(ValueError, match=r"weight_scale has dtype uint32, which qlinear has no type for; expected fp32$"):
        qlinear.Layer(config, {**weights, "weight_scale": weights["weight_scale"].view(np.uint32)})


def test_the_same_call_from_cpp_is_timed_on_the_same_tensors(fp16_layer, seed):
    """Layer.call_us, which bench/python_overhead.py compares the Python paths with."""
    layer, _ = fp16_layer
    x = qlinear.random_activations("fp16", [1, 128], seed).numpy()
    out = np.full((1, 48), np.nan, np.float32)
    assert layer._impl.call_us(x, out, 0, 3) > 0
    assert np.array_equal(out, layer.forward(x))
    with pytest.raises(ValueError, match="non-empty out"):
        layer._impl.call_us(x[:0], out[:0], 0, 3)
