"""qlinear.Checkpoint and qlinear.load_layer on checkpoints written the way each quantizer lays
them out (tests/checkpoint builds them with numpy and knows their exact ŵ)."""
import numpy as np
import pytest

import qlinear
from test_formats import PREFIX, check, make_checkpoint

FORMATS = ["gptq_v1_4bit_act_order", "awq_4bit", "ct_int8_channel_dynamic_token", "ct_fp8_block",
           "modelopt_nvfp4", "ct_mxfp8", "ct_mxfp4_w4a4"]
ACT_TYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


def rounded_input(rng, make_x, torch_dtype, k, rows=3):
    """x as the checkpoint's activation type (a qlinear.Tensor) and its values as float64."""
    x = qlinear.encode(make_x(rng, (rows, k)), ACT_TYPES[torch_dtype])
    return x, qlinear.decode(x)


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_layer_runs_every_format_like_its_quantizer_meant(tmp_path, fmt, seed, rng):
    model = str(tmp_path / "model")
    w, bias, torch_dtype, make_x = make_checkpoint(model, fmt, 264, 384, seed)
    layer = qlinear.load_layer(model, PREFIX)
    assert layer.name == PREFIX and layer.format and layer.config.n == 264
    x, x_values = rounded_input(rng, make_x, torch_dtype, 384)
    check(qlinear.decode(layer.forward(x)), x_values, w, bias, torch_dtype)


def test_checkpoint_lists_and_inspects_its_layers(tmp_path, seed):
    model = str(tmp_path / "model")
    make_checkpoint(model, "ct_fp8_block", 200, 256, seed)
    ckpt = qlinear.Checkpoint(model)
    assert ckpt.layers() == [PREFIX]
    assert (ckpt.quant_method, ckpt.activation_type, ckpt.file_count) == ("compressed-tensors", "bf16", 1)
    (row,) = ckpt.inspect(target="cpu")
    assert row["name"] == PREFIX and "error" not in row
    assert row["config"].family == "fp8_block"
    assert row["kernel"] == qlinear.select(row["config"], "cpu").kernel
    assert ckpt.load(PREFIX).kernel == row["kernel"]


@pytest.mark.parametrize("split", ["columns", "rows"])
def test_tensor_parallel_shards_recombine(tmp_path, split, seed, rng):
    model = str(tmp_path / "model")
    w, bias, torch_dtype, make_x = make_checkpoint(model, "ct_w4a16_group", 256, 512, seed)
    x, x_values = rounded_input(rng, make_x, torch_dtype, 512)
    shards = [qlinear.load_layer(model, PREFIX, tp_rank=r, tp_size=2, tp_split=split) for r in range(2)]
    if split == "columns":
        y = np.concatenate([qlinear.decode(s.forward(x)) for s in shards], axis=1)
    else:  # each rank takes its half of x; the partial outputs sum (bias on rank 0)
        halves = [qlinear.encode(x_values[:, r * 256:(r + 1) * 256], "bf16") for r in range(2)]
        y = sum(qlinear.decode(s.forward(h)) for s, h in zip(shards, halves))
    assert [s.config.part_n for s in shards] == ([128, 128] if split == "columns" else [256, 256])
    check(y, x_values, w, bias, torch_dtype)


def test_checkpoint_errors_are_value_errors(tmp_path, seed):
    with pytest.raises(ValueError, match="no_such_folder"):
        qlinear.Checkpoint(str(tmp_path / "no_such_folder"))
    model = str(tmp_path / "model")
    make_checkpoint(model, "ct_w4a16_group", 256, 512, seed)
    with pytest.raises(ValueError, match="model.layers.9.mlp.up_proj"):
        qlinear.load_layer(model, "model.layers.9.mlp.up_proj")
    with pytest.raises(ValueError, match="tp_split 'diagonal'"):
        qlinear.load_layer(model, PREFIX, tp_size=2, tp_split="diagonal")
    with pytest.raises(ValueError, match="group"):  # 512 / 8 = 64 cuts a group of 128
        qlinear.load_layer(model, PREFIX, tp_rank=0, tp_size=8, tp_split="rows")
