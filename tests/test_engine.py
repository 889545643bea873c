"""One engine behind every surface: the API, the command line and the web app give identical pixels
(hints, a smoothed volume, ct-tissue); the engine's rules and its single-frame mode."""
from __future__ import annotations

import io
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

import medcolor
from medcolor.cli import main
from medcolor.engine import ArraySource, Engine, EngineOptions
from medcolor.errors import UsageError
from medcolor.io.nifti import from_display_slices
from medcolor.predictor import CtTissuePredictor, make_predictor
from medcolor.volume import SliceSmoother, SmoothingSettings

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from medcolor.web import WebConfig, create_app  # noqa: E402


def _png_bytes(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG")
    return buf.getvalue()


def _web(tiny_model_path, path: Path, **form) -> np.ndarray:
    """The web app's answer for ``path`` as an array (uploads the file, and ``hints`` as a PNG file)."""
    app = create_app(WebConfig(model=str(tiny_model_path), device="cpu"))
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    hints = form.pop("hints", None)
    if hints is not None:
        files["hints"] = ("hints.png", Path(hints).read_bytes(), "image/png")
    with TestClient(app) as client:
        r = client.post("/api/colorize", files=files, data={k: str(v) for k, v in form.items()})
    assert r.status_code == 200, r.text
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))


def _cli(tiny_model_path, path: Path, out: Path, *flags) -> None:
    assert main(["colorize", str(path), "-o", str(out), "--model", str(tiny_model_path), "-q", *flags]) == 0


@pytest.fixture
def photo(tmp_path):
    yy, xx = np.mgrid[0:60, 0:80]
    gray = (xx * 3 + yy).astype(np.uint8)
    gray[15:30, 20:40] = 230
    Image.fromarray(gray).save(tmp_path / "photo.png")
    marks = np.zeros((60, 80, 4), np.uint8)
    marks[18:24, 24:34] = (200, 40, 40, 255)  # a red stroke
    marks[45:50, 60:70] = (40, 60, 200, 255)  # a blue one
    Image.fromarray(marks, "RGBA").save(tmp_path / "hints.png")
    return tmp_path / "photo.png", tmp_path / "hints.png"


@pytest.fixture
def volume(tmp_path):
    z, y, x = np.mgrid[0:9, 0:28, 0:24]
    vol = (400 * np.sin(x / 4.0 + z / 3.0) + 300 * np.cos(y / 5.0)).astype(np.int16)  # display (F, H, W)
    path = tmp_path / "vol.nii.gz"
    nib.save(nib.Nifti1Image(from_display_slices(vol, 2), np.diag([0.8, 0.8, 2.0, 1.0])), path)
    return path


def test_hints_give_identical_pixels_through_api_cli_and_web(tmp_path, photo, tiny_model_path):
    image, hints = photo
    api = medcolor.colorize(image, model=tiny_model_path, hints=hints, device="cpu")
    _cli(tiny_model_path, image, tmp_path / "out", "--hints", str(hints))
    cli = np.asarray(Image.open(tmp_path / "out" / "photo.png").convert("RGB"))
    web = _web(tiny_model_path, image, hints=hints)
    plain = medcolor.colorize(image, model=tiny_model_path, device="cpu")
    assert api.shape == (60, 80, 3) and np.abs(api.astype(int) - plain).max() > 20  # the hints changed it
    np.testing.assert_array_equal(cli, api)
    np.testing.assert_array_equal(web, api)


def test_a_smoothed_volume_gives_identical_pixels_through_api_cli_and_web(tmp_path, volume, tiny_model_path):
    api = medcolor.colorize(volume, model=tiny_model_path, device="cpu")  # smoothed by default
    assert api.shape == (9, 28, 24, 3)
    unsmoothed = medcolor.colorize(volume, model=tiny_model_path, device="cpu", smooth=False)
    assert not np.array_equal(api, unsmoothed)
    _cli(tiny_model_path, volume, tmp_path / "out")
    cli = np.stack([np.asarray(Image.open(tmp_path / "out" / f"vol_z{k:03d}.png").convert("RGB"))
                    for k in range(9)])
    np.testing.assert_array_equal(cli, api)
    web = _web(tiny_model_path, volume)  # the middle slice, smoothed with its neighbours
    np.testing.assert_array_equal(web, api[4])


def test_ct_tissue_gives_identical_pixels_through_api_cli_and_web(tmp_path, tiny_model_path):
    from pydicom.data import get_testdata_file

    ct = Path(get_testdata_file("CT_small.dcm"))
    api = medcolor.colorize(ct, model="ct-tissue")
    assert main(["colorize", str(ct), "-o", str(tmp_path / "out"), "--model", "ct-tissue", "-q"]) == 0
    cli = np.asarray(Image.open(tmp_path / "out" / "CT_small.png").convert("RGB"))
    web = _web(tiny_model_path, ct, model="ct-tissue")
    assert api.shape == (128, 128, 3) and api.std(axis=-1).max() > 5  # colour from HU
    np.testing.assert_array_equal(cli, api)
    np.testing.assert_array_equal(web, api)


def test_one_frame_of_a_volume_equals_that_frame_of_the_whole(tiny_model_path):
    gray = np.random.default_rng(0).random((20, 16, 12)).astype(np.float32)
    src = ArraySource(gray)
    engine = Engine(make_predictor(tiny_model_path, device="cpu"),
                    EngineOptions(batch_size=1, hook=lambda meta: SliceSmoother(SmoothingSettings(radius=3))))
    whole = [f.rgb for f in engine.run(src)]
    for k in (0, 2, 10, 19):
        (one,) = list(engine.run(src, frame=k))
        np.testing.assert_array_equal(one.rgb, whole[k])


def test_the_rules_are_decided_once(tiny_model_path):
    net_engine = Engine(make_predictor(tiny_model_path, device="cpu"))
    stack = ArraySource(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(UsageError, match="hints apply to a one-frame image, this has 2 frames"):
        list(net_engine.run(stack, hints=(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), bool))))
    ct = Engine(CtTissuePredictor())
    with pytest.raises(UsageError, match="Hounsfield units"):
        list(ct.run(stack))
    with pytest.raises(UsageError, match="hints do not apply to ct-tissue"):
        CtTissuePredictor().check_hints()
    with pytest.raises(UsageError, match="has no confidence"):
        Engine(make_predictor(tiny_model_path, device="cpu"), EngineOptions(confidence=True))
    with pytest.raises(UsageError, match="batch size"):
        EngineOptions(batch_size=0)


def test_frames_are_predicted_in_batches(tiny_model_path):
    net = medcolor.load_model(tiny_model_path)
    sizes = []
    net.register_forward_hook(lambda _m, args, _out: sizes.append(args[0].shape[0]))
    engine = Engine(make_predictor(net, device="cpu"), EngineOptions(batch_size=4, smooth=False))
    frames = list(engine.run(ArraySource(np.random.default_rng(1).random((10, 16, 16)).astype(np.float32))))
    assert len(frames) == 10 and sizes == [4, 4, 2]
    assert all(f.rgb.shape == (16, 16, 3) and f.confidence is None for f in frames)
