"""`qlinear run` and `qlinear inspect` on hostile and unlucky inputs: each exits 1 with one message
on stderr (never by a signal, never hanging: every call has a timeout), and leaves every existing
file byte for byte as it was. QLINEAR_BIN names the tool (CTest sets it)."""
import json
import os
import resource
import signal
import subprocess

import numpy as np
import pytest

import checkpoints as ck
import test_formats

QLINEAR = os.environ.get("QLINEAR_BIN", "qlinear")
PREFIX = "model.layers.0.mlp.down_proj"
N, K = 64, 256


def tool(*args, timeout=60, **options):
    return subprocess.run([QLINEAR, *map(str, args)], capture_output=True, text=True, timeout=timeout, **options)


def refused(result, *needles):
    # Exit code 1 and one line; a negative code would be a signal, 134 an uncaught exception.
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qlinear: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def gptq_model(directory, config=None, prefix=PREFIX):
    tensors, _ = ck.gptq(np.random.default_rng(0), prefix, N, K)
    ck.write_checkpoint(directory, tensors, {"quantization_config": config or ck.gptq_config()})
    return str(directory)


@pytest.fixture
def model(tmp_path):
    return gptq_model(tmp_path / "model")


@pytest.fixture
def x(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((2, K), dtype=np.float32))
    return path


def run(model, x, output, layer=PREFIX, *extra, timeout=60):
    return tool("run", "--model", model, "--layer", layer, "--input", x, "--output", output, "--device", "cpu", *extra,
                timeout=timeout)


def snapshot(folder):
    return {name: open(os.path.join(folder, name), "rb").read()
            for name in sorted(os.listdir(folder)) if os.path.isfile(os.path.join(folder, name))}


# ---- 2. filesystem oddities where a file is expected ------------------------------------------

def make_oddity(path, kind):
    if os.path.lexists(path):
        os.remove(path)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "endless":
        os.symlink("/dev/zero", path)
    elif kind == "link loop":
        os.symlink(path, path)
    elif kind == "dangling link":
        os.symlink(str(path) + ".missing", path)


ODDITIES = {"fifo": "is a FIFO", "directory": "is a directory", "endless": "is a device",
            "link loop": "Too many levels of symbolic links", "dangling link": "No such file"}


@pytest.mark.parametrize("file", ["config.json", "model.safetensors"])
@pytest.mark.parametrize("kind", list(ODDITIES))
def test_checkpoint_file_that_is_not_a_regular_file(model, file, kind):
    make_oddity(os.path.join(model, file), kind)
    refused(tool("inspect", "--model", model, timeout=20), file, ODDITIES[kind])


@pytest.mark.parametrize("kind", list(ODDITIES))
def test_input_that_is_not_a_regular_file(tmp_path, model, kind):
    make_oddity(tmp_path / "x.npy", kind)
    refused(run(model, tmp_path / "x.npy", tmp_path / "y.npy"), "x.npy", ODDITIES[kind])


def test_names_too_long(tmp_path, model, x):
    long = "n" * 5000
    refused(tool("inspect", "--model", tmp_path / long), "not a checkpoint folder (File name too long)")
    refused(run(model, tmp_path / long, tmp_path / "y.npy"), "File name too long")
    refused(run(model, x, tmp_path / long), "File name too long")


# ---- 1. no exception of another type escapes ----------------------------------------------------

def test_config_of_an_unexpected_json_type(tmp_path):
    """quantization_config.quantization = 5 reached nlohmann's value() on a number (type_error)."""
    tensors = {f"{PREFIX}.weight": ("F8_E4M3", np.zeros((N, K), dtype=np.uint8)),
               f"{PREFIX}.weight_scale": ("F32", np.ones((), dtype=np.float32))}
    model = str(tmp_path / "m")
    ck.write_checkpoint(model, tensors, {"quantization_config": {"quant_method": "modelopt", "quantization": 5}})
    r = tool("inspect", "--model", model)
    assert r.returncode == 1 and "terminate" not in r.stderr, r.stderr


# ---- 3. nesting depth and pattern complexity ---------------------------------------------------

def test_deeply_nested_config(tmp_path, model, x):
    depth = 200000
    with open(os.path.join(model, "config.json"), "w") as f:
        f.write('{"quantization_config": ' + "[" * depth + "]" * depth + "}")
    refused(run(model, x, tmp_path / "y.npy"), "config.json: JSON nests deeper than 64 levels")


def test_duplicate_keys_in_a_config(tmp_path, model, x):
    with open(os.path.join(model, "config.json"), "w") as f:
        f.write('{"quantization_config": {"quant_method": "gptq", "bits": 4, "bits": 8}}')
    refused(run(model, x, tmp_path / "y.npy"), 'key "bits" appears twice in one object')


LONG_PREFIX = "model." + "a" * 60000 + ".down_proj"


def ct_model(directory, ignore, prefix):
    tensors, _ = ck.ct_pack(np.random.default_rng(0), prefix, N, K)
    group = {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "symmetric": True,
                                                "strategy": "group", "group_size": 128}}
    config = {"quant_method": "compressed-tensors", "format": "pack-quantized",
              "config_groups": {"group_0": group}, "ignore": ignore}
    ck.write_checkpoint(directory, tensors, {"quantization_config": config})
    return str(directory)


@pytest.mark.parametrize("pattern", ["re:(a*)*b", "re:(.*.*.*.*.*.*.*.*)*x", "re:.*lm_head"])
def test_regular_expressions_run_in_bounded_time(tmp_path, x, pattern):
    """std::regex took exponential time on the first two and overflowed its recursion on a long
    module name with the third."""
    model = ct_model(tmp_path / "m", [pattern], LONG_PREFIX)
    r = run(model, x, tmp_path / "y.npy", LONG_PREFIX, timeout=30)
    assert r.returncode == 0, r.stderr


def test_globs_run_in_bounded_time(tmp_path, x):
    prefix = "a" * 200
    tensors = {f"{prefix}.weight": ("F8_E4M3", np.zeros((N, K), dtype=np.uint8)),
               f"{prefix}.weight_scale": ("F32", np.ones((), dtype=np.float32)),
               f"{prefix}.input_scale": ("F32", np.ones((), dtype=np.float32))}
    model = str(tmp_path / "m")
    ck.write_checkpoint(model, tensors, None, {"quantization": {"quant_algo": "FP8",
                                                                "exclude_modules": ["*a" * 30 + "*b"]}})
    r = run(model, x, tmp_path / "y.npy", prefix, timeout=30)
    assert r.returncode == 0, r.stderr


def test_overlong_glob_is_refused(tmp_path, x):
    """A glob's match takes (pattern length) x (name length) steps: the pattern is bounded."""
    tensors = {f"{PREFIX}.weight": ("F8_E4M3", np.zeros((N, K), dtype=np.uint8)),
               f"{PREFIX}.weight_scale": ("F32", np.ones((), dtype=np.float32))}
    model = str(tmp_path / "m")
    ck.write_checkpoint(model, tensors, None, {"quantization": {"quant_algo": "FP8", "exclude_modules": ["*" * 5000]}})
    refused(run(model, x, tmp_path / "y.npy"), "exclude_modules: a pattern of 5000 characters; at most 4096")


def test_unsupported_regular_expression_is_named(tmp_path, x):
    model = ct_model(tmp_path / "m", ["re:(?<=a)b"], PREFIX)
    refused(run(model, x, tmp_path / "y.npy"), "regular expression '(?<=a)b'", "lookaround")


@pytest.mark.parametrize("value,needle", [
    ("lm_head", "modules_to_not_convert is a JSON string; expected a list of module-name patterns"),
    ({"a": 1}, "modules_to_not_convert is a JSON object; expected a list"),
    (["lm_head", 7], "modules_to_not_convert[1] is a JSON number; expected a module-name pattern"),
    ([["lm_head"]], "modules_to_not_convert[0] is a JSON array; expected a module-name pattern"),
    ([""], "modules_to_not_convert[0] is empty"),
    (["x"] * 5000, "modules_to_not_convert lists 5000 patterns; at most 4096"),
    (["a" * 5000], "modules_to_not_convert[0]: a pattern of 5000 characters; at most 4096"),
    (["(?<=a)b"], "modules_to_not_convert[0]"),
])
def test_malformed_modules_to_not_convert_is_named(tmp_path, value, needle):
    """gpt-oss's modules_to_not_convert must be a bounded list of bounded, readable patterns."""
    packed, exponents, _ = ck.mxfp4_weights(np.random.default_rng(0), N, K)
    tensors = {f"{PREFIX}_blocks": ("U8", packed.reshape(N, K // 32, 16)), f"{PREFIX}_scales": ("U8", exponents)}
    model = str(tmp_path / "m")
    ck.write_checkpoint(model, tensors, {"quantization_config": {"quant_method": "mxfp4",
                                                                 "modules_to_not_convert": value}})
    refused(tool("inspect", "--model", model, "--device", "cpu"), "config.json: quantization_config.", needle)


@pytest.mark.parametrize("pattern", ["(a*)*b", "(.*.*.*.*.*.*.*.*)*x"])
def test_modules_to_not_convert_runs_in_bounded_time(tmp_path, x, pattern):
    """Patterns that backtracking engines take exponential time on, against a long layer name."""
    prefix = "a" * 3000
    packed, exponents, _ = ck.mxfp4_weights(np.random.default_rng(0), N, K)
    tensors = {f"{prefix}_blocks": ("U8", packed.reshape(N, K // 32, 16)), f"{prefix}_scales": ("U8", exponents)}
    model = str(tmp_path / "m")
    ck.write_checkpoint(model, tensors, {"quantization_config": {"quant_method": "mxfp4",
                                                                 "modules_to_not_convert": [pattern]}})
    r = run(model, x, tmp_path / "y.npy", prefix, timeout=30)
    assert r.returncode == 0, r.stderr


# ---- 4. integers out of a field's range ------------------------------------------------------------

@pytest.mark.parametrize("field,value", [("bits", 2**32 + 4), ("bits", 2**64 - 4), ("group_size", 2**63 + 128),
                                         ("group_size", -2**63)])
def test_config_integers_out_of_range_are_refused(tmp_path, x, field, value):
    """bits = 2^32 + 4 was truncated to 4 and accepted."""
    config = ck.gptq_config()
    config[field] = value
    model = gptq_model(tmp_path / "m", config)
    refused(run(model, x, tmp_path / "y.npy"), f"{field} is {value}; expected an integer from")


def test_block_size_out_of_range_is_refused(tmp_path, x):
    tensors = {f"{PREFIX}.weight": ("F8_E4M3", np.zeros((N, K), dtype=np.uint8)),
               f"{PREFIX}.weight_scale_inv": ("F32", np.ones((1, 2), dtype=np.float32))}
    model = str(tmp_path / "m")
    ck.write_checkpoint(model, tensors, {"quantization_config": {
        "quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [2**64 - 64, 128]}})
    refused(run(model, x, tmp_path / "y.npy"), f"weight_block_size entry is {2**64 - 64}")


@pytest.mark.parametrize("flags,needle", [(["--tp-size", "0"], "--tp-size"), (["--tp-size", "-2"], "--tp-size"),
                                          (["--tp-size", "100000"], "--tp-size"),
                                          (["--tp-rank", "-1"], "--tp-rank"),
                                          (["--tp-size", "2", "--tp-rank", "2"], "rank 2"),
                                          (["--tp-size", "3"], "not a multiple of 3")])
def test_tensor_parallel_ranks_out_of_range(tmp_path, model, x, flags, needle):
    r = run(model, x, tmp_path / "y.npy", PREFIX, *flags)
    assert r.returncode in (1, 105, 106) and needle in r.stderr, (r.returncode, r.stderr)
    assert not os.path.exists(tmp_path / "y.npy")


def npy_with_header(path, header):
    header = header + " " * (-(10 + len(header) + 1) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64)


def test_npy_shape_whose_product_overflows(tmp_path, model):
    """(2^31, 2^31, 2^31, 8) elements wrap int64 to 0 x 4 bytes; the reader trusted the wrapped size."""
    npy_with_header(tmp_path / "x.npy", "{'descr': '<f4', 'fortran_order': False, "
                                        "'shape': (2147483648, 2147483648, 2147483648, 8), }")
    refused(run(model, tmp_path / "x.npy", tmp_path / "y.npy"), "more elements than a file can hold")


# ---- 6. output -------------------------------------------------------------------------------------

def test_output_that_is_the_input_or_a_checkpoint_file_is_refused(tmp_path, model, x):
    before = snapshot(model), open(x, "rb").read()
    os.symlink(os.path.join(model, "config.json"), tmp_path / "link.npy")
    for output in [x, os.path.join(model, "model.safetensors"), os.path.join(model, "config.json"),
                   tmp_path / "link.npy", os.path.join(model, ".", "model.safetensors")]:
        refused(run(model, x, output), f"--output {output} is ", "which this run reads")
    assert (snapshot(model), open(x, "rb").read()) == before


def test_failed_write_leaves_the_old_output(tmp_path, model, x):
    out = tmp_path / "out"
    out.mkdir()
    y = out / "y.npy"
    y.write_bytes(b"old output")

    def limit_file_size():  # the write fails with EFBIG (SIGXFSZ ignored), as a full disk would
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    r = subprocess.run([QLINEAR, "run", "--model", model, "--layer", PREFIX, "--input", x, "--output", y,
                        "--device", "cpu"], capture_output=True, text=True, timeout=60, preexec_fn=limit_file_size)
    refused(r, f"{y}: write failed (File too large); the file is left as it was")
    assert y.read_bytes() == b"old output" and os.listdir(out) == ["y.npy"]
    refused(run(model, x, tmp_path / "missing" / "y.npy"), "cannot create a temporary file in")
    refused(run(model, x, out), "is a directory; expected a regular file")
    if os.geteuid() != 0:  # root writes anywhere
        out.chmod(0o555)
        refused(run(model, x, y), "Permission denied")
        out.chmod(0o755)
        assert y.read_bytes() == b"old output"


# ---- 7. NaN and infinity -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["gptq_v1_4bit_sym", "ct_int8_tensor_static", "ct_int8_channel_dynamic_token",
                                 "ct_w4a8", "modelopt_nvfp4", "deepseek_fp8_block"])
def test_non_finite_input_propagates_and_is_reported_once(tmp_path, fmt):
    """Every output of a token whose x holds NaN (infinity) is NaN (non-finite), as IEEE sums give;
    the int8, e4m3 and e2m1 activation quantizers saturate them to finite codes, which gave finite
    rows without a word."""
    model = str(tmp_path / "m")
    test_formats.make_checkpoint(model, fmt, N, K, seed=1)
    xs = np.ones((3, K), dtype=np.float32)
    xs[1, 5] = np.nan
    xs[2, 7] = np.inf
    np.save(tmp_path / "x.npy", xs)
    r = run(model, tmp_path / "x.npy", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("warning") == 1 and "128 of the 192 output values are NaN or infinite" in r.stderr, r.stderr
    y = np.load(tmp_path / "y.npy")
    assert np.all(np.isfinite(y[0])) and np.all(np.isnan(y[1])) and not np.any(np.isfinite(y[2]))


def test_non_finite_scale_propagates(tmp_path, x):
    tensors, _ = ck.gptq(np.random.default_rng(0), PREFIX, N, K)
    tensors[f"{PREFIX}.scales"][1][0, 3] = np.nan  # group 0 of output 3
    model = str(tmp_path / "m")
    ck.write_checkpoint(model, tensors, {"quantization_config": ck.gptq_config()})
    r = run(model, x, tmp_path / "y.npy")
    assert r.returncode == 0 and "2 of the 128 output values are NaN or infinite" in r.stderr, r.stderr
    y = np.load(tmp_path / "y.npy")
    assert np.all(np.isnan(y[:, 3])) and np.isfinite(np.delete(y, 3, axis=1)).all()
