"""`medcolor export RUN -o X.safetensors --meta ...`: how shipped models are produced."""
from __future__ import annotations

import json

import torch

from medcolor.cli import main
from medcolor.weights import load_model


def test_export_safetensors_with_meta(tmp_path, tiny_model_path, capsys):
    out = tmp_path / "ship" / "photo.safetensors"
    assert main(["export", str(tiny_model_path), "-o", str(out), "--meta", "working_size=128",
                 "description=unit test", "cmd=stage 1: a=b; stage 2: c=[1,2]"]) == 0
    cfg = json.loads(out.with_suffix(".json").read_text())
    assert cfg["meta"]["working_size"] == 128 and cfg["meta"]["description"] == "unit test"
    assert cfg["meta"]["cmd"] == "stage 1: a=b; stage 2: c=[1,2]"  # not YAML: kept as text
    a, b = load_model(tiny_model_path), load_model(out)
    x = torch.rand(1, 1, 40, 40) * 100
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    # no overwrite without --overwrite; architecture names have no trained weights
    assert main(["export", str(tiny_model_path), "-o", str(out)]) == 2
    assert main(["export", "fastcolor", "-o", str(tmp_path / "r.safetensors")]) == 2
    assert main(["export", str(tiny_model_path), "-o", str(out), "--meta", "oops"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "needs trained weights" in err and "KEY=VALUE" in err
