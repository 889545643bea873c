"""``medcolor evaluate --hints``: simulated hint points, learned and Levin rows, end to end."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from medcolor.cli import main
from medcolor.evaluate.hinted import simulated_hints
from medcolor.evaluate.protocol import load_ground_truth

COLOURS = [((200, 60, 40), (40, 150, 220)), ((90, 180, 60), (220, 200, 40)), ((150, 60, 200), (60, 200, 190))]


@pytest.fixture(scope="module")
def gt_dir(tmp_path_factory):
    """Three 40x48 images, each two flat colour halves with a little texture."""
    d = tmp_path_factory.mktemp("gt")
    rng = np.random.default_rng(0)
    for i, (left, right) in enumerate(COLOURS):
        img = np.empty((40, 48, 3), np.float64)
        img[:, :24], img[:, 24:] = left, right
        img += rng.normal(0, 3, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(d / f"c{i}.png")
    return d


@pytest.fixture(scope="module")
def guided_path(tmp_path_factory):
    """An untrained effcolor_lite0 (small decoder) with non-zero hint branches, saved."""
    from medcolor.models import create_model
    from medcolor.weights import save_model

    torch.manual_seed(0)
    net = create_model("effcolor_lite0", widths=[32, 24, 16, 16]).eval()
    with torch.no_grad():
        nn.init.normal_(net.hint_stem.weight, std=0.5)
        net.up4.reduce[0].weight[:, -3:].normal_(std=2.0)
    return save_model(net, tmp_path_factory.mktemp("m") / "guided.safetensors", meta={"working_size": 32})


def test_simulated_hints_are_reproducible_and_shared(gt_dir):
    samples = load_ground_truth(gt_dir).samples
    a, b = simulated_hints(samples[0], 5, seed=0), simulated_hints(samples[0], 5, seed=0)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.ab, b.ab)
    assert 25 <= a.mask.sum() <= 125  # five 5x5 patches, some may overlap
    assert not np.array_equal(simulated_hints(samples[0], 5, seed=1).mask, a.mask)
    assert simulated_hints(samples[0], 0, seed=0).mask.sum() == 0
    # each patch carries its mean true colour: close to the true a*b* except on patches across the edge
    from medcolor.color import rgb_to_lab_np

    true_ab = rgb_to_lab_np(samples[0].gt / 255.0)[..., 1:]
    assert np.median(np.abs(a.ab[a.mask] - true_ab[a.mask])) < 6


def test_evaluate_hints_end_to_end(gt_dir, guided_path, tiny_model_path, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(gt_dir), "--models", str(guided_path), str(tiny_model_path),
                 "--hints", "0,2,10", "--out", str(out), "--grid", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    g, t = str(guided_path), str(tiny_model_path)
    expected = {"zero-chroma", g, t, f"{t} +2 levin", f"{t} +10 levin"}  # no hint input: Levin only
    expected |= {f"{g} +{n} {kind}" for n in (2, 10) for kind in ("learned", "levin", "learned+levin")}
    assert set(summary) == expected
    with open(out / "per_image.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * len(expected)
    for model in (g, t):
        # true colours at 10 patches: Levin refinement moves a random model's colours towards the truth
        assert summary[f"{model} +10 levin"]["deltae2000"] < summary[model]["deltae2000"] - 1
        assert summary[f"{model} +10 levin"]["psnr"] > summary[model]["psnr"] + 1
        assert summary[f"{model} +10 levin"]["max_dl"] <= 1.0  # lightness is the input's
    assert summary[f"{g} +10 learned"]["deltae2000"] != summary[g]["deltae2000"]  # the hints reached the net
    report = (out / "report.html").read_text()
    assert "--hints 0,2,10" in report and "5×5 patch" in report
    assert "+10 levin" in capsys.readouterr().out


def test_evaluate_hints_usage_errors(gt_dir, tmp_path, capsys):
    assert main(["evaluate", "--data", str(gt_dir), "--hints", "2", "--out", str(tmp_path / "a")]) == 2
    assert "--models" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--data", str(gt_dir), "--hints", "two", "--out", str(tmp_path / "b")])
    assert info.value.code == 2


def test_hint_sweep_script(gt_dir, guided_path, tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "hint_sweep", Path(__file__).resolve().parents[1] / "benchmarks" / "hint_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    out = tmp_path / "sweep"
    assert sweep.main(["--model", str(guided_path), "--data", str(gt_dir), "--points", "1,5",
                       "--limit", "2", "--out", str(out)]) == 0
    table = (out / "hint_sweep.md").read_text()
    assert "| 0 |" in table and "| 5 |" in table and "2 images" in table
    with open(out / "hint_sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["points"] for r in rows] == ["0", "1", "5"]
    assert rows[0]["learned_psnr"] == rows[0]["levin_psnr"]  # N = 0: the automatic result for both
    assert (out / "hint_sweep.png").stat().st_size > 1000
