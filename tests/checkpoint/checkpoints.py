"""Checkpoints written the way each quantization tool lays them out, from the formats' published
descriptions, with numpy alone (the safetensors package is not needed: the format is an 8-byte
header length, a JSON header and the raw bytes). Each builder returns the exact dequantized weight
W[N, K] in float64, computed from the codes it chose, not from the packed tensors."""
import json
import os

import numpy as np

# ---- number formats -------------------------------------------------------------------------


def e4m3_values():
    """Value of each of the 256 float8_e4m3fn codes (NaN for S.1111.111)."""
    values = np.zeros(256)
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        e, m = (code >> 3) & 0xF, code & 0x7
        if e == 0xF and m == 0x7:
            values[code] = np.nan
        elif e == 0:
            values[code] = sign * m * 2.0 ** -9
        else:
            values[code] = sign * (1 + m / 8) * 2.0 ** (e - 7)
    return values


E4M3 = e4m3_values()
E2M1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])


def to_bf16_bits(x):
    """Round float32 to bfloat16 (nearest, ties to even); the bits as uint16."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def round_to(dtype, x):
    """x rounded to the activation dtype, as float64."""
    if dtype == "bfloat16":
        return from_bf16_bits(to_bf16_bits(x)).astype(np.float64)
    if dtype == "float16":
        return np.asarray(x, dtype=np.float16).astype(np.float64)
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def float_tensor(dtype, values):
    """(safetensors dtype, array) for values already representable in dtype."""
    if dtype == "bfloat16":
        return ("BF16", to_bf16_bits(np.asarray(values, dtype=np.float32)))
    if dtype == "float16":
        return ("F16", np.asarray(values, dtype=np.float16))
    return ("F32", np.asarray(values, dtype=np.float32))


def random_scales(rng, shape, dtype, typical=0.01):
    """Positive scales representable in dtype."""
    return round_to(dtype, typical * rng.uniform(0.5, 2.0, size=shape))


def random_e4m3_codes(rng, shape, max_exponent_field=14):
    """e4m3 codes (no NaN) with magnitudes below 2^(max_exponent_field - 7) · 1.875."""
    magnitude = rng.integers(0, (max_exponent_field + 1) * 8, size=shape)
    sign = rng.integers(0, 2, size=shape) << 7
    return (magnitude | sign).astype(np.uint8)


# ---- safetensors ----------------------------------------------------------------------------


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: (dtype string, numpy array of the raw element type)}; an F4 array holds the
    packed bytes (two e2m1 codes a byte, the even one in the low nibble), F4's shape counts codes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, array) in tensors.items():
        data = np.ascontiguousarray(array).tobytes()
        shape = list(array.shape)
        if dtype == "F4":
            shape[-1] *= 2
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_checkpoint(directory, tensors, config=None, hf_quant_config=None, shards=1):
    """A checkpoint folder; with shards > 1, tensors are spread over files listed in the index."""
    os.makedirs(directory, exist_ok=True)
    if config is not None:
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(config, f)
    if hf_quant_config is not None:
        with open(os.path.join(directory, "hf_quant_config.json"), "w") as f:
            json.dump(hf_quant_config, f)
    if shards == 1:
        write_safetensors(os.path.join(directory, "model.safetensors"), tensors)
        return
    names = sorted(tensors)
    weight_map = {}
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s::shards]}
        write_safetensors(os.path.join(directory, file), part)
        weight_map.update({n: file for n in part})
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)


# ---- packing, as each tool does it ------------------------------------------------------------


def pack_along_rows(codes, bits):
    """int32 words of 32/bits codes of consecutive rows, low bits first (GPTQ qweight)."""
    per = 32 // bits
    words = np.zeros((codes.shape[0] // per, codes.shape[1]), dtype=np.uint32)
    for j in range(per):
        words |= codes[j::per, :].astype(np.uint32) << np.uint32(bits * j)
    return words.view(np.int32)


def pack_along_columns(codes, bits, order=None):
    """int32 words of 32/bits codes of consecutive columns; field i holds column order[i]. Columns
    are padded with zero codes to whole words (as compressed-tensors' pack_to_int32 does)."""
    per = 32 // bits
    order = order or list(range(per))
    codes = np.pad(codes, ((0, 0), (0, -codes.shape[1] % per)))
    words = np.zeros((codes.shape[0], codes.shape[1] // per), dtype=np.uint32)
    for i in range(per):
        words |= codes[:, order[i]::per].astype(np.uint32) << np.uint32(bits * i)
    return words.view(np.int32)


def pack_nibbles(codes):
    """Two 4-bit codes a byte along the last axis, the even index in the low nibble."""
    return (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)


AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def act_order_g_idx(rng, k, group):
    """GPTQ desc_act: K positions visited in a permuted order, groups formed along it."""
    order = rng.permutation(k)
    g_idx = np.empty(k, dtype=np.int32)
    g_idx[order] = np.arange(k) // group
    return g_idx


# ---- the layer builders ---------------------------------------------------------------------
# Each returns (tensors, W) for one layer `prefix`; W is [N, K] float64.


def gptq(rng, prefix, n, k, bits=4, group=128, sym=True, desc_act=False, v2=False):
    maxq = (1 << bits) - 1
    groups = 1 if group == -1 else k // group
    g_idx = act_order_g_idx(rng, k, group) if desc_act else (np.arange(k) // (k if group == -1 else group)).astype(np.int32)
    q = rng.integers(0, maxq + 1, size=(k, n))
    zeros = np.full((groups, n), 1 << (bits - 1)) if sym else rng.integers(0, maxq + 1, size=(groups, n))
    scales = random_scales(rng, (groups, n), "float16")
    w = (q - zeros[g_idx, :]) * scales[g_idx, :]
    stored_zeros = zeros if v2 else (zeros - 1) & maxq  # v1 stores zero - 1
    tensors = {
        f"{prefix}.qweight": ("I32", pack_along_rows(q, bits)),
        f"{prefix}.qzeros": ("I32", pack_along_columns(stored_zeros, bits)),
        f"{prefix}.scales": ("F16", scales.astype(np.float16)),
        f"{prefix}.g_idx": ("I32", g_idx),
    }
    return tensors, w.T


def gptq_config(bits=4, group=128, sym=True, desc_act=False, v2=False):
    return {"quant_method": "gptq", "bits": bits, "group_size": group, "desc_act": desc_act, "sym": sym,
            "checkpoint_format": "gptq_v2" if v2 else "gptq"}


def awq(rng, prefix, n, k, group=128):
    q = rng.integers(0, 16, size=(k, n))
    zeros = rng.integers(0, 16, size=(k // group, n))
    scales = random_scales(rng, (k // group, n), "float16")
    g = np.arange(k) // group
    w = (q - zeros[g, :]) * scales[g, :]
    tensors = {
        f"{prefix}.qweight": ("I32", pack_along_columns(q, 4, AWQ_ORDER)),
        f"{prefix}.qzeros": ("I32", pack_along_columns(zeros, 4, AWQ_ORDER)),
        f"{prefix}.scales": ("F16", scales.astype(np.float16)),
    }
    return tensors, w.T


def ct_pack(rng, prefix, n, k, bits=4, strategy="group", group=128, sym=True, actorder=False):
    half = 1 << (bits - 1)
    groups = k // group if strategy == "group" else 1
    g_idx = act_order_g_idx(rng, k, group) if actorder else (np.arange(k) // (group if strategy == "group" else k))
    q = rng.integers(-half, half, size=(n, k))
    zp = np.zeros((n, groups), dtype=np.int64) if sym else rng.integers(-half, half, size=(n, groups))
    scales = random_scales(rng, (n, groups), "bfloat16")
    w = (q - zp[:, g_idx]) * scales[:, g_idx]
    tensors = {
        f"{prefix}.weight_packed": ("I32", pack_along_columns(q + half, bits)),
        f"{prefix}.weight_scale": float_tensor("bfloat16", scales),
        f"{prefix}.weight_shape": ("I64", np.array([n, k], dtype=np.int64)),
    }
    if not sym:  # packed along N: the transpose of a column packing
        tensors[f"{prefix}.weight_zero_point"] = ("I32", np.ascontiguousarray(pack_along_columns((zp + half).T, bits).T))
    if actorder:
        tensors[f"{prefix}.weight_g_idx"] = ("I32", g_idx.astype(np.int32))
    return tensors, w


def ct_scheme(fmt, weights, input_activations=None):
    return {"quant_method": "compressed-tensors", "format": fmt, "quantization_status": "compressed",
            "ignore": ["lm_head"],
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": weights,
                                          "input_activations": input_activations}}}


def int8_weights(rng, prefix, n, k, strategy):
    q = rng.integers(-127, 128, size=(n, k))
    scales = random_scales(rng, (n, 1) if strategy == "channel" else (1,), "float32", 0.002)
    w = q * scales.reshape(-1, 1) if strategy == "channel" else q * scales[0]
    return {f"{prefix}.weight": ("I8", q.astype(np.int8)),
            f"{prefix}.weight_scale": ("F32", scales.astype(np.float32))}, w


def fp8_weights(rng, prefix, n, k):
    codes = random_e4m3_codes(rng, (n, k))
    return codes, E4M3[codes]


def nvfp4_weights(rng, n, k):
    codes = rng.integers(0, 16, size=(n, k))
    scale_codes = rng.integers(0x20, 0x50, size=(n, k // 16)).astype(np.uint8)  # 2^-3 .. 2^3
    w = E2M1[codes] * np.repeat(E4M3[scale_codes], 16, axis=1)
    return pack_nibbles(codes), scale_codes, w


def mxfp8_weights(rng, n, k):
    codes = random_e4m3_codes(rng, (n, k))
    exponents = rng.integers(127 - 12, 127 - 7, size=(n, k // 32)).astype(np.uint8)
    w = E4M3[codes] * np.repeat(2.0 ** (exponents.astype(np.float64) - 127), 32, axis=1)
    return codes, exponents, w


def mxfp4_weights(rng, n, k):
    """e2m1 codes packed two a byte along K, e8m0 exponents per 32 (2^-6 .. 2^-2), and W."""
    codes = rng.integers(0, 16, size=(n, k))
    exponents = rng.integers(127 - 6, 127 - 1, size=(n, k // 32)).astype(np.uint8)
    w = E2M1[codes] * np.repeat(2.0 ** (exponents.astype(np.float64) - 127), 32, axis=1)
    return pack_nibbles(codes), exponents, w


def gpt_oss_experts(rng, prefix, experts, n, k):
    """gpt-oss's stacked expert weight `prefix` (e.g. model.layers.0.mlp.experts.down_proj):
    _blocks [E, N, K/32, 16], _scales [E, N, K/32], _bias [E, N] (bf16), and each expert's W and
    bias."""
    built = [mxfp4_weights(rng, n, k) for _ in range(experts)]
    bias = round_to("bfloat16", rng.normal(size=(experts, n)))
    tensors = {
        f"{prefix}_blocks": ("U8", np.stack([b[0].reshape(n, k // 32, 16) for b in built])),
        f"{prefix}_scales": ("U8", np.stack([b[1] for b in built])),
        f"{prefix}_bias": float_tensor("bfloat16", bias),
    }
    return tensors, [b[2] for b in built], bias


GPT_OSS_CONFIG = {"quant_method": "mxfp4",
                  "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                                             "model.embed_tokens", "lm_head"]}


def block_scales(rng, n, k, bn, bk):
    rows, cols = -(-n // bn), -(-k // bk)
    s = random_scales(rng, (rows, cols), "float32", 0.0005)
    return s, np.repeat(np.repeat(s, bn, axis=0), bk, axis=1)[:n, :k]
