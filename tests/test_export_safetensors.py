"""`medcolor export RUN -o X.safetensors`: how shipped models are produced from training runs."""
from __future__ import annotations

import json

import torch

from medcolor.cli import main
from medcolor.weights import load_model


def test_export_safetensors_carries_weights_and_card_unchanged(tmp_path, tiny_model_path, capsys):
    out = tmp_path / "ship" / "photo.safetensors"
    assert main(["export", str(tiny_model_path), "-o", str(out)]) == 0
    src = json.loads(tiny_model_path.with_suffix(".json").read_text())
    assert json.loads(out.with_suffix(".json").read_text()) == src
    a, b = load_model(tiny_model_path), load_model(out)
    assert a.medcolor_card == b.medcolor_card
    x = torch.rand(1, 1, 40, 40) * 100
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    # no overwrite without --overwrite; architecture names have no trained weights
    assert main(["export", str(tiny_model_path), "-o", str(out)]) == 2
    assert main(["export", "fastcolor", "-o", str(tmp_path / "r.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "needs trained weights" in err
