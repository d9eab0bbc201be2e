"""Writes the seed corpus of safetensors_fuzzer: small valid files covering every dtype, scalar
and empty tensors, metadata and a sharded-style layer, plus near-misses of each check."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "checkpoint"))
import checkpoints as ck  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "corpus")
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


if __name__ == "__main__":
    main()
