"""env, kernels, select, LayerConfig / default_config, encode / decode and qlinear.Tensor."""
import numpy as np
import pytest

import qlinear


def test_env_reports_the_cpu_and_the_cuda_build():
    env = qlinear.env()
    assert env["version"]
    assert env["cpu"]["isa"] in ("scalar", "avx2", "avx512", "avx512_vnni", "amx")
    assert env["cpu"]["target"].startswith("cpu:")
    assert isinstance(env["cuda_built"], bool)
    assert isinstance(env["gpus"], list)


def test_kernels_lists_every_family_with_where_it_runs():
    rows = qlinear.kernels()
    names = {row["name"]: row for row in rows}
    assert {f"reference_{family}" for family in qlinear.families()} <= set(names)
    reference = names["reference_fp8_block"]
    assert reference["runs_on"] == ["cpu"] and reference["why_not"] == ""
    assert all(row["family"] == "nvfp4" for row in qlinear.kernels("nvfp4"))
    for row in rows:
        assert bool(row["runs_on"]) != bool(row["why_not"]), row


def test_kernels_refuses_an_unknown_family():
    with pytest.raises(ValueError, match="family 'w3a3': unknown; known: mixed_precision"):
        qlinear.kernels("w3a3")


def test_select_gives_the_kernel_and_why_the_others_were_passed_over():
    config = qlinear.default_config("int8_scaled_mm", 4096, 4096)
    choice = qlinear.select(config, target="cpu:avx2")
    assert choice.platform == "cpu:avx2"
    assert choice.kernel not in choice.passed_over
    assert all(reason for reason in choice.passed_over.values())
    assert choice.kernel in str(choice)
    # Passing over the chosen kernel moves the choice down the list and says so.
    again = qlinear.select(config, target="cpu:avx2", disabled=[choice.kernel])
    assert again.kernel != choice.kernel
    assert "disabled" in again.passed_over[choice.kernel]


def test_select_errors_carry_qlinears_message():
    config = qlinear.default_config("mixed_precision", 4096, 4096)
    with pytest.raises(ValueError, match="no_such_kernel"):
        qlinear.select(config, target="cpu", kernel="no_such_kernel")
    with pytest.raises(ValueError, match="unknown CPU ISA .avx3."):
        qlinear.select(config, target="cpu:avx3")


def test_default_config_takes_any_field_and_validates():
    config = qlinear.default_config("mixed_precision", 4096, 11008, weight_type="uint8b128",
                                    weight_scale="per_channel", act_type="fp16")
    assert (config.weight_type, config.weight_scale, config.group_size) == ("uint8b128", "per_channel", 0)
    assert config.weight_scale_shape == (4096, 1)
    assert config == config.copy()
    assert "uint8b128" in repr(config)
    fp8 = qlinear.default_config("fp8_scaled_mm", 64, 64, act_scale="per_tensor", act_scale_static=True)
    assert fp8.act_quant == "float8_e4m3fn" and fp8.act_scale_static


def test_config_errors_name_the_field_and_what_is_accepted():
    with pytest.raises(ValueError, match=r"group_size is 128; it must divide the partition K \(100\)"):
        qlinear.default_config("mixed_precision", 64, 100)
    with pytest.raises(ValueError, match="weight_type is float8_e4m3fn; mixed_precision accepts int8, uint8, uint4b8"):
        qlinear.default_config("mixed_precision", 64, 128, weight_type="float8_e4m3fn")
    with pytest.raises(ValueError, match="unknown scalar type"):
        qlinear.default_config("mixed_precision", 64, 128, weight_type="int3")
    with pytest.raises(TypeError, match="no field 'groupsize'"):
        qlinear.default_config("mixed_precision", 64, 128, groupsize=64)
    with pytest.raises(TypeError):
        qlinear.default_config("mixed_precision", 64, 128, n="sixty-four")


def test_encode_rounds_to_nearest_even_with_each_formats_overflow():
    bf16 = qlinear.encode(np.array([1 + 2**-8, 1 + 3 * 2**-8, 1e39]), "bf16")
    assert bf16.dtype == "bf16" and bf16.numpy().dtype == np.uint16
    assert list(qlinear.decode(bf16)) == [1.0, 1 + 2**-6, np.inf]
    e4m3 = qlinear.encode(np.array([[1000.0, -0.001]]), "float8_e4m3fn")
    assert list(qlinear.decode(e4m3)[0]) == [448.0, -2.0**-9]  # saturates; 0.001 is 0.51 of 2^-9
    packed = qlinear.encode(np.array([[1.0, -8.0, 7.0, 0.5]]), "uint4b8")
    assert packed.shape == (1, 4) and packed.numpy().shape == (1, 2)
    assert list(packed.numpy()[0]) == [0x09 | 0x00 << 4, 0x0F | 0x08 << 4]
    assert list(qlinear.decode(packed.numpy(), "uint4b8")[0]) == [1.0, -8.0, 7.0, 0.0]


def test_encode_refuses_what_a_type_cannot_hold():
    with pytest.raises(ValueError, match="even"):
        qlinear.encode(np.zeros((2, 3)), "float4_e2m1f")
    with pytest.raises(ValueError, match="NaN"):
        qlinear.encode(np.array([np.nan]), "int8")


def test_tensor_shares_its_memory_with_numpy_and_dlpack():
    t = qlinear.encode(np.arange(6.0).reshape(2, 3), "fp32")
    assert (t.dtype, t.shape, t.device) == ("fp32", (2, 3), "cpu")
    t.numpy()[1, 2] = 42.0
    assert qlinear.decode(t)[1, 2] == 42.0
    assert np.from_dlpack(t)[1, 2] == 42.0  # numpy marks what DLPack gives it read-only
    empty = qlinear.Tensor.empty("fp16", [4, 8])
    assert empty.numpy().dtype == np.float16 and empty.numpy().shape == (4, 8)
