"""API tests of the web app (``medcolor serve``) with FastAPI's TestClient.

Models are injected so the tests are fast and deterministic: ``ConstantChroma``
predicts one a*b* everywhere; ``GatedChroma`` blocks inside its forward pass
until the test releases it, which makes queueing observable without timing.
"""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from medcolor.color import AB_SCALE, gray_to_lightness, rgb_to_lab_np  # noqa: E402
from medcolor.models.base import Colorizer  # noqa: E402
from medcolor.web import WebConfig, create_app  # noqa: E402


class ConstantChroma(Colorizer):
    """Predicts the same a*b* (Lab units) at every pixel."""

    def __init__(self, a: float = 25.0, b: float = 15.0) -> None:
        super().__init__()
        self.register_buffer("ab", torch.tensor([a, b]) / AB_SCALE)

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        return self.ab.view(1, 2, 1, 1).expand(x.shape[0], 2, *x.shape[-2:]).clone()


class GatedChroma(ConstantChroma):
    """Like ConstantChroma, but each forward waits until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        self.started.set()
        if not self.release.wait(timeout=30):
            raise RuntimeError("test never released the gated model")
        return super().forward_normalized(x)


class Broken(Colorizer):
    """A model with a bug: every forward raises."""

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("simulated bug in a model")


def gray_png(h: int = 48, w: int = 64) -> bytes:
    """A gray PNG with a gradient and a bright square (uint8)."""
    yy, xx = np.mgrid[0:h, 0:w]
    g = (xx * 200 // max(w - 1, 1) + yy * 40 // max(h - 1, 1)).astype(np.uint8)
    g[h // 4:h // 2, w // 4:w // 2] = 240
    buf = io.BytesIO()
    Image.fromarray(g).save(buf, format="PNG")
    return buf.getvalue()


def noisy_png(h: int, w: int) -> bytes:
    """A gray PNG of random noise: it does not compress, so its size is about h*w bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (h, w), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def ct_dicom() -> Path:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("693_UNCI.dcm"))  # 512x512 head CT in HU, from pydicom-data


def make_client(**cfg) -> TestClient:
    models = {"const": ConstantChroma(), "broken": Broken()}
    models.update(cfg.pop("models", {}))
    config = WebConfig(model=cfg.pop("model", "const"), device="cpu", **cfg)
    return TestClient(create_app(config, models=models))


@pytest.fixture(scope="module")
def client():
    with make_client() as c:
        yield c


def post(client, data: bytes, name: str = "image.png", **form):
    return client.post("/api/colorize", files={"file": (name, data, "application/octet-stream")},
                       data={k: str(v) for k, v in form.items()})


def assert_json_error(r, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    msg = r.json()["error"]
    assert isinstance(msg, str) and msg
    return msg


# ------------------------------------------------------------------ round trips
def test_png_round_trip_keeps_lightness(client):
    data = gray_png()
    r = post(client, data)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-medcolor-model"] == "const"
    rgb = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    gray = np.asarray(Image.open(io.BytesIO(data))).astype(np.float64) / 255
    assert rgb.shape == (*gray.shape, 3)
    L_out = rgb_to_lab_np(rgb / 255.0)[..., 0]
    assert np.abs(L_out - gray_to_lightness(gray)).max() <= 1.0
    # it really is coloured: the constant model asked for a*=25, b*=15
    lab = rgb_to_lab_np(rgb / 255.0)
    assert np.median(lab[..., 1]) > 5 and np.median(lab[..., 2]) > 3


def test_type_is_checked_by_content_not_extension(client):
    r = post(client, gray_png(), name="scan.dcm")
    assert r.status_code == 200, r.text
    assert r.headers["x-medcolor-format"] == "png"


def test_dicom_round_trip(client):
    r = post(client, ct_dicom().read_bytes(), name="ct.dcm", format="dcm", window="soft-tissue")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/dicom"
    ds = pydicom.dcmread(io.BytesIO(r.content))
    assert ds.PhotometricInterpretation == "RGB" and ds.SamplesPerPixel == 3
    assert ds.pixel_array.shape == (512, 512, 3)
    # the same upload as PNG is the same picture
    png = post(client, ct_dicom().read_bytes(), name="ct.dcm", window="soft-tissue")
    assert png.status_code == 200
    rgb = np.asarray(Image.open(io.BytesIO(png.content)).convert("RGB"))
    assert np.abs(rgb.astype(int) - ds.pixel_array.astype(int)).max() <= 1


def test_multiframe_dicom_preview_first_frame_download_all(client):
    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("emri_small.dcm")).read_bytes()  # MR, 10 frames of 64x64
    png = post(client, data, name="mr.dcm")
    assert png.status_code == 200, png.text
    assert png.headers["x-medcolor-frames"] == "10" and png.headers["x-medcolor-frame"] == "0"
    assert Image.open(io.BytesIO(png.content)).size == (64, 64)
    dcm = post(client, data, name="mr.dcm", format="dcm")
    assert dcm.status_code == 200, dcm.text
    ds = pydicom.dcmread(io.BytesIO(dcm.content))
    assert int(ds.NumberOfFrames) == 10
    assert ds.pixel_array.shape == (10, 64, 64, 3)


def test_nifti_volume_previews_its_middle_slice(client, tmp_path):
    import nibabel

    vol = np.zeros((24, 20, 5), np.int16)  # (x, y, z) in HU
    vol[..., 2] = 400  # only the middle slice is bright
    path = tmp_path / "vol.nii.gz"
    nibabel.save(nibabel.Nifti1Image(vol, np.eye(4)), path)
    r = post(client, path.read_bytes(), name="vol.nii.gz", window="0,800")
    assert r.status_code == 200, r.text
    assert r.headers["x-medcolor-format"] == "nifti"
    frames, frame = int(r.headers["x-medcolor-frames"]), int(r.headers["x-medcolor-frame"])
    assert frames >= 5 and frame == frames // 2
    assert_json_error(post(client, path.read_bytes(), name="vol.nii.gz", format="dcm"), 400)


def test_preview_returns_windowed_gray(client):
    r = client.post("/api/preview", files={"file": ("ct.dcm", ct_dicom().read_bytes())},
                    data={"window": "bone"})
    assert r.status_code == 200, r.text
    im = Image.open(io.BytesIO(r.content))
    assert im.mode == "L" and im.size == (512, 512)
    assert r.headers["x-medcolor-format"] == "dicom"
    other = client.post("/api/preview", files={"file": ("ct.dcm", ct_dicom().read_bytes())},
                        data={"window": "lung"})
    assert other.content != r.content  # the window preset changes what the network sees


# ------------------------------------------------------------------ bad uploads
def test_non_image_gives_415(client):
    msg = assert_json_error(post(client, b"%PDF-1.4 this is not an image\n" * 10, name="x.png"), 415)
    assert "x.png" in msg


def test_empty_upload_is_a_clear_error(client):
    r = post(client, b"", name="empty.png")
    assert r.status_code == 422
    assert "empty" in r.json()["error"]


def test_corrupt_png_gives_4xx(client):
    data = gray_png()
    r = post(client, data[:60], name="cut.png")  # valid signature, truncated body
    assert r.status_code == 422, r.text
    assert "cut.png" in r.json()["error"]


def test_oversized_upload_gives_413():
    with make_client(max_upload_bytes=1000) as c:
        data = noisy_png(40, 40)
        assert len(data) > 1000
        msg = assert_json_error(post(c, data), 413)
        assert "1000" in msg
        # a body far over the cap is refused from its Content-Length, unread
        assert_json_error(post(c, b"\0" * (c.app.state.config.max_body_bytes + 1)), 413)
        assert c.get("/api/health").status_code == 200


def test_streamed_body_without_length_is_cut_at_the_cap():
    with make_client(max_upload_bytes=1000) as c:
        limit = c.app.state.config.max_body_bytes

        def chunks():  # no Content-Length: httpx sends it chunked
            for _ in range(limit // 4096 + 4):
                yield b"x" * 4096

        r = c.post("/api/colorize", content=chunks(),
                   headers={"content-type": "multipart/form-data; boundary=zzz"})
        assert_json_error(r, 413)
        assert post(c, gray_png(16, 16)).status_code == 200


def test_pixel_cap_gives_413():
    with make_client(max_pixels=1000) as c:
        msg = assert_json_error(post(c, gray_png(48, 64)), 413)  # 3072 pixels
        assert "pixels" in msg
        assert post(c, gray_png(20, 30)).status_code == 200  # 600 pixels


# ------------------------------------------------------------------ bad parameters
def test_unknown_model_is_4xx_and_paths_are_refused(client):
    msg = assert_json_error(post(client, gray_png(), model="nope"), 400)
    assert "nope" in msg and "const" in msg
    assert_json_error(post(client, gray_png(), model="/etc/passwd"), 400)


@pytest.mark.parametrize("form", [{"working_size": 5}, {"working_size": "big"}, {"working_size": 4096},
                                  {"format": "gif"}, {"hint_method": "magic"}])
def test_bad_parameters_give_422(client, form):
    msg = assert_json_error(post(client, gray_png(), **form), 422)
    assert next(iter(form)) in msg


def test_missing_file_gives_422(client):
    assert "file" in assert_json_error(client.post("/api/colorize", data={"model": "const"}), 422)


def test_dicom_output_needs_dicom_input(client):
    assert "dcm" in assert_json_error(post(client, gray_png(), format="dcm"), 400)


def test_unknown_window_is_4xx(client):
    r = post(client, ct_dicom().read_bytes(), name="ct.dcm", window="no-such-window")
    assert r.status_code == 400 and "no-such-window" in r.json()["error"]


# ------------------------------------------------------------------ hints
def test_hints_change_the_painted_region(client):
    h, w = 48, 64
    paint = np.zeros((h, w, 4), np.uint8)
    paint[30:40, 40:56] = (20, 60, 220, 255)  # a blue scribble, opaque
    buf = io.BytesIO()
    Image.fromarray(paint, "RGBA").save(buf, format="PNG")
    plain = post(client, gray_png(h, w))
    hinted = client.post("/api/colorize", files={"file": ("g.png", gray_png(h, w)),
                                                  "hints": ("hints.png", buf.getvalue(), "image/png")})
    assert hinted.status_code == 200, hinted.text
    a = rgb_to_lab_np(np.asarray(Image.open(io.BytesIO(plain.content)).convert("RGB")) / 255.0)
    b = rgb_to_lab_np(np.asarray(Image.open(io.BytesIO(hinted.content)).convert("RGB")) / 255.0)
    assert b[30:40, 40:56, 2].mean() < a[30:40, 40:56, 2].mean() - 5  # bluer (lower b*) where painted
    assert np.abs(b[..., 0] - a[..., 0]).max() <= 1.5  # lightness untouched


def test_hints_of_the_wrong_size_are_refused(client):
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(buf, format="PNG")
    r = client.post("/api/colorize", files={"file": ("g.png", gray_png()),
                                            "hints": ("hints.png", buf.getvalue(), "image/png")})
    if r.status_code == 200:
        pytest.fail("wrong-size hints were accepted")
    assert r.status_code == 400


# ------------------------------------------------------------------ load and robustness
def test_queue_runs_one_queues_one_and_refuses_the_third():
    gated = GatedChroma()
    with make_client(models={"slow": gated}, model="slow", queue_size=1) as c:
        queue = c.app.state.queue
        results: dict[int, object] = {}

        def send(i: int) -> None:
            results[i] = post(c, gray_png(16, 16))

        first = threading.Thread(target=send, args=(1,))
        first.start()
        assert gated.started.wait(10), "first request never reached the model"
        second = threading.Thread(target=send, args=(2,))
        second.start()
        deadline = time.monotonic() + 10
        while queue.stats()["waiting"] < 1:
            assert time.monotonic() < deadline, "second request was never queued"
            time.sleep(0.01)
        third = post(c, gray_png(16, 16))  # one running + one waiting = full
        assert_json_error(third, 503)
        assert third.headers.get("retry-after")
        # the page stays responsive while the worker is busy
        assert c.get("/api/health").json()["queue"]["running"] == 1
        gated.release.set()
        first.join(10)
        second.join(10)
        assert results[1].status_code == 200 and results[2].status_code == 200
        assert queue.stats()["completed"] >= 2 and queue.stats()["waiting"] == 0


def test_bad_requests_never_kill_the_server():
    with make_client(model="const") as c:
        assert_json_error(post(c, gray_png(), model="broken"), 500)
        assert c.post("/api/colorize", content=b"garbage", headers={"content-type": "multipart/form-data; "
                                                                    "boundary=zz"}).status_code == 400
        assert c.post("/api/colorize", content=b"{}", headers={"content-type": "application/json"}
                      ).status_code == 422
        assert post(c, b"\x89PNG\r\n\x1a\n" + os.urandom(200)).status_code == 422
        assert c.get("/api/health").json()["status"] == "ok"
        assert post(c, gray_png()).status_code == 200


def test_nothing_is_kept_on_disk(tmp_path, monkeypatch):
    import tempfile

    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    with make_client() as c:
        assert post(c, gray_png()).status_code == 200
        assert post(c, ct_dicom().read_bytes(), name="ct.dcm", format="dcm").status_code == 200
        assert post(c, b"not an image", name="x.png").status_code == 415
        assert post(c, gray_png(), model="broken").status_code == 500
    assert list(spool.iterdir()) == []


# ------------------------------------------------------------------ page, docs, listings
def test_models_health_and_windows(client):
    models = client.get("/api/models").json()
    assert models["default"] == "const" and {"const", "broken"} <= set(models["models"])
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["limits"]["max_pixels"] > 0
    presets = client.get("/api/windows").json()["presets"]
    assert {"lung", "bone", "brain"} <= set(presets)


def test_page_and_docs_use_no_external_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text
    for asset in ("/static/app.js", "/static/style.css", "/static/docs.js"):
        r = client.get(asset)
        assert r.status_code == 200, asset
        assert "http://" not in r.text and "https://" not in r.text, asset
    for html in (page.text, docs.text):
        assert "http://" not in html and "https://" not in html
    spec = client.get("/openapi.json").json()
    assert {"/api/colorize", "/api/models", "/api/health"} <= set(spec["paths"])


# ------------------------------------------------------------------ CLI
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serve_bad_options_fail_with_one_line(capsys):
    from medcolor.cli import main

    assert main(["serve", "--model", "no-such-model", "--port", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no-such-model" in err
    assert main(["serve", "--queue-size", "-1"]) == 2


def test_cli_serve_end_to_end(tmp_path):
    """``medcolor serve`` in a subprocess answers HTTP, then stops on SIGTERM."""
    import httpx

    from medcolor.models import create_model
    from medcolor.weights import save_model

    model = save_model(create_model("fastcolor", widths=(4, 4, 4, 4, 4)), tmp_path / "tiny.safetensors")
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "medcolor", "serve", "--port", str(port), "--model",
                             str(model), "--device", "cpu", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.json()["default_model"] == "tiny"
        r = httpx.post(f"{base}/api/colorize", files={"file": ("g.png", gray_png())}, timeout=30)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert json.loads(httpx.get(f"{base}/api/models").text)["models"][0] == "tiny"
    finally:
        proc.terminate()
        proc.wait(15)
