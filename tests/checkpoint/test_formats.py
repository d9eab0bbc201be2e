"""`qlinear run` on checkpoints of every format, against float64 y = x̂ · Ŵᵀ + bias computed here
from the codes the builders chose; tensor-parallel shards recombined; `qlinear inspect`; and the
errors bad checkpoints must give. QLINEAR_BIN names the tool (CTest sets it)."""
import json
import os
import subprocess

import numpy as np
import pytest

import checkpoints as ck

QLINEAR = os.environ.get("QLINEAR_BIN", "qlinear")
SHAPES = [(200, 256), (128, 512), (264, 384)]  # N = 200 and 264: not multiples of 128
M = 5

# ---- inputs the activation quantizers reproduce exactly ------------------------------------
# Every 16 consecutive K hold the row's extreme values, so every per-token, per-group or per-shard
# scale is a power of two and x̂ = x: the comparison then sees the converter, not rounding.


def x_float(rng, shape):
    return rng.normal(size=shape).astype(np.float32)


def x_fp8(rng, shape, exponent=-3):
    codes = ck.random_e4m3_codes(rng, shape)
    x = ck.E4M3[codes]
    x[..., 0::16] = 448.0
    x[..., 5::16] = -448.0
    return (x * 2.0 ** exponent).astype(np.float32)


def x_int8(rng, shape, exponent=-3, zero_point=None):
    q = rng.integers(-128, 128, size=shape).astype(np.float64)
    q[..., 0::16] = -128
    q[..., 8::16] = 127
    if zero_point is None:  # symmetric: amax = 127
        q = np.clip(q, -127, 127)
        return (q * 2.0 ** exponent).astype(np.float32)
    return ((q - zero_point) * 2.0 ** exponent).astype(np.float32)


def x_nvfp4(rng, shape):
    x = ck.E2M1[rng.integers(0, 16, size=shape)]
    x[..., 0::16] = 6.0
    return x.astype(np.float32)


# ---- the formats ----------------------------------------------------------------------------
# name -> (build(rng, prefix, n, k) -> (tensors, W), config.json quantization_config or None,
#          hf_quant_config or None, torch_dtype, x maker)


def fp8_ct(strategy, static):
    def build(rng, p, n, k):
        codes, w = ck.fp8_weights(rng, p, n, k)
        shape = (n, 1) if strategy == "channel" else (1,)
        s = ck.random_scales(rng, shape, "float32", 0.002)
        t = {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("F32", s.astype(np.float32))}
        if static:
            t[f"{p}.input_scale"] = ("F32", np.array([2.0 ** -3], dtype=np.float32))
        return t, w * s.reshape(-1, 1)
    inputs = {"num_bits": 8, "type": "float", "symmetric": True,
              "strategy": "tensor" if static else "token", "dynamic": not static}
    return build, ck.ct_scheme("float-quantized", {"num_bits": 8, "type": "float", "strategy": strategy,
                                                   "symmetric": True}, inputs), None, "bfloat16", x_fp8


def int8_ct(strategy, act_strategy, static, sym):
    zp = None if sym else 5
    def build(rng, p, n, k):
        t, w = ck.int8_weights(rng, p, n, k, strategy)
        if static:
            t[f"{p}.input_scale"] = ("F32", np.array([2.0 ** -3], dtype=np.float32))
            if not sym:
                t[f"{p}.input_zero_point"] = ("I8", np.array([zp], dtype=np.int8))
        return t, w
    inputs = {"num_bits": 8, "type": "int", "symmetric": sym, "strategy": act_strategy, "dynamic": not static}
    x = (lambda rng, shape: x_int8(rng, shape, zero_point=zp)) if static and not sym else \
        (lambda rng, shape: x_int8(rng, shape, zero_point=None if sym else 0))
    return build, ck.ct_scheme("int-quantized", {"num_bits": 8, "type": "int", "strategy": strategy,
                                                 "symmetric": True}, inputs), None, "bfloat16", x


def ct_pack(bits, strategy, sym, actorder=False, w4a8=None):
    """w4a8: None (weight-only), "int" or "float": the type of the dynamic per-token activations."""
    def build(rng, p, n, k):
        return ck.ct_pack(rng, p, n, k, bits=bits, strategy=strategy, sym=sym, actorder=actorder)
    weights = {"num_bits": bits, "type": "int", "symmetric": sym, "strategy": strategy,
               "group_size": 128 if strategy == "group" else None, "actorder": "group" if actorder else None}
    inputs = {"num_bits": 8, "type": w4a8, "symmetric": True, "strategy": "token", "dynamic": True} if w4a8 else None
    x = {None: x_float, "int": x_int8, "float": x_fp8}[w4a8]
    return build, ck.ct_scheme("pack-quantized", weights, inputs), None, "bfloat16", x


def ct_nvfp4(act, codes="U8"):
    """codes: the e2m1 codes' dtype, U8 pairs or safetensors' F4 (the same bytes)."""
    def build(rng, p, n, k):
        packed, scale_codes, w = ck.nvfp4_weights(rng, n, k)
        divisor = 1000.5  # compressed-tensors stores the global scale as a divisor
        t = {f"{p}.weight_packed": (codes, packed), f"{p}.weight_scale": ("F8_E4M3", scale_codes),
             f"{p}.weight_global_scale": ("F32", np.array([divisor], dtype=np.float32))}
        if act:
            t[f"{p}.input_global_scale"] = ("F32", np.array([2.0 ** 8], dtype=np.float32))
        return t, w / divisor
    weights = {"num_bits": 4, "type": "float", "symmetric": True, "strategy": "tensor_group", "group_size": 16}
    inputs = {"num_bits": 4, "type": "float", "symmetric": True, "strategy": "tensor_group", "group_size": 16,
              "dynamic": "local"} if act else None
    return build, ck.ct_scheme("nvfp4-pack-quantized", weights, inputs), None, "bfloat16", x_nvfp4 if act else x_float


def ct_mxfp8(act, fmt="mxfp8-quantized"):
    def build(rng, p, n, k):
        codes, exponents, w = ck.mxfp8_weights(rng, n, k)
        return {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("U8", exponents)}, w
    weights = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "group", "group_size": 32}
    inputs = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "group", "group_size": 32,
              "dynamic": True} if act else None
    return build, ck.ct_scheme(fmt, weights, inputs), None, "bfloat16", x_fp8 if act else x_float


def ct_mxfp4(act):
    """W4A16, or W4A4 with input_activations: x_nvfp4 puts 6 = 1.5 · 2^2 in every 32 along K, so each
    MX activation scale is 2^(2 - 2) = 1 and x̂ = x."""
    def build(rng, p, n, k):
        packed, exponents, w = ck.mxfp4_weights(rng, n, k)
        return {f"{p}.weight_packed": ("U8", packed), f"{p}.weight_scale": ("U8", exponents)}, w
    weights = {"num_bits": 4, "type": "float", "symmetric": True, "strategy": "group", "group_size": 32}
    inputs = dict(weights, dynamic=True) if act else None
    return build, ck.ct_scheme("mxfp4-pack-quantized", weights, inputs), None, "bfloat16", \
        x_nvfp4 if act else x_float


def ct_fp8_weight_only(strategy):
    def build(rng, p, n, k):
        codes, w = ck.fp8_weights(rng, p, n, k)
        s = ck.random_scales(rng, (n, 1) if strategy == "channel" else (1,), "float32", 0.002)
        return {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("F32", s.astype(np.float32))}, \
            w * s.reshape(-1, 1)
    weights = {"num_bits": 8, "type": "float", "strategy": strategy, "symmetric": True}
    return build, ck.ct_scheme("float-quantized", weights), None, "float16", x_float


def gpt_oss(codes="U8"):
    """A dense gpt-oss weight (P_blocks [N, K/32, 16], or F4 [N, K/32, 32], P_scales [N, K/32]); the
    bias is P_bias."""
    def build(rng, p, n, k):
        packed, exponents, w = ck.mxfp4_weights(rng, n, k)
        return {f"{p}_blocks": (codes, packed.reshape(n, k // 32, 16)), f"{p}_scales": ("U8", exponents)}, w
    return build, ck.GPT_OSS_CONFIG, None, "bfloat16", x_float


def ct_block():
    def build(rng, p, n, k):
        codes, w = ck.fp8_weights(rng, p, n, k)
        s, full = ck.block_scales(rng, n, k, 128, 128)
        return {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("F32", s.astype(np.float32))}, w * full
    weights = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "block", "block_structure": [128, 128]}
    inputs = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "group", "group_size": 128, "dynamic": True}
    return build, ck.ct_scheme("float-quantized", weights, inputs), None, "bfloat16", x_fp8


def modelopt(algo):
    hf = {"producer": {"name": "modelopt", "version": "0.29"},
          "quantization": {"quant_algo": algo, "kv_cache_quant_algo": None, "exclude_modules": ["lm_head"]}}
    if algo == "NVFP4":
        hf["quantization"]["group_size"] = 16
    def build(rng, p, n, k):
        if algo == "NVFP4":
            packed, scale_codes, w = ck.nvfp4_weights(rng, n, k)
            scale_2 = np.float32(1 / 1000.5)
            return {f"{p}.weight": ("U8", packed), f"{p}.weight_scale": ("F8_E4M3", scale_codes),
                    f"{p}.weight_scale_2": ("F32", np.array(scale_2, dtype=np.float32)),
                    f"{p}.input_scale": ("F32", np.array(2.0 ** -8, dtype=np.float32))}, w * np.float64(scale_2)
        if algo == "MXFP8":
            codes, exponents, w = ck.mxfp8_weights(rng, n, k)
            return {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("U8", exponents)}, w
        codes, w = ck.fp8_weights(rng, p, n, k)
        if algo == "FP8":
            s = np.float32(0.0015)
            return {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("F32", np.array(s, dtype=np.float32)),
                    f"{p}.input_scale": ("F32", np.array(2.0 ** -3, dtype=np.float32))}, w * np.float64(s)
        s = ck.random_scales(rng, (n,), "float32", 0.002)
        return {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("F32", s.astype(np.float32))}, w * s[:, None]
    x = x_nvfp4 if algo == "NVFP4" else x_fp8
    return build, None, hf, "bfloat16", x


def deepseek_fp8():
    def build(rng, p, n, k):
        codes, w = ck.fp8_weights(rng, p, n, k)
        s, full = ck.block_scales(rng, n, k, 128, 128)
        return {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale_inv": ("F32", s.astype(np.float32))}, w * full
    config = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}
    return build, config, None, "bfloat16", x_fp8


def fp8_per_tensor(scheme):
    def build(rng, p, n, k):
        codes, w = ck.fp8_weights(rng, p, n, k)
        s = np.float32(0.0015)
        t = {f"{p}.weight": ("F8_E4M3", codes), f"{p}.weight_scale": ("F32", np.array([s], dtype=np.float32))}
        if scheme == "static":
            t[f"{p}.input_scale"] = ("F32", np.array([2.0 ** -3], dtype=np.float32))
        return t, w * np.float64(s)
    return build, {"quant_method": "fp8", "activation_scheme": scheme}, None, "bfloat16", x_fp8


def int8_weight_only(strategy, sym):
    def build(rng, p, n, k):
        q = rng.integers(-128, 128, size=(n, k))
        groups = k // 128 if strategy == "group" else 1
        scales = ck.random_scales(rng, (n, groups), "bfloat16", 0.002)
        zp = np.zeros((n, groups), dtype=np.int64) if sym else rng.integers(-20, 20, size=(n, groups))
        g = np.arange(k) // (128 if strategy == "group" else k)
        t = {f"{p}.weight": ("I8", q.astype(np.int8)), f"{p}.weight_scale": ck.float_tensor("bfloat16", scales)}
        if not sym:
            t[f"{p}.weight_zero_point"] = ("I8", zp.astype(np.int8))
        return t, (q - zp[:, g]) * scales[:, g]
    weights = {"num_bits": 8, "type": "int", "symmetric": sym, "strategy": strategy,
               "group_size": 128 if strategy == "group" else None}
    return build, ck.ct_scheme("int-quantized", weights), None, "bfloat16", x_float


def modelopt_in_config_json():
    build, _, hf, torch_dtype, x = modelopt("FP8")
    return build, {"quant_method": "modelopt", **hf}, None, torch_dtype, x


def gptq(**options):
    def build(rng, p, n, k):
        return ck.gptq(rng, p, n, k, **options)
    return build, ck.gptq_config(**options), None, "float16", x_float


def awq():
    def build(rng, p, n, k):
        return ck.awq(rng, p, n, k)
    return build, {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True, "version": "gemm"}, \
        None, "float16", x_float


FORMATS = {
    "gptq_v1_4bit_sym": gptq(),
    "gptq_v1_4bit_asym": gptq(sym=False),
    "gptq_v1_4bit_act_order": gptq(desc_act=True),
    "gptq_v1_4bit_asym_act_order": gptq(sym=False, desc_act=True),
    "gptq_v2_4bit_asym": gptq(sym=False, v2=True),
    "gptq_v1_8bit_sym": gptq(bits=8),
    "gptq_v1_8bit_asym_act_order": gptq(bits=8, sym=False, desc_act=True),
    "gptq_4bit_channel": gptq(group=-1),
    "awq_4bit": awq(),
    "ct_w4a16_group": ct_pack(4, "group", True),
    "ct_w4a16_group_asym": ct_pack(4, "group", False),
    "ct_w4a16_act_order": ct_pack(4, "group", True, actorder=True),
    "ct_w4a16_channel_asym": ct_pack(4, "channel", False),
    "ct_w8a16_group": ct_pack(8, "group", True),
    "ct_w4a8": ct_pack(4, "group", True, w4a8="int"),
    "ct_w4a8_fp8": ct_pack(4, "group", True, w4a8="float"),
    "ct_w4a8_fp8_channel": ct_pack(4, "channel", True, w4a8="float"),
    "ct_int8_channel_dynamic_token": int8_ct("channel", "token", False, True),
    "ct_int8_tensor_static": int8_ct("tensor", "tensor", True, True),
    "ct_int8_channel_static_asym": int8_ct("channel", "tensor", True, False),
    "ct_int8_channel_dynamic_asym": int8_ct("channel", "token", False, False),
    "ct_fp8_channel_dynamic_token": fp8_ct("channel", False),
    "ct_fp8_tensor_static": fp8_ct("tensor", True),
    "ct_fp8_block": ct_block(),
    "ct_nvfp4_w4a4": ct_nvfp4(True),
    "ct_nvfp4_w4a16": ct_nvfp4(False),
    "ct_nvfp4_w4a16_f4": ct_nvfp4(False, codes="F4"),
    "ct_mxfp8": ct_mxfp8(True),
    "ct_mxfp8_weight_only": ct_mxfp8(False),
    "ct_mxfp8_as_float_quantized": ct_mxfp8(True, "float-quantized"),
    "ct_mxfp4_w4a16": ct_mxfp4(False),
    "ct_mxfp4_w4a4": ct_mxfp4(True),
    "ct_fp8_weight_only_channel": ct_fp8_weight_only("channel"),
    "ct_fp8_weight_only_tensor": ct_fp8_weight_only("tensor"),
    "gpt_oss_mxfp4": gpt_oss(),
    "gpt_oss_mxfp4_f4": gpt_oss(codes="F4"),
    "modelopt_fp8": modelopt("FP8"),
    "modelopt_fp8_per_channel": modelopt("FP8_PER_CHANNEL_PER_TOKEN"),
    "modelopt_nvfp4": modelopt("NVFP4"),
    "modelopt_mxfp8": modelopt("MXFP8"),
    "deepseek_fp8_block": deepseek_fp8(),
    "fp8_per_tensor_static": fp8_per_tensor("static"),
    "fp8_per_tensor_dynamic": fp8_per_tensor("dynamic"),
    "ct_int8_weight_only_channel": int8_weight_only("channel", True),
    "ct_int8_weight_only_group_asym": int8_weight_only("group", False),
    "modelopt_fp8_in_config_json": modelopt_in_config_json(),
}
PREFIX = "model.layers.0.mlp.down_proj"


def make_checkpoint(directory, fmt, n, k, seed, bias=True, prefix=PREFIX, shards=1):
    build, quant, hf, torch_dtype, make_x = FORMATS[fmt]
    rng = np.random.default_rng(seed)
    tensors, w = build(rng, prefix, n, k)
    b = None
    if bias:
        b = ck.round_to(torch_dtype, rng.normal(size=n))
        gpt_oss_names = quant is not None and quant.get("quant_method") == "mxfp4"
        tensors[f"{prefix}{'_' if gpt_oss_names else '.'}bias"] = ck.float_tensor(torch_dtype, b)
    config = {"architectures": ["LlamaForCausalLM"], "torch_dtype": torch_dtype}
    if quant is not None:
        config["quantization_config"] = quant
    ck.write_checkpoint(directory, tensors, config, hf, shards)
    return w, b, torch_dtype, make_x


def write_npy(path, x):
    np.save(path, x)


def run(*args, expect_ok=True):
    result = subprocess.run([QLINEAR, *map(str, args)], capture_output=True, text=True)
    if expect_ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def run_layer(tmp, model, x, **flags):
    xin, yout = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    write_npy(xin, x)
    extra = []
    for key, value in flags.items():
        extra += [f"--{key.replace('_', '-')}"] + ([] if value is True else [value])
    run("run", "--model", model, "--layer", PREFIX, "--input", xin, "--output", yout, "--device", "cpu", *extra)
    return np.load(yout)


def check(y, x_hat, w, bias, torch_dtype):
    """|y - ref| within a few output roundings of the sum of absolute terms."""
    ref = x_hat @ w.T + (bias if bias is not None else 0)
    magnitude = np.abs(x_hat) @ np.abs(w).T + (np.abs(bias) if bias is not None else 0)
    unit = 2.0 ** -9 if torch_dtype == "bfloat16" else 2.0 ** -11
    error = np.abs(y.astype(np.float64) - ref)
    assert y.shape == ref.shape
    assert np.all(error <= 4 * unit * magnitude + 1e-30), \
        f"max error {np.max(error / (magnitude + 1e-30)):.3g} of magnitude; at {np.unravel_index(np.argmax(error), error.shape)}"
    # Guard against a comparison that passes because everything is zero.
    assert np.max(np.abs(ref)) > 0


@pytest.mark.parametrize("shape", range(len(SHAPES)))
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_run_matches_reference(tmp_path, fmt, shape):
    n, k = SHAPES[shape]
    if fmt in ("ct_fp8_block", "deepseek_fp8_block") and shape == 0:
        k = 320  # a partial 128-block along K too
    model = str(tmp_path / "model")
    w, b, torch_dtype, make_x = make_checkpoint(model, fmt, n, k, seed=shape, bias=shape != 1)
    rng = np.random.default_rng(100 + shape)
    x = make_x(rng, (M, k))
    y = run_layer(str(tmp_path), model, x)
    check(y, ck.round_to(torch_dtype, x), w, b, torch_dtype)


def test_run_takes_leading_dimensions_and_bf16_bits(tmp_path):
    model = str(tmp_path / "model")
    w, b, torch_dtype, _ = make_checkpoint(model, "ct_w4a16_group", 200, 256, seed=7)
    x = np.random.default_rng(3).normal(size=(2, 3, 256)).astype(np.float32)
    bits = ck.to_bf16_bits(x)
    y = run_layer(str(tmp_path), model, bits, input_bf16=True)
    assert y.shape == (2, 3, 200)
    check(y.reshape(6, 200), ck.from_bf16_bits(bits).reshape(6, 256).astype(np.float64), w, b, torch_dtype)


def test_run_rounds_float16_input_to_the_checkpoint_dtype(tmp_path):
    model = str(tmp_path / "model")
    w, b, torch_dtype, _ = make_checkpoint(model, "ct_w4a16_group", 200, 256, seed=8)  # bfloat16
    x = np.random.default_rng(4).normal(size=(M, 256)).astype(np.float16)
    y = run_layer(str(tmp_path), model, x)
    check(y, ck.round_to("bfloat16", x.astype(np.float32)), w, b, torch_dtype)


def test_pack_quantized_pads_k_to_whole_words(tmp_path):
    model = str(tmp_path / "model")
    rng = np.random.default_rng(9)
    tensors, w = ck.ct_pack(rng, PREFIX, 24, 100, strategy="channel", sym=False)  # 100 = 12 words + 4 codes
    assert tensors[f"{PREFIX}.weight_packed"][1].shape == (24, 13)
    ck.write_checkpoint(model, tensors, {"quantization_config": FORMATS["ct_w4a16_channel_asym"][1]})
    x = x_float(rng, (M, 100))
    check(run_layer(str(tmp_path), model, x), ck.round_to("bfloat16", x), w, None, "bfloat16")


def test_forced_kernel(tmp_path):
    model = str(tmp_path / "model")
    w, b, torch_dtype, make_x = make_checkpoint(model, "awq_4bit", 128, 256, seed=2)
    x = make_x(np.random.default_rng(1), (M, 256))
    check(run_layer(str(tmp_path), model, x, kernel="reference_mixed_precision"), ck.round_to(torch_dtype, x), w, b,
          torch_dtype)
    np.save(tmp_path / "x.npy", x)
    r = run("run", "--model", model, "--layer", PREFIX, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
            "--device", "cpu", "--kernel", "reference_fp8_block", expect_ok=False)
    assert r.returncode == 1 and "reference_fp8_block" in r.stderr, r.stderr


@pytest.mark.parametrize("split", ["columns", "rows"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_tensor_parallel_shards_recombine(tmp_path, fmt, split):
    n, k, size = 256, 512, 2
    model = str(tmp_path / "model")
    w, b, torch_dtype, make_x = make_checkpoint(model, fmt, n, k, seed=11)
    x = make_x(np.random.default_rng(12), (M, k))
    parts = [run_layer(str(tmp_path), model, x, tp_rank=r, tp_size=size, tp_split=split) for r in range(size)]
    y = np.concatenate(parts, axis=-1) if split == "columns" else sum(p.astype(np.float64) for p in parts)
    check(y, ck.round_to(torch_dtype, x), w, b, torch_dtype)
    if split == "rows":  # each rank also takes just its slice of x
        pk = k // size
        part = run_layer(str(tmp_path), model, x[:, pk:], tp_rank=1, tp_size=size, tp_split=split)
        assert np.array_equal(part, parts[1])


@pytest.mark.parametrize("split", ["columns", "rows"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_tensor_parallel_run_every_rank(tmp_path, fmt, split):
    """--tp-size without --tp-rank: every rank runs (threads, in-process group) and y is whole."""
    n, k, size = 256, 512, 2
    model = str(tmp_path / "model")
    w, b, torch_dtype, make_x = make_checkpoint(model, fmt, n, k, seed=13)
    x = make_x(np.random.default_rng(14), (M, k))
    y = run_layer(str(tmp_path), model, x, tp_size=size, tp_split=split)
    check(y, ck.round_to(torch_dtype, x), w, b, torch_dtype)


def test_split_that_cuts_a_group_is_rejected(tmp_path):
    model = str(tmp_path / "model")
    make_checkpoint(model, "gptq_v1_4bit_sym", 200, 384, seed=1)
    np.save(tmp_path / "x.npy", np.ones((1, 384), dtype=np.float32))
    r = run("run", "--model", model, "--layer", PREFIX, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
            "--tp-rank", 0, "--tp-size", 2, "--tp-split", "rows", expect_ok=False)
    assert r.returncode == 1 and "would cut a scale group of 128" in r.stderr, r.stderr
    r = run("run", "--model", model, "--layer", PREFIX, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
            "--tp-rank", 0, "--tp-size", 3, "--tp-split", "columns", expect_ok=False)
    assert r.returncode == 1 and "N = 200 is not a multiple of 3" in r.stderr, r.stderr


def test_inspect_lists_a_sharded_multi_layer_checkpoint(tmp_path):
    rng = np.random.default_rng(5)
    tensors = {}
    names = []
    for layer in range(2):
        for module, (n, k) in (("self_attn.q_proj", (256, 256)), ("self_attn.o_proj", (256, 256)),
                               ("mlp.gate_proj", (512, 256)), ("mlp.down_proj", (256, 512))):
            prefix = f"model.layers.{layer}.{module}"
            names.append(prefix)
            tensors.update(ck.gptq(rng, prefix, n, k, desc_act=module == "mlp.down_proj")[0])
    tensors["lm_head.weight"] = ("BF16", ck.to_bf16_bits(rng.normal(size=(1000, 256)).astype(np.float32)))
    tensors["model.embed_tokens.weight"] = ("BF16", ck.to_bf16_bits(rng.normal(size=(1000, 256)).astype(np.float32)))
    model = str(tmp_path / "model")
    ck.write_checkpoint(model, tensors, {"torch_dtype": "float16",
                                         "quantization_config": ck.gptq_config(desc_act=True)}, shards=3)
    out = run("inspect", "--model", model, "--device", "cpu").stdout
    print(out)
    assert "3 safetensors files, quantization gptq, activations fp16, 9 linear layers" in out
    for prefix in names:
        line = next(l for l in out.splitlines() if l.startswith(prefix + " "))
        assert "gptq v1 4-bit sym" in line and "mixed_precision" in line
        assert line.split()[-1] != "error:"
    assert "act-order" in next(l for l in out.splitlines() if l.startswith("model.layers.1.mlp.down_proj "))
    assert "unquantized" in next(l for l in out.splitlines() if l.startswith("lm_head "))
    assert "embed_tokens" not in out


def test_gpt_oss_experts_are_one_layer_each(tmp_path):
    """A gpt-oss MoE block: stacked experts read as model.layers.0.mlp.experts.E.PROJ, each matching
    its own slice; attention and router weights left in bf16."""
    rng = np.random.default_rng(7)
    experts, hidden, inner = 3, 256, 192
    tensors, layers = {}, {}
    for proj, (n, k) in (("gate_up_proj", (2 * inner, hidden)), ("down_proj", (hidden, inner))):
        t, ws, bias = ck.gpt_oss_experts(rng, f"model.layers.0.mlp.experts.{proj}", experts, n, k)
        tensors.update(t)
        for e in range(experts):
            layers[f"model.layers.0.mlp.experts.{e}.{proj}"] = (ws[e], bias[e])
    tensors["model.layers.0.mlp.router.weight"] = ("BF16", ck.to_bf16_bits(rng.normal(size=(experts, hidden))))
    tensors["model.layers.0.self_attn.q_proj.weight"] = ("BF16", ck.to_bf16_bits(rng.normal(size=(hidden, hidden))))
    model = str(tmp_path / "model")
    ck.write_checkpoint(model, tensors, {"torch_dtype": "bfloat16", "quantization_config": ck.GPT_OSS_CONFIG})
    out = run("inspect", "--model", model, "--device", "cpu").stdout
    assert f"quantization mxfp4, activations bf16, {2 * experts + 2} linear layers" in out, out
    for name in layers:
        line = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert "gpt-oss mxfp4 expert" in line and "mxfp4_weight_only" in line, line
    # Left in bf16 because quantization_config.modules_to_not_convert says so, and inspect says which
    # pattern: "model.layers.*.self_attn" matches at the start of the name, as transformers' re.match.
    for name, pattern in (("model.layers.0.self_attn.q_proj", "model.layers.*.self_attn"),
                          ("model.layers.0.mlp.router", "model.layers.*.mlp.router")):
        line = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert f"unquantized (modules_to_not_convert '{pattern}')" in line, line
    for name in ("model.layers.0.mlp.experts.2.down_proj", "model.layers.0.mlp.experts.1.gate_up_proj"):
        w, bias = layers[name]
        x = x_float(rng, (M, w.shape[1]))
        np.save(tmp_path / "x.npy", x)
        run("run", "--model", model, "--layer", name, "--input", tmp_path / "x.npy", "--output",
            tmp_path / "y.npy", "--device", "cpu")
        check(np.load(tmp_path / "y.npy"), ck.round_to("bfloat16", x), w, bias, "bfloat16")


def test_gpt_oss_modules_to_not_convert(tmp_path):
    """modules_to_not_convert as transformers reads it: a Python regular expression matched at the start
    of the name, or a suffix of it. A float weight no pattern names is unquantized as a plain weight; a
    layer a pattern names whose weight is MXFP4 blocks is refused, naming the pattern."""
    rng = np.random.default_rng(9)
    hidden = 64
    bf16 = lambda: ("BF16", ck.to_bf16_bits(rng.normal(size=(hidden, hidden))))
    tensors = {"model.layers.3.self_attn.o_proj.weight": bf16(), "lm_head.weight": bf16(),
               "model.layers.3.mlp.shared.fc1.weight": bf16(), "model.layers.3.mlp.shared.fc9.weight": bf16()}
    packed, exponents, _ = ck.mxfp4_weights(rng, hidden, hidden)
    tensors["model.layers.3.mlp.dense_blocks"] = ("U8", packed.reshape(hidden, hidden // 32, 16))
    tensors["model.layers.3.mlp.dense_scales"] = ("U8", exponents)
    config = {"quant_method": "mxfp4",
              "modules_to_not_convert": [r"model\.layers\.[0-9]+\.self_attn", "fc1", "model.layers.3.mlp.dense"]}
    model = str(tmp_path / "model")
    ck.write_checkpoint(model, tensors, {"torch_dtype": "bfloat16", "quantization_config": config})
    out = run("inspect", "--model", model, "--device", "cpu", expect_ok=False).stdout
    rows = {l.split()[0]: l for l in out.splitlines()[3:] if l.strip()}
    assert "modules_to_not_convert 'model\\.layers\\.[0-9]+\\.self_attn'" in rows["model.layers.3.self_attn.o_proj"], out
    assert "modules_to_not_convert 'fc1'" in rows["model.layers.3.mlp.shared.fc1"], out  # a suffix
    assert "plain BF16 weight" in rows["model.layers.3.mlp.shared.fc9"], out
    assert "plain BF16 weight" in rows["lm_head"], out  # not listed here
    assert "modules_to_not_convert leaves the layer unquantized (pattern 'model.layers.3.mlp.dense')" \
        in rows["model.layers.3.mlp.dense"], out


def test_fp8_checkpoint_runs_weight_only_without_fp8_arithmetic(tmp_path):
    """An FP8 (W8A8) layer on the CPU, which has no FP8 arithmetic, is served as fp8_weight_only:
    x is not quantized (x_float has no power-of-two structure, so only W8A16 matches), and inspect
    says why; a forced fp8_scaled_mm kernel keeps the checkpoint's own family."""
    model = str(tmp_path / "model")
    w, b, torch_dtype, _ = make_checkpoint(model, "ct_fp8_channel_dynamic_token", 136, 256, seed=3)
    x = x_float(np.random.default_rng(8), (M, 256))
    check(run_layer(str(tmp_path), model, x), ck.round_to(torch_dtype, x), w, b, torch_dtype)
    line = next(l for l in run("inspect", "--model", model, "--device", "cpu").stdout.splitlines()
                if l.startswith(PREFIX + " "))
    assert "served as fp8_weight_only" in line and "no FP8 arithmetic" in line, line
    y = run_layer(str(tmp_path), model, x, kernel="reference_fp8_scaled_mm")
    with pytest.raises(AssertionError):  # the activations quantized to e4m3, as the checkpoint asks
        check(y, ck.round_to(torch_dtype, x), w, b, torch_dtype)


def inspect_row(model, target, **env):
    result = subprocess.run([QLINEAR, "inspect", "--model", model, "--device", target], capture_output=True,
                            text=True, env=dict(os.environ, **env))
    assert result.returncode == 0, result.stdout + result.stderr
    return next(l for l in result.stdout.splitlines() if l.startswith(PREFIX + " "))


def test_nvfp4_checkpoint_served_as_block_fp8_on_hopper(tmp_path):
    """An NVFP4 (W4A4) layer on a GPU with FP8 tensor cores and no FP4 ones is served as fp8_block,
    the weights re-encoded at load, and inspect says so with the accuracy rule; not on sm_80 or
    sm_100a, nor with QLINEAR_NVFP4_AS_FP8_BLOCK=off. A W4A16 layer only when opted in (=all): its
    activations would be rounded to e4m3, which its checkpoint does not do. (N = 200, K = 400:
    off the 128 grid, K in NVFP4's steps of 16.)"""
    w4a4, w4a16 = str(tmp_path / "w4a4"), str(tmp_path / "w4a16")
    make_checkpoint(w4a4, "modelopt_nvfp4", 200, 400, seed=4)
    make_checkpoint(w4a16, "ct_nvfp4_w4a16", 200, 400, seed=5)
    for target in ["cuda:sm_90a", "cuda:sm_89"]:
        line = inspect_row(w4a4, target)
        assert line.split()[0] == PREFIX and " fp8_block " in line, line
        assert "served as fp8_block" in line and "has FP8 tensor cores and no FP4 ones" in line, line
        assert "exact where a block's values fit e4m3, else within max(2^-4 |w|, 2^-10 * block scale)" in line, line
        assert "block 128x128" in line, line
        assert " nvfp4_weight_only " in inspect_row(w4a16, target)
    for target in ["cuda:sm_80", "cuda:sm_100a", "cpu"]:
        assert "served as" not in inspect_row(w4a4, target)
    assert " nvfp4 " in inspect_row(w4a4, "cuda:sm_90a", QLINEAR_NVFP4_AS_FP8_BLOCK="off")
    line = inspect_row(w4a16, "cuda:sm_90a", QLINEAR_NVFP4_AS_FP8_BLOCK="all")
    assert " fp8_block " in line and "leaves in 16 bits" in line, line
    bad = subprocess.run([QLINEAR, "inspect", "--model", w4a4, "--device", "cuda:sm_90a"], capture_output=True,
                         text=True, env=dict(os.environ, QLINEAR_NVFP4_AS_FP8_BLOCK="yes"))
    assert bad.returncode != 0 and "QLINEAR_NVFP4_AS_FP8_BLOCK is 'yes'" in bad.stdout + bad.stderr


@pytest.mark.parametrize("file", ["quantize_config.json", "quant_config.json"])
def test_older_quantization_config_files(tmp_path, file):
    model = str(tmp_path / "model")
    rng = np.random.default_rng(6)
    if file == "quantize_config.json":  # AutoGPTQ
        tensors, w = ck.gptq(rng, PREFIX, 64, 256, sym=False)
        quant = {"bits": 4, "group_size": 128, "desc_act": False, "sym": False}
    else:  # AutoAWQ
        tensors, w = ck.awq(rng, PREFIX, 64, 256)
        quant = {"w_bit": 4, "q_group_size": 128, "zero_point": True, "version": "GEMM"}
    ck.write_checkpoint(model, tensors, {"torch_dtype": "float16"})
    with open(os.path.join(model, file), "w") as f:
        json.dump(quant, f)
    x = x_float(rng, (M, 256))
    check(run_layer(str(tmp_path), model, x), ck.round_to("float16", x), w, None, "float16")


# ---- bad checkpoints: a clear error naming the file / tensor and the expectation, exit code 1 --


def expect_error(tmp_path, model, *needles):
    np.save(tmp_path / "x.npy", np.ones((1, 256), dtype=np.float32))
    r = run("run", "--model", model, "--layer", PREFIX, "--input", tmp_path / "x.npy", "--output",
            tmp_path / "y.npy", "--device", "cpu", expect_ok=False)
    assert r.returncode == 1, r.stdout + r.stderr
    for needle in needles:
        assert needle in r.stderr, r.stderr


def test_missing_scales(tmp_path):
    model = str(tmp_path / "m")
    tensors, _ = ck.gptq(np.random.default_rng(0), PREFIX, 64, 256)
    del tensors[f"{PREFIX}.scales"]
    ck.write_checkpoint(model, tensors, {"quantization_config": ck.gptq_config()})
    expect_error(tmp_path, model, f"tensor {PREFIX}.scales is missing; expected F16 or BF16 or F32[2, 64]")


def test_wrong_zero_point_shape(tmp_path):
    model = str(tmp_path / "m")
    tensors, _ = ck.gptq(np.random.default_rng(0), PREFIX, 64, 256, sym=False)
    tensors[f"{PREFIX}.qzeros"] = ("I32", np.zeros((2, 4), dtype=np.int32))
    ck.write_checkpoint(model, tensors, {"quantization_config": ck.gptq_config(sym=False)})
    expect_error(tmp_path, model, f"{PREFIX}.qzeros (I32[2, 4] in ", "model.safetensors", "expected [2, 8]")


def test_gpt_oss_blocks_of_the_wrong_shape_or_without_scales(tmp_path):
    model = str(tmp_path / "m")
    build, quant, _, _, _ = FORMATS["gpt_oss_mxfp4"]
    tensors, _ = build(np.random.default_rng(0), PREFIX, 64, 256)
    del tensors[f"{PREFIX}_scales"]
    ck.write_checkpoint(model, tensors, {"quantization_config": quant})
    expect_error(tmp_path, model, f"tensor {PREFIX}_scales is missing")
    tensors, _ = build(np.random.default_rng(0), PREFIX, 64, 256)
    tensors[f"{PREFIX}_blocks"] = ("U8", tensors[f"{PREFIX}_blocks"][1].reshape(64, 16, 8))
    ck.write_checkpoint(model, tensors, {"quantization_config": quant})
    expect_error(tmp_path, model, f"{PREFIX}_blocks (U8[64, 16, 8] in ", "should be [N, K/32, 16]")


@pytest.mark.parametrize("change,said", [
    ({"dynamic": False}, "input_activations are float4 group group_size 32 static"),
    ({"group_size": 16}, "input_activations are float4 group group_size 16 dynamic"),
    ({"num_bits": 8}, "input_activations are float8 group group_size 32 dynamic"),
])
def test_mxfp4_activations_other_than_mx_are_refused_by_name(tmp_path, change, said):
    model = str(tmp_path / "m")
    build, quant, _, _, _ = FORMATS["ct_mxfp4_w4a16"]
    tensors, _ = build(np.random.default_rng(0), PREFIX, 64, 256)
    weights = quant["config_groups"]["group_0"]["weights"]
    ck.write_checkpoint(model, tensors, {"quantization_config": ck.ct_scheme(
        "mxfp4-pack-quantized", weights, {**weights, "dynamic": True, **change})})
    expect_error(tmp_path, model, said, "MXFP4 activations are float4 (e2m1), dynamic, per group of 32")


def test_dtype_that_contradicts_the_config(tmp_path):
    model = str(tmp_path / "m")
    tensors, _ = ck.ct_pack(np.random.default_rng(0), PREFIX, 64, 256)
    tensors[f"{PREFIX}.weight_scale"] = ("I32", np.zeros((64, 2), dtype=np.int32))
    ck.write_checkpoint(model, tensors, {"quantization_config": FORMATS["ct_w4a16_group"][1]})
    expect_error(tmp_path, model, f"{PREFIX}.weight_scale (I32[64, 2]", "expected F16 or BF16 or F32")


def test_shape_that_contradicts_the_config(tmp_path):
    model = str(tmp_path / "m")
    tensors, _ = ck.gptq(np.random.default_rng(0), PREFIX, 64, 256)
    ck.write_checkpoint(model, tensors, {"quantization_config": ck.gptq_config(group=96)})
    expect_error(tmp_path, model, "group_size is 96; it must be -1 or divide K = 256")


def test_unknown_quantization_method(tmp_path):
    model = str(tmp_path / "m")
    tensors, _ = ck.gptq(np.random.default_rng(0), PREFIX, 64, 256)
    ck.write_checkpoint(model, tensors, {"quantization_config": {"quant_method": "bitsandbytes"}})
    expect_error(tmp_path, model, "quantization method 'bitsandbytes' is not supported; supported: gptq, awq")


def test_truncated_shard(tmp_path):
    model = str(tmp_path / "m")
    tensors, _ = ck.gptq(np.random.default_rng(0), PREFIX, 64, 256)
    ck.write_checkpoint(model, tensors, {"quantization_config": ck.gptq_config()})
    path = os.path.join(model, "model.safetensors")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) - 100])
    expect_error(tmp_path, model, "model.safetensors: tensor", "past the end of the data")


def test_index_that_names_a_tensor_the_shard_lacks(tmp_path):
    model = str(tmp_path / "m")
    tensors, _ = ck.gptq(np.random.default_rng(0), PREFIX, 64, 256)
    ck.write_checkpoint(model, tensors, {"quantization_config": ck.gptq_config()}, shards=2)
    index_path = os.path.join(model, "model.safetensors.index.json")
    index = json.load(open(index_path))
    index["weight_map"][f"{PREFIX}.bias"] = "model-00001-of-00002.safetensors"
    json.dump(index, open(index_path, "w"))
    expect_error(tmp_path, model, f"weight_map places tensor {PREFIX}.bias in model-00001-of-00002.safetensors, which does not hold it")


def test_inspect_and_run_refuse_what_is_not_a_checkpoint(tmp_path):
    r = run("inspect", "--model", tmp_path / "missing", expect_ok=False)
    assert r.returncode == 1 and "missing: not a checkpoint folder (no such directory)" in r.stderr, r.stderr
    r = run("inspect", "--model", tmp_path, expect_ok=False)
    assert r.returncode == 1 and "no model.safetensors.index.json and no *.safetensors file" in r.stderr, r.stderr


def test_run_refuses_bad_inputs(tmp_path):
    model = str(tmp_path / "model")
    make_checkpoint(model, "gptq_v1_4bit_sym", 64, 256, seed=1)
    cases = {
        "k.npy": (np.ones((2, 100), dtype=np.float32), "x has K = 100; the layer takes K = 256"),
        "int.npy": (np.ones((2, 256), dtype=np.int32), "is not float32 (<f4), float16 (<f2) or uint16"),
        "u16.npy": (np.ones((2, 256), dtype=np.uint16), "uint16 input; pass --input-bf16"),
        "fortran.npy": (np.asfortranarray(np.ones((2, 256), dtype=np.float32)), "Fortran order"),
    }
    for file, (x, needle) in cases.items():
        np.save(tmp_path / file, x)
        r = run("run", "--model", model, "--layer", PREFIX, "--input", tmp_path / file, "--output", tmp_path / "y.npy",
                "--device", "cpu", expect_ok=False)
        assert r.returncode == 1 and needle in r.stderr, (file, r.stderr)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    r = run("run", "--model", model, "--layer", PREFIX, "--input", tmp_path / "junk.npy", "--output", tmp_path / "y.npy",
            expect_ok=False)
    assert r.returncode == 1 and "not a .npy file" in r.stderr, r.stderr
    r = run("run", "--model", model, "--layer", "model.layers.9.mlp.up_proj", "--input", tmp_path / "k.npy",
            "--output", tmp_path / "y.npy", expect_ok=False)
    assert r.returncode == 1 and "no tensors under model.layers.9.mlp.up_proj" in r.stderr, r.stderr


def test_bench_load_model_times_every_layer(tmp_path):
    model = str(tmp_path / "model")
    make_checkpoint(model, "gptq_v1_4bit_sym", 64, 256, seed=1)
    r = run("bench", "--device", "cpu", "--load-model", model, "--json", tmp_path / "load.json")
    assert "1 quantized layers" in r.stdout and "GB/s of checkpoint bytes" in r.stdout, r.stdout
    record = json.load(open(tmp_path / "load.json"))
    assert record["layers"] == 1 and record["weights"] == 64 * 256 and record["gbs"] > 0 and record["read_gbs"] > 0
    assert 0 <= record["upload_s"] <= record["prepare_s"], record


def test_bench_load_model_of_one_rank(tmp_path):
    """--tp-size S --tp-rank R: each layer is that rank's shard (down_proj: split by rows)."""
    model = str(tmp_path / "model")
    make_checkpoint(model, "gptq_v1_4bit_sym", 64, 256, seed=1)
    r = run("bench", "--device", "cpu", "--load-model", model, "--tp-size", 2, "--tp-rank", 1,
            "--json", tmp_path / "load.json")
    assert "rank 1 of 2" in r.stdout, r.stdout
    record = json.load(open(tmp_path / "load.json"))
    assert record["weights"] == 64 * 128 and (record["tp_size"], record["tp_rank"]) == (2, 1)
    r = run("bench", "--device", "cpu", "--load-model", model, "--tp-size", 2, "--tp-rank", 2,
            expect_ok=False)
    assert r.returncode == 1 and "--tp-rank 2 is not a rank of --tp-size 2" in r.stderr, r.stderr
