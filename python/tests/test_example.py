"""examples/mlp_block.py runs (small sizes) and qlinear agrees with PyTorch on the dequantized
weights to bf16's roundings."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "mlp_block.py")


@pytest.mark.parametrize("family", ["nvfp4_weight_only"])
def test_mlp_block_example_runs(family):
    result = subprocess.run([sys.executable, EXAMPLE, "--family", family, "--hidden", "256",
                             "--intermediate", "512", "--tokens", "3", "--reps", "2"],
                            capture_output=True, text=True, env=os.environ)
    assert result.returncode == 0, result.stderr
    difference = float(re.search(r"relative difference .* = (\S+)", result.stdout).group(1))
    assert difference < 2e-2, result.stdout
