"""Shared fixtures: fresh random data every run (the seed is printed with a failure), and the
checkpoint builders of tests/checkpoint, which write every format the way its quantizer does."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "checkpoint"))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (CTest label gpu)")


@pytest.fixture
def seed(request):
    value = int(np.random.SeedSequence().entropy % 2**32)
    request.node.user_properties.append(("seed", value))
    print(f"seed {value}")
    return value


@pytest.fixture
def rng(seed):
    return np.random.default_rng(seed)
