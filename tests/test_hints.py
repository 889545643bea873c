"""User hints: reading, pooling to the working size, and the learned / Levin dispatch (API, CLI)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import medcolor
from medcolor.color import gray_to_lightness, lab_to_rgb_np, rgb_to_lab_np
from medcolor.errors import InputError, UsageError
from medcolor.hints import UserHints, hint_ab, load_hints, parse_hints, resolve_hint_method, simulate_hints
from medcolor.models.registry import Capabilities, declare_capabilities, model_capabilities


def _rgb(lab):
    return np.rint(lab_to_rgb_np(np.asarray(lab, dtype=np.float64)) * 255).astype(np.uint8)


class HintEcho(nn.Module):
    """Takes hints like effcolor: returns the hint a*b* where hinted, (5, 5) elsewhere; records the map."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        declare_capabilities(self, Capabilities(hints=True))

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        ab = torch.full((L.shape[0], 2, *L.shape[-2:]), 5.0)
        if hints is not None:
            self.seen.append(hints.clone())
            ab = torch.where(hints[:, 2:] > 0.5, hints[:, :2], ab)
        return ab


@pytest.fixture(scope="module")
def guided():
    """An untrained effcolor_lite0 (small decoder) whose hint branches are made non-zero."""
    from medcolor.models import create_model

    torch.manual_seed(0)
    net = create_model("effcolor_lite0", widths=[32, 24, 16, 16]).eval()
    with torch.no_grad():
        nn.init.normal_(net.hint_stem.weight, std=0.5)
        net.up4.reduce[0].weight[:, -3:].normal_(std=2.0)  # the pooled hints at 1/4
    return net


# ---------------------------------------------------------------- reading hints
def test_load_hints_transparent_png(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[5, 5] = (*_rgb((50, 60, 40)), 255)  # red mark
    rgba[6, 6] = (*_rgb((50, 60, 40)), 0)  # fully transparent: not a hint
    rgba[7, 7] = (128, 128, 128, 255)  # opaque gray mark: not a hint
    rgba[8, 8] = (*_rgb((60, -40, 40)), 90)  # semi-transparent green: a hint
    path = tmp_path / "hints.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb, mask = load_hints(path, (20, 30))
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8 and mask.dtype == bool
    assert set(zip(*np.nonzero(mask))) == {(5, 5), (8, 8)}
    np.testing.assert_array_equal(rgb[5, 5], _rgb((50, 60, 40)))


def test_load_hints_painted_gray_copy():
    """A copy of the gray image with colour strokes: gray pixels are ignored."""
    img = np.repeat(np.linspace(0, 255, 40).astype(np.uint8)[None, :, None], 10, axis=0).repeat(3, 2)
    img[2:4, 10:20] = _rgb((55, -20, -45))
    rgb, mask = load_hints(img, (10, 40))
    assert mask.sum() == 20 and mask[2:4, 10:20].all()


def test_load_hints_errors(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    with pytest.raises(InputError, match="small.png") as info:
        load_hints(path, (10, 12))
    assert "8x8" in str(info.value) and "12x10" in str(info.value)
    with pytest.raises(InputError, match="not found"):
        load_hints(tmp_path / "missing.png", (8, 8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="bad.png"):
        load_hints(bad, (8, 8))
    with pytest.raises(TypeError):
        load_hints(np.zeros((8, 8, 3)), (8, 8))
    with pytest.raises(ValueError):
        load_hints(np.zeros((8, 8), np.uint8), (8, 8))


def test_hint_ab_matches_the_per_pixel_conversion(rng):
    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    np.testing.assert_allclose(hint_ab(rgb), rgb_to_lab_np(rgb / 255.0)[..., 1:], atol=1e-6)


def test_parse_hints_accepts_every_form_and_agrees(tmp_path):
    rgba = np.zeros((12, 16, 4), np.uint8)
    rgba[3:5, 4:7] = (*_rgb((50, 40, -30)), 255)
    path = tmp_path / "marks.png"
    Image.fromarray(rgba, "RGBA").save(path)
    from_path = parse_hints(path, (12, 16))
    from_array = parse_hints(rgba, (12, 16))
    from_tuple = parse_hints((rgba[..., :3], rgba[..., 3] > 0), (12, 16))
    for h in (from_path, from_array, from_tuple):
        assert isinstance(h, UserHints) and h.mask.sum() == 6 and h.ab.dtype == np.float32
        np.testing.assert_allclose(h.ab[4, 5], hint_ab(_rgb((50, 40, -30))[None, None])[0, 0], atol=1e-4)
        assert not h.ab[~h.mask].any()
    assert parse_hints(from_path, (12, 16)) is from_path
    with pytest.raises(ValueError):
        parse_hints(from_path, (12, 15))
    with pytest.raises(TypeError):
        parse_hints((rgba[..., :3], (rgba[..., 3] > 0).astype(np.uint8)), (12, 16))
    with pytest.raises(InputError):
        parse_hints(path, (10, 16))


def test_pooling_to_the_working_size_keeps_single_points():
    ab = np.zeros((1000, 700, 2), np.float32)
    mask = np.zeros((1000, 700), bool)
    mask[501, 333] = True  # one pixel
    ab[501, 333] = (40.0, -20.0)
    mask[10:14, 10:14] = True  # a 4x4 patch and a neighbour cell of another colour
    ab[10:14, 10:14] = (-30.0, 10.0)
    hmap = UserHints(ab, mask).hint_map((256, 179))
    assert hmap.shape == (1, 3, 256, 179)
    assert set(hmap[0, 2].unique().tolist()) == {0.0, 1.0}
    cells = hmap[0, 2].nonzero()
    assert 2 <= len(cells) <= 4 + 9  # the point in 1-2 cells a side, the patch in 2-3
    point = hmap[0, :2, 501 * 256 // 1000, 333 * 179 // 700]
    assert torch.allclose(point, torch.tensor([40.0, -20.0]))  # the hinted mean, not diluted by the zeros
    assert torch.allclose(hmap[0, :2, 3, 3], torch.tensor([-30.0, 10.0]))
    assert not hmap[0, :2][:, hmap[0, 2] == 0].any()
    same = UserHints(ab, mask).hint_map((1000, 700))
    assert torch.equal(same[0, 2].bool(), torch.from_numpy(mask))


def test_user_hints_from_a_simulated_map():
    ab = torch.zeros(1, 2, 40, 50)
    ab[:, 0] = 25.0
    hmap = simulate_hints(ab, 3, patch=5, generator=torch.Generator().manual_seed(0))
    hints = UserHints.from_map(hmap)
    assert hints.shape == (40, 50) and 25 <= hints.mask.sum() <= 75
    assert np.allclose(hints.ab[hints.mask], (25.0, 0.0))


# ---------------------------------------------------------------- method choice
def test_resolve_hint_method(tiny_model_path, guided):
    tiny = model_capabilities(medcolor.load_model(tiny_model_path))
    guided = model_capabilities(guided)
    assert guided.hints and not tiny.hints
    assert resolve_hint_method(guided, "auto") == "levin"  # learned hints are opt-in (see the sweep)
    assert resolve_hint_method(guided, "learned") == "learned"
    assert resolve_hint_method(guided, "levin") == "levin"
    assert resolve_hint_method(tiny, "auto") == "levin"
    with pytest.raises(UsageError, match="levin"):
        resolve_hint_method(tiny, "learned")
    with pytest.raises(UsageError, match="magic"):
        resolve_hint_method(tiny, "magic")


# ---------------------------------------------------------------- API
def test_learned_hints_reach_the_network_at_the_working_size():
    net = HintEcho()
    g = np.full((512, 384), 0.5, np.float32)
    marks = np.zeros((512, 384, 4), np.uint8)
    marks[200:204, 100:104] = (*_rgb((50, 50, 30)), 255)
    out = medcolor.colorize_gray(g, model=net, working_size=256, device="cpu", hints=marks, hint_method="learned")
    (hmap,) = net.seen
    assert hmap.shape == (1, 3, 341, 256)  # the working shape, short side 256
    assert 4 <= int(hmap[0, 2].sum()) <= 16  # 4x4 px at 2/3 scale: 2-4 cells a side (pooling windows overlap)
    lab = rgb_to_lab_np(out / 255.0)
    hint = rgb_to_lab_np(_rgb((50, 50, 30)) / 255.0)
    assert np.abs(lab[201, 101, 1:] - hint[1:]).max() < 8  # the hint's colour at the hint
    assert np.abs(lab[450, 300, 1:] - (5.0, 5.0)).max() < 1.5  # the model's own colour far away
    assert np.abs(lab[..., 0] - gray_to_lightness(g)).max() <= 1.0


def test_levin_choice_uses_the_automatic_output(tiny_model_path):
    net = HintEcho()
    g = np.full((64, 64), 0.5, np.float32)
    marks = np.zeros((64, 64, 4), np.uint8)
    marks[10:14, 5:9] = (30, 90, 200, 255)
    out = medcolor.colorize_gray(g, model=net, device="cpu", hints=marks, hint_method="levin")
    assert net.seen == []  # called without hints
    lab = rgb_to_lab_np(out / 255.0)
    assert lab[12, 7, 2] < -20 and abs(lab[60, 60, 1] - 5.0) < 3


def test_untrained_effcolor_learned_and_levin(guided):
    g = np.tile(np.linspace(0.2, 0.8, 96, dtype=np.float32), (80, 1))
    marks = np.zeros((80, 96, 4), np.uint8)
    marks[30:40, 20:30] = (*_rgb((55, -40, -35)), 255)
    auto = medcolor.colorize_gray(g, model=guided, working_size=64, device="cpu")
    learned = medcolor.colorize_gray(g, model=guided, working_size=64, device="cpu", hints=marks, hint_method="learned")
    levin = medcolor.colorize_gray(g, model=guided, working_size=64, device="cpu", hints=marks, hint_method="levin")
    empty = medcolor.colorize_gray(g, model=guided, working_size=64, device="cpu", hints=np.zeros_like(marks))
    np.testing.assert_array_equal(empty, auto)  # no marks: the automatic result
    assert np.abs(learned.astype(int) - auto).max() > 3  # the hints went through the network
    lab_auto, lab_levin = rgb_to_lab_np(auto / 255.0), rgb_to_lab_np(levin / 255.0)
    assert lab_levin[35, 25, 2] < lab_auto[35, 25, 2] - 10  # Levin pulls the hinted region towards blue
    for out in (learned, levin):
        assert np.abs(rgb_to_lab_np(out / 255.0)[..., 0] - gray_to_lightness(g)).max() <= 1.0


def test_learned_hints_on_a_model_without_hint_input_are_refused(tiny_model_path):
    with pytest.raises(UsageError):
        medcolor.colorize(np.zeros((16, 16), np.uint8), model=tiny_model_path, device="cpu",
                          hints=np.zeros((16, 16, 4), np.uint8), hint_method="learned")


# ---------------------------------------------------------------- CLI
def _marks(tmp_path, h, w):
    marks = np.zeros((h, w, 4), np.uint8)
    marks[h // 3:h // 3 + 6, w // 4:w // 4 + 6] = (*_rgb((55, -40, -35)), 255)
    path = tmp_path / "marks.png"
    Image.fromarray(marks, "RGBA").save(path)
    return path


def test_cli_colorize_with_hints_learned_and_levin(tmp_path, guided):
    from medcolor.cli import main
    from medcolor.weights import save_model

    model = save_model(guided, tmp_path / "guided.safetensors", meta={"working_size": 64})
    g = np.tile(np.linspace(40, 220, 72).astype(np.uint8), (60, 1))
    Image.fromarray(g).save(tmp_path / "in.png")
    marks = _marks(tmp_path, 60, 72)
    results = {}
    for method in ("auto", "learned", "levin"):
        out = tmp_path / method
        assert main(["colorize", str(tmp_path / "in.png"), "-o", str(out), "--model", str(model),
                     "--hints", str(marks), "--hint-method", method, "-q"]) == 0
        results[method] = np.asarray(Image.open(out / "in.png").convert("RGB"))
    np.testing.assert_array_equal(results["auto"], results["levin"])
    assert np.abs(results["learned"].astype(int) - results["levin"]).max() > 5
    plain = tmp_path / "plain"
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(plain), "--model", str(model), "-q"]) == 0
    assert np.abs(results["levin"].astype(int) - np.asarray(Image.open(plain / "in.png"))).max() > 5


def test_cli_learned_hints_need_a_model_that_takes_them(tmp_path, tiny_model_path, capsys):
    from medcolor.cli import main

    Image.fromarray(np.full((20, 24), 120, np.uint8)).save(tmp_path / "in.png")
    marks = _marks(tmp_path, 20, 24)
    code = main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"), "--model",
                 str(tiny_model_path), "--hints", str(marks), "--hint-method", "learned", "-q"])
    assert code == 2 and "levin" in capsys.readouterr().err
    assert main(["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"), "--model",
                 str(tiny_model_path), "--hints", str(marks), "-q"]) == 0  # auto: Levin


# ---------------------------------------------------------------- web
def test_web_hint_rerun_learned_levin_and_refused(tiny_model_path):
    import io

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from medcolor.web import WebConfig, create_app

    def png(arr, mode=None) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(arr, mode).save(buf, format="PNG")
        return buf.getvalue()

    gray = png(np.full((48, 64), 128, np.uint8))
    marks = np.zeros((48, 64, 4), np.uint8)
    marks[20:26, 30:40] = (*_rgb((55, -40, -35)), 255)
    app = create_app(WebConfig(model="echo", device="cpu", working_size=48),
                     models={"echo": HintEcho(), "tiny": medcolor.load_model(tiny_model_path)})
    with TestClient(app) as client:
        def send(**form):
            return client.post("/api/colorize", data=form, files={
                "file": ("g.png", gray, "image/png"), "hints": ("hints.png", png(marks, "RGBA"), "image/png")})

        learned = send(hint_method="learned")
        assert learned.status_code == 200, learned.text
        assert learned.headers["x-medcolor-hint-method"] == "learned"
        lab = rgb_to_lab_np(np.asarray(Image.open(io.BytesIO(learned.content)).convert("RGB")) / 255.0)
        assert lab[23, 35, 2] < -25 and abs(lab[5, 5, 2] - 5) < 2  # the hint where painted, the model's elsewhere
        levin = send(hint_method="levin")
        assert levin.status_code == 200 and levin.headers["x-medcolor-hint-method"] == "levin"
        assert send(model="tiny").headers["x-medcolor-hint-method"] == "levin"  # auto is Levin
        refused = send(model="tiny", hint_method="learned")
        assert refused.status_code == 400 and "levin" in refused.json()["error"]
        assert send(hint_method="magic").status_code == 422
        assert "hints" not in client.get("/api/health").json()


def test_learned_then_levin_refines_the_learned_colours(guided):
    g = np.tile(np.linspace(0.2, 0.8, 96, dtype=np.float32), (80, 1))
    marks = np.zeros((80, 96, 4), np.uint8)
    marks[30:40, 20:30] = (*_rgb((55, -40, -35)), 255)
    kw = dict(model=guided, working_size=64, device="cpu", hints=marks)
    learned = medcolor.colorize_gray(g, hint_method="learned", **kw)
    both = medcolor.colorize_gray(g, hint_method="learned+levin", **kw)
    lab_learned, lab_both = rgb_to_lab_np(learned / 255.0), rgb_to_lab_np(both / 255.0)
    assert lab_both[35, 25, 2] < lab_learned[35, 25, 2] - 10  # Levin then pulls the hinted region to blue
    tiny = medcolor.colorize_gray(g, model=guided, working_size=64, device="cpu")
    assert both.shape == tiny.shape
