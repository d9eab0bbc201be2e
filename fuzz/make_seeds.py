"""Writes the seed corpora: corpus/ for safetensors_fuzzer (small valid files covering every dtype,
scalar and empty tensors, metadata, plus near-misses of each check) and corpus_checkpoint/ for
checkpoint_fuzzer (one layer per converter path, prefixed by the index of its config there)."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "checkpoint"))
import checkpoints as ck  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "corpus")
OUT_CHECKPOINT = os.path.join(os.path.dirname(__file__), "corpus_checkpoint")
DTYPES = {"BOOL": np.uint8, "U8": np.uint8, "I8": np.int8, "F8_E5M2": np.uint8, "F8_E4M3": np.uint8,
          "F8_E8M0": np.uint8, "I16": np.int16, "U16": np.uint16, "F16": np.float16, "BF16": np.uint16,
          "I32": np.int32, "U32": np.uint32, "F32": np.float32, "F64": np.float64, "I64": np.int64, "U64": np.uint64}


def raw(name, header, data=b""):
    text = json.dumps(header).encode()
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    ck.write_safetensors(os.path.join(OUT, "every_dtype.safetensors"),
                         {f"t.{d}": (d, np.arange(6, dtype=t).reshape(2, 3)) for d, t in DTYPES.items()},
                         {"format": "pt"})
    ck.write_safetensors(os.path.join(OUT, "scalar_and_empty.safetensors"),
                         {"s": ("F32", np.array(1.5, dtype=np.float32)), "e": ("I32", np.zeros((0, 4), dtype=np.int32))})
    tensors, _ = ck.gptq(rng, "model.layers.0.mlp.down_proj", 16, 128, group=64)
    ck.write_safetensors(os.path.join(OUT, "gptq_layer.safetensors"), tensors)
    tensors, _ = ck.ct_pack(rng, "model.layers.0.self_attn.q_proj", 16, 64, group=32, sym=False)
    ck.write_safetensors(os.path.join(OUT, "ct_layer.safetensors"), tensors)
    raw("overlap.safetensors", {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                                "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, bytes(6))
    raw("size_mismatch.safetensors", {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, bytes(16))
    raw("past_end.safetensors", {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8))
    raw("unknown_dtype.safetensors", {"a": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}}, bytes(1))
    raw("huge_shape.safetensors", {"a": {"dtype": "F64", "shape": [2**40, 2**40], "data_offsets": [0, 0]}})
    with open(os.path.join(OUT, "truncated_header.safetensors"), "wb") as f:
        f.write((1000).to_bytes(8, "little") + b'{"a": {"dtype"')


def checkpoint_seeds():
    """One layer per entry of checkpoint_fuzzer.cpp's kConfigs, in that order."""
    os.makedirs(OUT_CHECKPOINT, exist_ok=True)
    rng = np.random.default_rng(0)
    p = "model.layers.0.mlp.down_proj"
    f32 = lambda v: ("F32", np.array(v, dtype=np.float32))  # noqa: E731
    int8, _ = ck.int8_weights(rng, p, 16, 64, "channel")
    int8.update({p + ".input_scale": f32([0.1]), p + ".input_zero_point": ("I8", np.array([3], dtype=np.int8))})
    codes, _ = ck.fp8_weights(rng, p, 48, 64)
    blocks, _ = ck.block_scales(rng, 48, 64, 32, 32)
    packed, fp4_scales, _ = ck.nvfp4_weights(rng, 16, 64)
    mx_codes, exponents, _ = ck.mxfp8_weights(rng, 16, 64)
    layers = {
        "gptq": ck.gptq(rng, p, 16, 128, group=64, sym=False, desc_act=True)[0],
        "gptq8": ck.gptq(rng, p, 16, 64, bits=8, group=-1)[0],
        "awq": ck.awq(rng, p, 16, 128, group=64)[0],
        "ctpack": ck.ct_pack(rng, p, 16, 64, group=32, sym=False, actorder=True)[0],
        "ctint8": int8,
        "ctblock": {p + ".weight": ("F8_E4M3", codes), p + ".weight_scale": f32(blocks)},
        "ctnvfp4": {p + ".weight_packed": ("U8", packed), p + ".weight_scale": ("F8_E4M3", fp4_scales),
                    p + ".weight_global_scale": f32([100.0]), p + ".input_global_scale": f32([100.0])},
        "ctmxfp8": {p + ".weight": ("F8_E4M3", mx_codes), p + ".weight_scale": ("U8", exponents)},
        "dsblock": {p + ".weight": ("F8_E4M3", codes), p + ".weight_scale_inv": f32(blocks)},
        "fp8t": {p + ".weight": ("F8_E4M3", codes), p + ".weight_scale": f32(0.1), p + ".input_scale": f32(0.1)},
        "monvfp4": {p + ".weight": ("U8", packed), p + ".weight_scale": ("F8_E4M3", fp4_scales),
                    p + ".weight_scale_2": f32(0.01), p + ".input_scale": f32(0.01)},
        "mofp8": {p + ".weight": ("F8_E4M3", codes), p + ".weight_scale": f32(0.1), p + ".input_scale": f32(0.1),
                  p + ".bias": ("BF16", np.zeros(48, dtype=np.uint16))},
        "momxfp8": {p + ".weight": ("F8_E4M3", mx_codes), p + ".weight_scale": ("U8", exponents)},
    }
    scratch = os.path.join(OUT_CHECKPOINT, "scratch.safetensors")
    for index, (name, tensors) in enumerate(layers.items()):
        ck.write_safetensors(scratch, tensors)
        with open(scratch, "rb") as f, open(os.path.join(OUT_CHECKPOINT, name), "wb") as out:
            out.write(bytes([index]) + f.read())
    os.remove(scratch)


if __name__ == "__main__":
    main()
    checkpoint_seeds()
