"""Shared fixtures: a tiny random-init model on disk, so tests never depend on shipped weights."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

# Two cores on CI: one thread per test process keeps the suite predictable.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A random-init fastcolor saved as safetensors + JSON; its chroma is non-trivial."""
    from medcolor.models import create_model
    from medcolor.weights import save_model

    torch.manual_seed(0)
    net = create_model("fastcolor", widths=[8, 8, 8, 8, 8])
    with torch.no_grad():  # large output so gamut fitting is exercised
        net.head.weight.mul_(50.0)
        net.head.bias.fill_(0.3)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(net.eval(), path, meta={"description": "random init for tests"})
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)
