"""The reference weight quantizer: float weights [N, K] to a layer's canonical tensors by
round-to-nearest (ties to even) with symmetric scales from each scale cell's absolute maximum,
every rounding done by qlinear's own encoder. It is what QuantizedLinear.from_linear uses; a
calibrating quantizer (GPTQ, AWQ) would give better weights, in the same layout.

Scales: integer codes s = amax / max_code; fp8 s = amax / 448; MX (e8m0) s = 2^(⌊log2 amax⌋ - emax),
emax the largest exponent of the codes (e4m3 8, as the activations of the MX families are
scaled; e2m1 2, as OCP MX scales MXFP4); NVFP4 a global g = amax(W) / (448 · 6) and
e4m3 scales per 16 of amax / (6 · g). Each scale is rounded to its type before the codes are
computed with it, so that the codes fit the scale the kernels will read.
"""

import numpy

from ._qlinear import decode, encode

_MAX_CODE = {"uint4b8": 7.0, "uint8b128": 127.0, "int8": 127.0, "float8_e4m3fn": 448.0,
             "float4_e2m1f": 6.0}
# The exponent of the largest code of the float types an e8m0 scale serves.
_MAX_EXPONENT = {"float8_e4m3fn": 8, "float4_e2m1f": 2}


def _cells(config):
    """The extent of one weight scale along N and K."""
    n, k = config.part_n, config.part_k
    return {
        "per_tensor": (n, k),
        "per_channel": (1, k),
        "per_group": (1, config.group_size),
        "block": (config.block_n, config.group_size),
    }[config.weight_scale]


def _cell_amax(weight, rows, cols):
    """amax of each [rows, cols] cell of weight, the last cells of each axis possibly partial."""
    n, k = weight.shape
    grid = (-(-n // rows), -(-k // cols))
    padded = numpy.zeros((grid[0] * rows, grid[1] * cols))
    padded[:n, :k] = numpy.abs(weight)
    return padded.reshape(grid[0], rows, grid[1], cols).max(axis=(1, 3))


def _expand(scales, rows, cols, shape):
    return numpy.repeat(numpy.repeat(scales, rows, axis=0), cols, axis=1)[: shape[0], : shape[1]]


def _rounded(values, dtype):
    """values rounded to dtype, as (the tensor, its float64 values)."""
    tensor = encode(values, dtype)
    return tensor, decode(tensor)


def quantize_weights(weight, config):
    """The canonical tensors of `config` (a LayerConfig of shape [N, K]) that best hold `weight`
    (an array [N, K] of floats): {'weight': ..., 'weight_scale': ..., and 'weight_global_scale'
    for NVFP4} as qlinear.Tensor objects on the CPU.

    Supported: symmetric weights without act order (uint4b8, uint8b128, int8, float8_e4m3fn,
    float4_e2m1f codes) with dynamic activation scales. Configs that need zero points, act order
    or a calibrated static input scale raise ValueError.
    """
    weight = numpy.asarray(weight, dtype=numpy.float64)
    if weight.shape != (config.part_n, config.part_k):
        raise ValueError(f"weight has shape {weight.shape}; the config is "
                         f"[{config.part_n}, {config.part_k}]")
    if not numpy.isfinite(weight).all():
        raise ValueError("weight has NaN or infinite values")
    if config.weight_type not in _MAX_CODE or config.zero_points or config.act_order:
        raise ValueError(f"the reference quantizer makes symmetric weights without act order; "
                         f"{config.describe()} is not one")
    if config.act_scale_static or config.family == "nvfp4":
        raise ValueError(f"{config.describe()} needs a calibrated static input scale, which the "
                         "reference quantizer cannot know")
    rows, cols = _cells(config)
    amax = _cell_amax(weight, rows, cols)
    tensors = {}
    global_scale = 1.0
    if config.weight_scale_type == "float8_e8m0fnu":
        exponent = (numpy.floor(numpy.log2(numpy.where(amax > 0, amax, 1.0)))
                    - _MAX_EXPONENT[config.weight_type])
        scales = numpy.where(amax > 0, numpy.exp2(numpy.clip(exponent, -127, 127)), 2.0 ** -127)
    else:
        if config.family in ("nvfp4", "nvfp4_weight_only"):
            global_scale = max(float(weight.max(initial=0.0)), float(-weight.min(initial=0.0)))
            global_scale = global_scale / (448.0 * 6.0) or 1.0
            tensors["weight_global_scale"], rounded = _rounded(numpy.array([global_scale]), "fp32")
            global_scale = float(rounded[0])
        scales = amax / (_MAX_CODE[config.weight_type] * global_scale)
        scales = numpy.where(scales > 0, scales, 1.0)
    tensors["weight_scale"], scales = _rounded(scales, config.weight_scale_type)
    per_weight = _expand(scales, rows, cols, weight.shape) * global_scale
    # A scale that rounded to zero (a cell of tiny weights) leaves its codes zero.
    codes = numpy.divide(weight, per_weight, out=numpy.zeros_like(weight), where=per_weight > 0)
    tensors["weight"] = encode(codes, config.weight_type)
    return tensors
