"""Writes the seed corpora: corpus/ for safetensors_fuzzer (small valid files covering every dtype,
scalar and empty tensors, metadata, plus near-misses of each check), corpus_checkpoint/ for
checkpoint_fuzzer (one layer per converter path, prefixed by the index of its config there),
corpus_npy/ for npy_fuzzer and corpus_config/ for config_fuzzer (a config per format, prefixed by
the digit of the file it becomes)."""
import io
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "checkpoint"))
import checkpoints as ck  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "corpus")
OUT_CHECKPOINT = os.path.join(os.path.dirname(__file__), "corpus_checkpoint")
OUT_NPY = os.path.join(os.path.dirname(__file__), "corpus_npy")
OUT_CONFIG = os.path.join(os.path.dirname(__file__), "corpus_config")
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


def npy_seeds():
    os.makedirs(OUT_NPY, exist_ok=True)
    arrays = {"f32_2x256.npy": np.ones((2, 256), np.float32), "f16_3d.npy": np.arange(24, dtype=np.float16).reshape(2, 3, 4),
              "u16_vector.npy": np.arange(5, dtype=np.uint16), "scalar.npy": np.float32(1.5),
              "empty.npy": np.zeros((0, 4), np.float32), "fortran.npy": np.asfortranarray(np.ones((2, 3), np.float32))}
    for name, array in arrays.items():
        np.save(os.path.join(OUT_NPY, name), array)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ones((2, 2), np.float32), version=(2, 0))
    with open(os.path.join(OUT_NPY, "v2.npy"), "wb") as f:
        f.write(buffer.getvalue())


def config_seeds():
    """The layers of config_fuzzer.cpp's model.safetensors: gptq, awq, ct, fp8, fp4, mxct, mx."""
    os.makedirs(OUT_CONFIG, exist_ok=True)
    ct = lambda fmt, weights, act=None: {"quantization_config": {  # noqa: E731
        "quant_method": "compressed-tensors", "format": fmt, "ignore": ["lm_head", "re:.*gate$"],
        "config_groups": {"g": {"targets": ["Linear"], "weights": weights, **({"input_activations": act} if act else {})}}}}
    seeds = {
        "gptq": ("0", {"torch_dtype": "float16", "quantization_config": {
            "quant_method": "gptq", "bits": 4, "group_size": 64, "desc_act": True, "sym": False}}),
        "gptq_v2_channel": ("0", {"quantization_config": {"quant_method": "gptq", "bits": 8, "group_size": -1,
                                                          "checkpoint_format": "gptq_v2"}}),
        "awq": ("0", {"torch_dtype": "bfloat16", "quantization_config": {
            "quant_method": "awq", "bits": 4, "group_size": 64, "zero_point": True, "version": "gemm"}}),
        "ct_pack": ("0", ct("pack-quantized", {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "channel"})),
        "ct_fp8": ("0", ct("float-quantized", {"num_bits": 8, "type": "float", "strategy": "tensor"},
                           {"num_bits": 8, "type": "float", "strategy": "token", "dynamic": True})),
        "ct_nvfp4": ("0", ct("nvfp4-pack-quantized", {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16},
                             {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16, "dynamic": "local"})),
        "ct_mxfp4": ("0", ct("mxfp4-pack-quantized", {"num_bits": 4, "type": "float", "strategy": "group", "group_size": 32})),
        "gpt_oss": ("0", {"quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": [
            "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head", "fp8"]}}),
        "fp8_block": ("0", {"quantization_config": {"quant_method": "fp8", "activation_scheme": "dynamic",
                                                    "weight_block_size": [16, 64]}}),
        "fp8_static": ("0", {"quantization_config": {"quant_method": "fp8", "activation_scheme": "static"}}),
        "modelopt_in_config": ("0", {"quantization_config": {"quant_method": "modelopt", "quantization": {
            "quant_algo": "FP8", "exclude_modules": ["lm_head", "*gptq*"]}}}),
        "hf_nvfp4": ("1", {"quantization": {"quant_algo": "NVFP4", "group_size": 16, "exclude_modules": ["*a?q*"]}}),
        "hf_fp8": ("1", {"quantization": {"quant_algo": "FP8"}}),
        "hf_fp8_channel": ("1", {"quantization": {"quant_algo": "FP8_PER_CHANNEL_PER_TOKEN"}}),
        "quantize_config": ("2", {"bits": 4, "group_size": 64, "desc_act": False, "sym": True}),
        "quant_config": ("3", {"w_bit": 4, "q_group_size": 64, "zero_point": True, "version": "GEMM"}),
        "index": ("4", {"metadata": {"total_size": 1},
                        "weight_map": {"gptq.qweight": "model.safetensors", "fp8.weight": "model.safetensors"}}),
    }
    for name, (file_digit, config) in seeds.items():
        with open(os.path.join(OUT_CONFIG, name), "w") as f:
            f.write(file_digit + json.dumps(config))


if __name__ == "__main__":
    main()
    checkpoint_seeds()
    npy_seeds()
    config_seeds()
