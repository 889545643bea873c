"""Colour consistent through a volume: the flicker measure, slice smoothing, the API and CLI defaults."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
from torch import nn

import medcolor
from medcolor.batch import UnitOptions, colorize_unit
from medcolor.cli import main
from medcolor.color import gray_to_lightness, rgb_to_lab_np
from medcolor.engine import ArraySource, ChromaFrame, Engine, EngineOptions
from medcolor.io import open_image, read
from medcolor.io.nifti import from_display_slices, to_display_slices
from medcolor.pipeline import colorize_gray
from medcolor.predictor import make_predictor
from medcolor.volume import (
    FlickerMeter,
    SliceSmoother,
    SmoothingSettings,
    slice_flicker,
    volume_hook,
)


class NoisyModel(nn.Module):
    """Chroma from L* plus, on every call, a random per-slice offset and pixel noise: it flickers."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.gen = torch.Generator().manual_seed(seed)

    def forward(self, L: torch.Tensor) -> torch.Tensor:  # (B, 1, h, w) L* -> (B, 2, h, w) a*b*
        b = L.shape[0]
        base = torch.cat([L * 0.3 - 10, 25 - L * 0.2], dim=1)
        offset = torch.randn(b, 2, 1, 1, generator=self.gen) * 3.0
        return base + offset + torch.randn(L.shape[0], 2, *L.shape[-2:], generator=self.gen)


def _volume(frames: int = 14, h: int = 24, w: int = 20) -> np.ndarray:
    """Display gray ``(F, H, W)``: a blob whose size changes slowly along the slices, on a gradient."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for k in range(frames):
        r = 5 + 2 * np.sin(k / 4)
        g = 0.25 + 0.4 * xx / w + 0.3 * (((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < r * r)
        out.append(g)
    return np.clip(np.stack(out), 0, 1).astype(np.float32)


def _lab(rgb_u8: np.ndarray) -> np.ndarray:
    return rgb_to_lab_np(rgb_u8)


def _nifti_rgb(path) -> np.ndarray:
    """An RGB24 NIfTI written by medcolor -> display frames ``(F, H, W, 3)`` uint8."""
    img = np.asarray(nib.load(path).dataobj)
    return to_display_slices(np.stack([img["R"], img["G"], img["B"]], -1), 2)


def test_flicker_measure_counts_only_similar_lightness_and_not_black():
    lab = np.zeros((3, 4, 5, 3), np.float32)
    lab[..., 0] = 50
    lab[1, ..., 1:] = (3.0, 4.0)  # |Δa*b*| = 5 from slice 0 to 1 and back to 2
    lab[1, 0, :, 0] = 60  # a lightness change: not counted
    lab[:, 3, :, 0] = 0.0  # black: carries no colour, not counted
    stats = slice_flicker(lab)
    assert stats.pairs == 2 and stats.pixels == 2 * 2 * 5
    assert stats.mean == pytest.approx(5.0) and stats.p90 == pytest.approx(5.0, abs=0.02)
    assert slice_flicker(lab, max_dl=20).pixels == 2 * 3 * 5
    assert np.isnan(FlickerMeter().result().mean)  # nothing counted yet
    with pytest.raises(ValueError):
        slice_flicker([lab[0], lab[0, :2]])


def test_smoother_returns_every_frame_once_in_order_with_l_unchanged_and_bounded():
    s = SliceSmoother(SmoothingSettings(radius=2))
    Ls = [torch.full((1, 1, 6, 8), float(k)) for k in range(7)]
    out = []
    for k, L in enumerate(Ls):
        ready = s.push(ChromaFrame(L, torch.randn(1, 2, 3, 4)))
        assert len(s._held) <= 2 * 2 + 1  # never more than the window
        assert len(ready) == (1 if k >= 2 else 0)  # frame k - radius is ready once frame k is in
        out += ready
    out += s.flush()
    assert len(out) == 7 and all(o[0] is L for o, L in zip(out, Ls))
    assert all(o[1].shape == (1, 2, 3, 4) for o in out)
    assert s.flush() == []  # reset for another unit


def test_smoother_keeps_colour_where_lightness_changes_and_averages_where_it_does_not():
    s = SliceSmoother(SmoothingSettings(radius=1, sigma_slices=10, sigma_lightness=2))
    L = [torch.full((1, 1, 2, 2), v) for v in (50.0, 50.0, 90.0)]
    ab = [torch.full((1, 2, 2, 2), v) for v in (0.0, 6.0, 30.0)]
    out = [o for L_k, ab_k in zip(L, ab) for o in s.push(ChromaFrame(L_k, ab_k))] + s.flush()
    assert float(out[0][1].mean()) == pytest.approx(3.0, abs=0.1)  # same L*: averaged with slice 1
    assert float(out[2][1].mean()) == pytest.approx(30.0, abs=0.01)  # 40 L* away: its own colour


def test_smoothing_fixes_a_flickering_model_and_keeps_lightness():
    gray = _volume()
    plain = colorize_gray(gray, model=NoisyModel(), working_size=None)
    engine = Engine(make_predictor(NoisyModel(), device="cpu", working_size=None),
                    EngineOptions(hook=lambda meta: SliceSmoother()))
    smooth = np.stack([f.rgb for f in engine.run(ArraySource(gray))])
    before, after = slice_flicker(_lab(plain)), slice_flicker(_lab(smooth))
    assert before.mean > 2.0  # the model flickers
    assert after.mean < 0.4 * before.mean and after.p90 < before.p90
    for rgb in (plain, smooth):  # the structure guarantee
        assert np.abs(_lab(rgb)[..., 0] - gray_to_lightness(gray.astype(np.float64))).max() <= 1.0


def test_volume_hook_only_for_volumes_and_series(tmp_path):
    nii = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(from_display_slices((_volume() * 1000).astype(np.int16), 2), np.eye(4)), nii)
    assert isinstance(volume_hook(open_image(nii).meta), SliceSmoother)
    from PIL import Image

    Image.fromarray((_volume()[0] * 255).astype(np.uint8)).save(tmp_path / "one.png")
    assert volume_hook(open_image(tmp_path / "one.png").meta) is None


@pytest.fixture
def nifti_volume(tmp_path):
    vol = from_display_slices((_volume() * 1000).astype(np.int16), 2)  # stored (X, Y, Z)
    path = tmp_path / "vol.nii.gz"
    nib.save(nib.Nifti1Image(vol, np.diag([0.8, 0.8, 1.5, 1.0])), path)
    return path


def test_api_smooths_volumes_by_default(nifti_volume):
    on = medcolor.colorize(nifti_volume, model=NoisyModel(), working_size=None)
    off = medcolor.colorize(nifti_volume, model=NoisyModel(), working_size=None, smooth=False)
    assert on.shape == off.shape == (14, 24, 20, 3)
    assert slice_flicker(_lab(on)).mean < 0.4 * slice_flicker(_lab(off)).mean
    gray, _ = read(nifti_volume)
    assert np.abs(_lab(on)[..., 0] - gray_to_lightness(gray.astype(np.float64))).max() <= 1.0


def test_colorize_unit_with_the_volume_hook_equals_the_api(tmp_path, nifti_volume):
    out = tmp_path / "o.nii.gz"
    colorize_unit(nifti_volume, [out], UnitOptions(model=NoisyModel(), working_size=None, hook=volume_hook, batch_size=4))
    rgb = _nifti_rgb(out)
    api = medcolor.colorize(nifti_volume, model=NoisyModel(), working_size=None, batch_size=4)
    np.testing.assert_array_equal(rgb, api)  # the same noise sequence and the same smoothing


def test_cli_smooths_by_default_and_no_smoothing_turns_it_off(tmp_path, nifti_volume, tiny_model_path):
    for flag, name in (([], "on"), (["--no-smoothing"], "off")):
        assert main(["colorize", str(nifti_volume), "-o", str(tmp_path / name), "--format", "nii",
                     "--model", str(tiny_model_path), "-q", *flag]) == 0
    vols = {name: _nifti_rgb(tmp_path / name / "vol.nii.gz") for name in ("on", "off")}
    np.testing.assert_array_equal(vols["on"], medcolor.colorize(nifti_volume, model=tiny_model_path))
    np.testing.assert_array_equal(vols["off"], medcolor.colorize(nifti_volume, model=tiny_model_path,
                                                                 smooth=False))
    assert not np.array_equal(vols["on"], vols["off"])
    gray, _ = read(nifti_volume)
    for rgb in vols.values():
        assert np.abs(_lab(rgb)[..., 0] - gray_to_lightness(gray.astype(np.float64))).max() <= 1.0
