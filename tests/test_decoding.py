"""The decoding policy of bin classifiers (confidence, shrinkage), the learned hint propagation, and the
training options that widen the photo data (composites, crops at native scale, frozen parts)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from medcolor.errors import UsageError
from medcolor.models import create_model
from medcolor.models.ab_bins import ab_bins, annealed_mean, confidence, decode
from medcolor.train.config import load_config
from medcolor.train.data import TrainDataset, composite, random_crop_box, scan_folder
from medcolor.train.trainer import freeze_except

Q = 313
SMALL = dict(widths=[32, 24, 16, 16])


def test_confidence_reference_values():
    logits = torch.zeros(1, Q, 2, 2)
    logits[0, 7, 0, 0] = 1e4  # all mass on one bin: sure
    conf = confidence(logits)
    assert conf.shape == (1, 1, 2, 2) and conf.dtype == torch.float32
    assert conf[0, 0, 0, 0] == pytest.approx(1.0, abs=1e-6)
    assert conf[0, 0, 1, 1] == pytest.approx(0.0, abs=1e-6)  # uniform over the Q bins
    two = torch.full((1, Q, 1, 1), -1e4)
    two[0, :2] = 0.0  # two equally likely bins: H = log 2
    assert float(confidence(two)) == pytest.approx(1 - math.log(2) / math.log(Q), abs=1e-5)


def test_confidence_is_in_range_and_grows_with_sharpness():
    torch.manual_seed(0)
    logits = torch.randn(2, Q, 4, 5)
    c1, c2 = confidence(logits), confidence(3 * logits)
    assert (c1 >= 0).all() and (c1 <= 1).all() and (c2 > c1).all()


def test_confidence_matches_a_float64_reference_and_has_gradients():
    logits = torch.randn(1, 6, 2, 2, dtype=torch.float64)
    p = torch.softmax(logits, 1)
    ref = 1 + (p * p.log()).sum(1, keepdim=True) / math.log(6)
    assert torch.allclose(confidence(logits).double(), ref, atol=1e-6)
    x = logits.float().requires_grad_(True)
    confidence(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_decode_shrinks_chroma_by_the_confidence_power():
    torch.manual_seed(1)
    bins = ab_bins()
    logits = torch.randn(1, Q, 3, 3) * 2
    mean = annealed_mean(logits, bins, 1.0)
    ab0, conf = decode(logits, bins, 1.0, 0.0)
    assert torch.allclose(ab0, mean)
    ab1, _ = decode(logits, bins, 1.0, 1.0)
    ab_half, _ = decode(logits, bins, 1.0, 0.5)
    assert torch.allclose(ab1, mean * conf, atol=1e-5)
    assert torch.allclose(ab_half, mean * conf.sqrt(), atol=1e-5)
    assert (ab1.norm(dim=1) <= ab_half.norm(dim=1) + 1e-6).all()


@pytest.fixture(scope="module")
def hint_net():
    torch.manual_seed(0)
    net = create_model("effcolor_lite0", hint_decoder=True, **SMALL).eval()
    with torch.no_grad():  # as after training: the zero-initialised last layers are no longer zero
        for p in net.hintnet.parameters():
            p.normal_(std=0.3)
    return net


def test_hint_decoder_is_exactly_zero_without_hints(hint_net):
    plain = create_model("effcolor_lite0", **SMALL)
    plain.load_state_dict({k: v for k, v in hint_net.state_dict().items() if not k.startswith("hintnet.")})
    plain.eval()
    L = torch.rand(2, 1, 64, 96) * 100
    with torch.no_grad():
        assert torch.equal(hint_net(L), plain(L))
        hints = torch.zeros(2, 3, 64, 96)
        hints[0, 0, 10:15, 10:15], hints[0, 2, 10:15, 10:15] = 50.0, 1.0
        ab, conf = hint_net.predict(L, hints)
        base = plain(L)
    assert (ab[0] - base[0]).abs().max() > 0.01  # the hinted image changes ...
    assert torch.equal(ab[1], base[1])  # ... the image without hints in the same batch does not
    assert conf.shape == (2, 1, 64, 96) and (conf >= 0).all() and (conf <= 1).all()


def _attending_net(**kw):
    """A hint net whose attention always follows the hints and mixes the heads' corrections evenly."""
    torch.manual_seed(0)
    net = create_model("effcolor_lite0", hint_decoder=True, **SMALL).eval()
    hn = net.hintnet
    for key, value in kw.items():
        setattr(hn, key, value)
    with torch.no_grad():
        hn.null.weight.zero_()
        hn.null.bias.fill_(-1e4)  # "no hint applies" never wins
        hn.mix.weight.zero_()
        for h in range(hn.heads):
            hn.mix.weight[0, 2 * h], hn.mix.weight[1, 2 * h + 1] = 1.0 / hn.heads, 1.0 / hn.heads
    return net


def test_hint_attention_gives_a_hinted_cell_its_hint_and_raises_confidence():
    net = _attending_net()
    L = torch.rand(1, 1, 64, 64) * 100
    hints = torch.zeros(1, 3, 64, 64)
    hints[0, 0, 20:24, 40:44], hints[0, 1, 20:24, 40:44], hints[0, 2, 20:24, 40:44] = 30.0, -20.0, 1.0
    with torch.no_grad():
        Lp, hp, _ = net._prepare(L, hints)
        ab, conf = net._decode_padded(Lp, hp)  # (1, 2, 16, 16) at 1/4
        auto, conf0 = net._decode_padded(Lp, torch.zeros_like(hp))
    # one key: every cell takes its correction; the hinted cell (5, 10) becomes the hint exactly
    assert ab[0, :, 5, 10].tolist() == pytest.approx([30.0, -20.0], abs=1e-3)
    assert torch.allclose(conf, torch.ones_like(conf), atol=1e-5)  # all attention on the hint
    assert (conf0 < 1).all()


def test_hint_attention_adopt_paints_every_attending_cell_the_hint_colour():
    net = _attending_net()
    hn = net.hintnet
    with torch.no_grad():  # adopt only: the heads' adopted colours averaged, no shift
        hn.adopt.weight.copy_(hn.mix.weight)
        hn.mix.weight.zero_()
    L = torch.rand(1, 1, 64, 64) * 100
    hints = torch.zeros(1, 3, 64, 64)
    hints[0, 0, 20:24, 40:44], hints[0, 1, 20:24, 40:44], hints[0, 2, 20:24, 40:44] = 30.0, -20.0, 1.0
    with torch.no_grad():
        Lp, hp, _ = net._prepare(L, hints)
        ab, _ = net._decode_padded(Lp, hp)
        auto, _ = net._decode_padded(Lp, torch.zeros_like(hp))
    # one key, all attention on it: every cell takes the hint colour, whatever its automatic colour
    assert auto.std(dim=(2, 3)).min() > 0.05  # automatic colours vary (a shift would keep that)
    target = torch.tensor([30.0, -20.0]).view(1, 2, 1, 1)
    assert torch.allclose(ab, target.expand_as(ab), atol=1e-3)


def test_hint_attention_keeps_the_densest_cells_when_there_are_too_many():
    net = _attending_net(max_keys=3)
    L = torch.rand(2, 1, 64, 64) * 100
    hints = torch.zeros(2, 3, 64, 64)
    hints[0, 0], hints[0, 2] = 10.0, 1.0  # every cell hinted, one colour
    with torch.no_grad():
        ab, _ = net.predict(L, hints)
        auto = net.predict(L)[0]
    assert torch.isfinite(ab).all()
    # three keys carry the corrections "hint - automatic" of their cells: every cell moves towards the hint
    assert ab[0, 0].sub(10.0).abs().mean() < 0.2 * auto[0, 0].sub(10.0).abs().mean()
    assert torch.equal(ab[1], auto[1])  # the image without hints is untouched


def test_freeze_except_trains_only_the_named_parameters():
    net = create_model("effcolor_lite0", hint_decoder=True, **SMALL)
    frozen = freeze_except(net, ["hintnet."])
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("hintnet.") for n in trainable)
    assert net.encoder in frozen and net.hintnet not in frozen
    with pytest.raises(UsageError, match="trainable"):
        freeze_except(net, ["nothing."])


def test_composite_pastes_the_cutout_with_its_alpha(tmp_path):
    cut = np.zeros((40, 20, 4), np.uint8)
    cut[..., 0], cut[10:30, 5:15, 3] = 255, 255  # red, opaque only in the middle
    Image.fromarray(cut, "RGBA").save(tmp_path / "red.png")
    base = np.full((64, 64, 3), 40, np.uint8)
    out = composite(base, str(tmp_path / "red.png"), np.random.default_rng(0), scale=(0.6, 0.6))
    changed = (out != base).any(-1)
    assert out.shape == base.shape and out.dtype == np.uint8
    assert 0 < changed.sum() < 0.25 * 64 * 64  # only the opaque part, not the whole box
    red = out[changed]
    assert (red[:, 0] > red[:, 1]).all() and (red[:, 0] > 200).mean() > 0.5  # red, soft only at the edge


def test_crops_of_large_images_keep_native_scale():
    cfg = load_config("effcolor-photo-ft").data
    rng = np.random.default_rng(0)
    big = [random_crop_box(3840, 2160, cfg, rng) for _ in range(200)]
    sides = [min(r - left, b - t) for left, t, r, b in big]
    assert min(sides) >= 0.75 * cfg.size and min(sides) < 1000  # small parts of a large photo, not magnified
    small = [random_crop_box(320, 240, cfg, rng) for _ in range(50)]
    assert min(min(r - left, b - t) for left, t, r, b in small) >= 0.75 * min(240, cfg.size)


def test_dataset_composites_from_an_objects_folder(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "objects").mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (80, 100, 3), dtype=np.uint8)).save(tmp_path / "photos" / f"p{i}.png")
    cut = np.zeros((30, 30, 4), np.uint8)
    cut[..., 2], cut[..., 3] = 255, 255
    Image.fromarray(cut, "RGBA").save(tmp_path / "objects" / "blue.png")
    cfg = load_config("effcolor-photo-ft", [f"data.objects={tmp_path / 'objects'}", "data.composite_p=1.0",
                                            "data.size=48"]).data
    samples = scan_folder(tmp_path / "photos", cfg.gray_threshold).samples
    rgb = TrainDataset(samples, cfg)[(0, 123)]["rgb"].permute(1, 2, 0).numpy()
    blue = (rgb[..., 2] == 255) & (rgb[..., 0] == 0) & (rgb[..., 1] == 0)
    assert rgb.shape == (48, 48, 3) and blue.sum() > 20
    with pytest.raises(UsageError, match="data.objects"):
        TrainDataset(samples, load_config("effcolor-photo-ft", ["data.composite_p=0.5"]).data)


def test_auto_hint_method_follows_the_cards_hint_sweep():
    from medcolor.card import ModelCard
    from medcolor.hints import resolve_hint_method

    def caps(method):
        calibration = {"hints": {"method": method}} if method else {}
        return ModelCard(architecture="effcolor_lite0", working_size=256, calibration=calibration).capabilities

    assert resolve_hint_method(caps("learned"), "auto") == "learned"
    assert resolve_hint_method(caps("learned+levin"), "auto") == "learned+levin"
    assert resolve_hint_method(caps("levin"), "auto") == "levin"
    assert resolve_hint_method(caps(None), "auto") == "levin"  # no sweep recorded
    assert resolve_hint_method(caps("levin"), "learned") == "learned"  # asked for explicitly
    fast = ModelCard(architecture="fastcolor", working_size=256, calibration={"hints": {"method": "learned"}})
    assert resolve_hint_method(fast.capabilities, "auto") == "levin"  # no hint input: Levin whatever the card


def test_hint_sweep_rule_needs_a_win_at_every_count():
    from medcolor.train.validate import choose_hint_method

    def curve(**psnr):  # method -> PSNR at 5, 10, 20 points
        return [{"points": n, "method": k.replace("_", "+"), "psnr": v[i]}
                for k, v in psnr.items() for i, n in enumerate((5, 10, 20))]

    pts = (5, 10, 20)
    assert choose_hint_method(curve(levin=[25, 26, 27], learned=[26, 27, 28], learned_levin=[26, 27, 29]), pts) \
        == "learned+levin"  # both win everywhere: the higher mean
    assert choose_hint_method(curve(levin=[25, 26, 27], learned=[26, 27, 28], learned_levin=[24, 27, 29]), pts) \
        == "learned"  # learned+levin loses at 5 points
    assert choose_hint_method(curve(levin=[25, 26, 27], learned=[26, 25, 28], learned_levin=[25, 27, 28]), pts) \
        == "levin"  # ties and losses: Levin
    assert choose_hint_method(curve(levin=[25, 26, 27]), pts) == "levin"  # no learned rows


def test_progress_writes_sparse_lines_in_a_log(tmp_path):
    import io

    from medcolor.progress import LOG_INTERVAL_S, progress

    log = io.StringIO()  # not a terminal
    bar = progress(range(1000), file=log, desc="work")
    for _ in bar:
        pass
    bar.close()
    assert bar.mininterval == LOG_INTERVAL_S
    assert log.getvalue().count("\r") <= 3  # start and end, not one redraw per item
