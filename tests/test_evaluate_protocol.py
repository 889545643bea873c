"""Evaluation protocol (ground truth, input rendering, skipping) and the baselines' rules."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from medcolor.color import is_near_gray
from medcolor.errors import InputError, UsageError
from medcolor.evaluate import baselines as B
from medcolor.evaluate.protocol import Sample, load_ground_truth, render_input


def _colour_image(rng, h=40, w=56):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 90)], -1).astype(np.uint8)
    return np.clip(img.astype(int) + rng.integers(0, 8, img.shape), 0, 255).astype(np.uint8)


def test_render_input_keeps_lightness(rng):
    gt = _colour_image(rng)
    gray = render_input(gt)
    assert gray.dtype == np.uint8 and gray.shape == gt.shape[:2]
    l_gt = rgb2lab(gt)[..., 0]
    l_in = rgb2lab(np.repeat(gray[..., None], 3, -1))[..., 0]
    # one uint8 step of gray is at most ~0.5 L* near black... and rounding takes half a step
    assert np.abs(l_gt - l_in).max() < 0.6


def test_load_ground_truth_native_resized_skips(tmp_path, rng):
    Image.fromarray(_colour_image(rng, 40, 56)).save(tmp_path / "a.png")
    Image.fromarray(_colour_image(rng, 60, 30)).save(tmp_path / "b.jpg", quality=95)
    Image.fromarray(np.full((30, 30), 128, np.uint8)).save(tmp_path / "gray_mode_l.png")
    Image.fromarray(np.full((30, 30, 3), 128, np.uint8)).save(tmp_path / "gray_as_rgb.png")
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    log = []
    gts = load_ground_truth(tmp_path, log=log.append)
    assert [s.name for s in gts.samples] == ["a.png", "b.jpg"]
    assert gts.samples[0].gt.shape == (40, 56, 3)
    assert sorted(gts.grayscale) == ["gray_as_rgb.png", "gray_mode_l.png"]
    assert list(gts.unreadable) == ["broken.png"] and "cannot read" in gts.unreadable["broken.png"]
    assert len(log) == 3 and all("\n" not in line for line in log)
    # short side resized to 20 (aspect kept); limit counts usable images only
    small = load_ground_truth(tmp_path, size=20, limit=1)
    assert [s.gt.shape for s in small.samples] == [(20, 28, 3)]


def test_empty_and_missing_folder(tmp_path):
    with pytest.raises(InputError, match="no image files"):
        load_ground_truth(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        load_ground_truth(tmp_path / "nope")


def test_near_gray_threshold(rng):
    gray = np.repeat(rng.integers(0, 256, (20, 20, 1), dtype=np.uint8), 3, -1)
    assert is_near_gray(gray)
    tinted = gray.copy()
    tinted[..., 0] = np.clip(tinted[..., 0].astype(int) + 25, 0, 255)
    assert not is_near_gray(tinted)


def _samples(rng, n=3):
    out = []
    for i in range(n):
        gt = np.clip(_colour_image(rng).astype(int) + 60 * i, 0, 255).astype(np.uint8)
        out.append(Sample(f"s{i}.png", gt, render_input(gt)))
    return out


def test_sample_hints_density_colours_and_determinism(rng):
    s = _samples(rng, 1)[0]
    hints, mask = B.sample_hints(s, 0.01, seed=0)
    h, w = s.gray.shape
    assert mask.sum() == round(0.01 * h * w)
    assert np.array_equal(hints[mask], s.gt[mask]) and not hints[~mask].any()
    again, mask2 = B.sample_hints(s, 0.01, seed=0)
    assert np.array_equal(mask, mask2)
    assert not np.array_equal(mask, B.sample_hints(s, 0.01, seed=1)[1])


def test_closest_reference_is_never_self(rng):
    samples = _samples(rng, 3)
    refs = B.closest_references(samples)
    assert all(refs[s.name].name != s.name for s in samples)
    # s0 and s2 are the extremes (offset 0 and +120): each one's closest is the middle one
    assert refs["s0.png"].name == "s1.png" and refs["s2.png"].name == "s1.png"
    with pytest.raises(UsageError, match="at least 2"):
        B.closest_references(samples[:1])


def test_zero_chroma_is_the_input(rng):
    s = _samples(rng, 1)[0]
    out = B.ZeroChroma()(s)
    assert out.dtype == np.uint8 and np.array_equal(out[..., 1], s.gray) and np.ptp(out, axis=-1).max() == 0


def test_levin_adapter_recovers_colour_from_dense_hints(rng):
    from medcolor.evaluate.metrics import ImagePair, delta_e2000

    s = _samples(rng, 1)[0]
    out = B.LevinHints(density=0.05)(s)
    assert out.shape == s.gt.shape and out.dtype == np.uint8
    zero = B.ZeroChroma()(s)
    # hints carry the true colours: much closer to the ground truth than gray
    assert delta_e2000(ImagePair(s.gt, s.gray, out)) < 0.5 * delta_e2000(ImagePair(s.gt, s.gray, zero))


def test_lut_adapter(rng):
    s = _samples(rng, 1)[0]
    out = B.LutBaseline()(s)
    assert out.shape == s.gt.shape and out.dtype == np.uint8
    # hot iron: black stays black-ish red channel grows with the gray level
    order = np.argsort(s.gray.ravel())
    assert out[..., 0].ravel()[order[-1]] >= out[..., 0].ravel()[order[0]]


def test_transfer_adapters(rng):
    samples = _samples(rng, 2)
    refs = B.closest_references(samples)
    for method in (B.WelshTransfer(refs), B.ReinhardTransfer(refs)):
        out = method(samples[0])
        assert out.shape == samples[0].gt.shape and out.dtype == np.uint8
        assert np.ptp(out.astype(int), axis=-1).max() > 0  # some colour was transferred


def test_build_baselines_unknown_name(rng):
    with pytest.raises(UsageError, match="unknown baseline"):
        B.build_baselines(["zero-chroma", "magic"], _samples(rng, 2))
