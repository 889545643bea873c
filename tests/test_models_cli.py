"""``medcolor models``: architecture table (params, GFLOPs, paper) and shipped models."""
from __future__ import annotations

import json

import torch

import medcolor.weights
from medcolor.cli import main
from medcolor.models import create_model
from medcolor.models.summary import count_flops, count_params


def test_models_json_lists_architectures_and_shipped(tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    shipped = tmp_path / "weights"
    medcolor.weights.save_model(create_model("fastcolor", widths=[8, 8, 16, 16, 32]), shipped / "tiny",
                                meta={"description": "a tiny test model"})
    monkeypatch.setattr(medcolor.weights, "PRETRAINED_DIR", shipped)
    assert main(["models", "--json", "--kind", "discriminator", "--size", "64"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in data["architectures"]]
    assert names == ["global_discriminator", "patchgan"]
    patch = data["architectures"][1]
    model = create_model("patchgan")
    assert patch["params"] == count_params(model) == 2_765_633
    assert patch["gflops"] == round(count_flops(model, 64) / 1e9, 3) > 0
    assert "pix2pix" in patch["paper"] and patch["exportable"] is False
    (tiny,) = data["pretrained"]
    assert tiny["name"] == "tiny" and tiny["architecture"] == "fastcolor"
    assert tiny["description"] == "a tiny test model" and tiny["size_mb"] > 0
    assert tiny["hints"] == "levin"  # no hint input: --hint-method auto refines with Levin


def test_models_table(capsys):
    assert main(["models", "--kind", "discriminator", "--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "GFLOPs" in out and "patchgan" in out and "Isola" in out
    assert main(["models", "--size", "8"]) == 2
