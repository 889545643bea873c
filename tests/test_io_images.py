"""medcolor.io readers/writers for PNG, JPEG, BMP and TIFF, format sniffing and bad inputs."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from medcolor.errors import InputError, MedcolorError
from medcolor.io import OutputExistsError, detect_format, read, write

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _gray8(h=24, w=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


@pytest.mark.parametrize("ext,fmt", [(".png", "PNG"), (".bmp", "BMP"), (".tif", "TIFF")])
def test_8bit_gray_is_exact(tmp_path, ext, fmt):
    g = _gray8()
    p = tmp_path / f"g{ext}"
    Image.fromarray(g).save(p, format=fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gray input: no warning
        arr, meta = read(p)
    assert arr.dtype == np.float32 and arr.shape == (1, 24, 32)
    np.testing.assert_array_equal(arr[0], g.astype(np.float32) / 255)
    assert meta.format == "image" and meta.bits == 8 and meta.frames == 1 and meta.window is None
    assert meta.path == str(p) and meta.warnings == []


def test_jpeg_gray(tmp_path):
    g = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (16, 1))
    p = tmp_path / "g.jpg"
    Image.fromarray(g).save(p, quality=95)
    arr, meta = read(p)
    assert arr.shape == (1, 16, 64) and meta.codec == "jpeg"
    np.testing.assert_array_equal(arr[0], np.asarray(Image.open(p), dtype=np.float32) / 255)
    assert np.abs(arr[0] * 255 - g).max() < 8


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_full_precision_and_robust_scaling(tmp_path, ext):
    rng = np.random.default_rng(1)
    g = rng.integers(1000, 4096, (40, 50)).astype(np.uint16)  # 12-bit data in a 16-bit file
    g[0, 0] = 65000  # one outlier must not squash the contrast
    p = tmp_path / f"g16{ext}"
    if ext == ".png":
        Image.fromarray(g).save(p)
    else:
        tifffile.imwrite(p, g)
    arr, meta = read(p)
    assert meta.bits == 16 and meta.scaling == "percentile"
    lo, hi = np.percentile(g, [0.5, 99.5])
    expected = np.clip((g.astype(np.float32) - lo) / (hi - lo), 0, 1)
    np.testing.assert_allclose(arr[0], expected, atol=1e-5)
    assert arr[0, 0, 0] == 1.0 and arr.min() == 0.0
    # distinct 16-bit values stay distinct (full precision, not truncated to 8 bits)
    assert len(np.unique(arr)) > 1000
    # an explicit window acts on the raw 16-bit values
    arr_w, meta_w = read(p, window="2000,1000")
    np.testing.assert_allclose(arr_w[0, 1:, 1:], np.clip((g[1:, 1:] - 1999.5) / 999 + 0.5, 0, 1), atol=1e-5)
    assert meta_w.window == (2000.0, 1000.0)


def test_float_tiff_and_stack(tmp_path):
    vol = np.random.default_rng(2).random((3, 10, 12)).astype(np.float32)
    p = tmp_path / "stack.tiff"
    tifffile.imwrite(p, vol, photometric="minisblack")
    arr, meta = read(p)
    assert arr.shape == (3, 10, 12) and meta.frames == 3
    np.testing.assert_array_equal(arr, vol)  # already in [0, 1]: kept as is


def test_rgb_rgba_palette_warn_once_and_keep_lightness(tmp_path):
    from medcolor.color import gray_to_lightness, rgb_to_lab_np

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    cases = {"rgb.png": Image.fromarray(rgb), "rgba.png": Image.fromarray(np.dstack([rgb, rgb[..., :1]])),
             "pal.png": Image.fromarray(rgb).quantize(16), "pal.tif": Image.fromarray(rgb).quantize(16),
             "rgb.tif": Image.fromarray(rgb), "rgb.jpg": Image.fromarray(rgb)}
    for name, im in cases.items():
        p = tmp_path / name
        im.save(p)
        with pytest.warns(UserWarning) as rec:
            arr, meta = read(p)
        messages = [str(w.message) for w in rec if str(p) in str(w.message)]
        assert len(messages) == 1 and "\n" not in messages[0] and "gray" in messages[0]
        assert meta.warnings == messages
        source = np.asarray(Image.open(p).convert("RGB"), dtype=np.float64) / 255  # as decoded
        lightness = rgb_to_lab_np(source)[..., 0]
        np.testing.assert_allclose(gray_to_lightness(arr[0].astype(np.float64)), lightness, atol=0.05)


def test_rgb_file_holding_gray_reads_without_warning(tmp_path):
    g = _gray8()
    p = tmp_path / "grayrgb.png"
    Image.fromarray(np.dstack([g, g, g])).save(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        arr, _ = read(p)
    np.testing.assert_array_equal(arr[0], g / np.float32(255))


def test_examples_read():
    for name in ("photo_gray.jpg", "shoulder_mr.png", "histology/he_tile_gray.png"):
        arr, meta = read(EXAMPLES / name)
        assert arr.ndim == 3 and arr.shape[0] == 1 and 0 <= arr.min() and arr.max() <= 1 and arr.std() > 0.05


# ---------------------------------------------------------------- format sniffing and bad inputs
def test_detect_format_by_content(tmp_path):
    g = _gray8()
    for fmt, pil in (("png", "PNG"), ("jpeg", "JPEG"), ("tiff", "TIFF"), ("bmp", "BMP")):
        p = tmp_path / "noext"
        Image.fromarray(g).save(p, format=pil)
        assert detect_format(p) == fmt
        assert detect_format(p.read_bytes()) == fmt
    assert detect_format(EXAMPLES / "head_ct.dcm") == "dicom"
    assert detect_format(EXAMPLES / "head_ct_slab.nii.gz") == "nifti"
    assert detect_format(b"hello world, not an image" * 30) is None
    assert detect_format(b"") is None
    assert detect_format(tmp_path / "missing.png") is None


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.png"
    Image.fromarray(_gray8(64, 64)).save(good)
    cases = {}
    (tmp_path / "empty.png").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.png", "empty")
    (tmp_path / "text.png").write_text("this is a text file renamed to .png\n" * 20)
    cases["text renamed"] = (tmp_path / "text.png", "not a valid PNG")
    data = good.read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    cases["truncated png"] = (tmp_path / "trunc.png", "truncated")
    Image.fromarray(_gray8(64, 64)).save(tmp_path / "j.jpg")
    jdata = (tmp_path / "j.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(jdata[:300])
    cases["truncated jpeg"] = (tmp_path / "trunc.jpg", "truncated")
    tifffile.imwrite(tmp_path / "t.tif", _gray8(64, 64))
    (tmp_path / "trunc.tif").write_bytes((tmp_path / "t.tif").read_bytes()[:100])
    cases["truncated tiff"] = (tmp_path / "trunc.tif", "TIFF")
    (tmp_path / "notes.xyz").write_text("plain text")
    cases["unsupported"] = (tmp_path / "notes.xyz", "supported: PNG, JPEG, TIFF, BMP, DICOM")
    cases["missing"] = (tmp_path / "missing.png", "no such file")
    return cases


def test_bad_inputs_raise_input_error_naming_the_file(tmp_path):
    for label, (path, needle) in _bad_inputs(tmp_path).items():
        with pytest.raises(InputError) as info:
            read(path)
        message = str(info.value)
        assert str(path) in message and needle in message and "\n" not in message, (label, message)


def test_max_pixels(tmp_path):
    p = tmp_path / "big.png"
    Image.fromarray(_gray8(100, 120)).save(p)
    read(p, max_pixels=12_000)
    with pytest.raises(InputError, match=r"big\.png.*over the limit max_frame_pixels=11999"):
        read(p, max_pixels=11_999)


# ---------------------------------------------------------------- writers
@pytest.mark.parametrize("name,lossless", [("o.png", True), ("o.tiff", True), ("o.jpg", False)])
def test_write_images_round_trip(tmp_path, name, lossless):
    rgb = np.random.default_rng(4).integers(0, 256, (1, 20, 30, 3), dtype=np.uint8)
    rgb[..., 10:, :, :] = 128  # a flat part so JPEG is close there
    out = write(tmp_path / name, rgb, {}, model_name="tiny")
    back = np.asarray(Image.open(out).convert("RGB"))
    if lossless:
        np.testing.assert_array_equal(back, rgb[0])
    else:
        assert np.abs(back[16:20, :].astype(int) - 128).max() <= 3  # its own 8x8 JPEG block row
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left behind


def test_write_refuses_overwrite_and_multiframe(tmp_path):
    rgb = np.zeros((1, 4, 5, 3), np.uint8)
    p = write(tmp_path / "x.png", rgb, {})
    before = p.read_bytes()
    with pytest.raises(OutputExistsError, match="x.png"):
        write(p, rgb + 9, {})
    assert p.read_bytes() == before
    write(p, rgb + 9, {}, overwrite=True)
    assert np.asarray(Image.open(p))[0, 0, 0] == 9
    with pytest.raises(MedcolorError, match="one frame"):
        write(tmp_path / "multi.png", np.zeros((2, 4, 5, 3), np.uint8), {})
    assert not (tmp_path / "multi.png").exists()
    assert sorted(os.listdir(tmp_path)) == ["x.png"]


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    from medcolor.io import images

    def boom(path, *a, **k):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(images, "write_image", boom)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path / "y.png", np.zeros((1, 4, 4, 3), np.uint8), {})
    assert os.listdir(tmp_path) == []
