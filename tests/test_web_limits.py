"""The web app under hostile uploads: 4xx for every user error, 413 over the limits, no server paths."""
from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from hostile_files import png_bytes, zero_png_bytes

pytest.importorskip("fastapi")
from test_web import assert_json_error, ct_dicom, gray_png, make_client, post  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with make_client() as c:
        yield c


def _no_server_path(msg: str) -> str:
    assert "/tmp" not in msg and "medcolor-web" not in msg and "upload." not in msg, msg
    return msg


def _nifti_bytes(tmp_path, name: str, shape=(24, 20, 3)) -> bytes:
    import nibabel

    vol = np.random.default_rng(0).normal(40, 300, shape).astype(np.int16)
    nibabel.save(nibabel.Nifti1Image(vol, np.eye(4)), tmp_path / name)
    return (tmp_path / name).read_bytes()


@pytest.mark.parametrize("name", ["vol.nii", "vol.nii.gz"])
def test_nifti_uploads_plain_and_gzipped(client, tmp_path, name):
    data = _nifti_bytes(tmp_path, name)
    assert data[:2] == b"\x1f\x8b" if name.endswith(".gz") else data[:2] != b"\x1f\x8b"
    r = post(client, data, name=name)
    assert r.status_code == 200, r.text
    assert r.headers["x-medcolor-format"] == "nifti" and r.headers["x-medcolor-frames"] == "3"


def test_png_bomb_is_413_from_its_header(client):
    msg = assert_json_error(post(client, png_bytes(30000, 30000), name="bomb.png"), 413)
    assert "bomb.png" in _no_server_path(msg) and "too large" in msg


def test_a_valid_7000_square_png_is_refused_at_once(client):
    data = zero_png_bytes(7000, 7000)  # ~50 kB; 49 M pixels decoded
    assert len(data) < 200_000
    msg = assert_json_error(post(client, data, name="big.png"), 413)
    assert "7000x7000" in _no_server_path(msg)


def test_limits_are_the_configured_ones():
    with make_client(max_pixels=1000) as c:
        msg = assert_json_error(post(c, gray_png(48, 64)), 413)
        assert "3072" in msg and "max_frame_pixels=1000" in msg
        assert post(c, gray_png(20, 30)).status_code == 200
        limits = c.get("/api/health").json()["limits"]
        assert limits["max_pixels"] == 1000 and limits["max_total_pixels"] > 0 and limits["max_frames"] > 0


def test_whole_file_limits_count_every_frame(tmp_path):
    from pydicom.data import get_testdata_file

    data = open(get_testdata_file("emri_small.dcm"), "rb").read()  # 10 frames of 64x64
    with make_client(max_total_pixels=64 * 64 * 9) as c:
        msg = assert_json_error(post(c, data, name="mr.dcm"), 413)
        assert "mr.dcm" in _no_server_path(msg) and "--max-total-pixels" in msg
    with make_client(max_frames=9) as c:
        assert "--max-frames" in assert_json_error(post(c, data, name="mr.dcm"), 413)
    with make_client(max_frames=1) as c:  # NIfTI slices count as frames too
        assert_json_error(post(c, _nifti_bytes(tmp_path, "v.nii"), name="v.nii"), 413)


def _hints(client, data: bytes, image: bytes | None = None):
    return client.post("/api/colorize", files={"file": ("g.png", image or gray_png(48, 64)),
                                               "hints": ("hints.png", data, "image/png")})


def test_huge_hints_are_413_and_never_decoded(client):
    msg = assert_json_error(_hints(client, png_bytes(30000, 30000, color_type=2)), 413)
    assert "hints" in msg
    r = _hints(client, png_bytes(5000, 5000, color_type=2))  # under Pillow's bomb limit, wrong size
    assert "5000x5000" in assert_json_error(r, 400)


def test_truncated_hints_are_a_4xx(client):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 4), dtype=np.uint8), "RGBA").save(
        buf, format="PNG")
    msg = assert_json_error(_hints(client, buf.getvalue()[:200]), 422)
    assert "hints" in msg and "truncated" in msg
    assert "hints" in assert_json_error(_hints(client, b"GIF89a" + b"\0" * 100), 415)


@pytest.mark.parametrize("name, data, status", [
    ("cut.png", gray_png()[:60], 422),
    ("cut.nii.gz", b"\x1f\x8b\x08\x00" + b"\0" * 40, 415),  # a gzip stream that holds no NIfTI header
    ("text.dcm", b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\x04\x001.2\x00" + b"garbage" * 10, 422),
])
def test_bad_files_are_4xx_without_server_paths(client, name, data, status):
    r = post(client, data, name=name)
    assert r.status_code == status, r.text
    _no_server_path(r.json()["error"])


def _dicom_variant(tmp_path, edit) -> bytes:
    ds = pydicom.dcmread(ct_dicom())
    edit(ds)
    out = tmp_path / "x.dcm"
    ds.save_as(out)
    return out.read_bytes()


def test_dicom_with_an_empty_voi_lut_sequence_is_not_a_500(client, tmp_path):
    from pydicom.sequence import Sequence

    def empty_voi(ds):
        ds.VOILUTSequence = Sequence([])
        for k in ("WindowCenter", "WindowWidth"):
            if k in ds:
                delattr(ds, k)

    r = post(client, _dicom_variant(tmp_path, empty_voi), name="voi.dcm")
    assert r.status_code == 422, r.text


def test_palette_dicom_without_a_lut_is_a_4xx(client, tmp_path):
    def palette(ds):
        ds.PhotometricInterpretation = "PALETTE COLOR"

    r = post(client, _dicom_variant(tmp_path, palette), name="pal.dcm")
    assert r.status_code == 422, r.text
    assert "pal.dcm" in _no_server_path(r.json()["error"])


def test_a_server_fault_is_500_and_names_only_the_client_file(client):
    msg = assert_json_error(post(client, gray_png(), name="mine.png", model="broken"), 500)
    assert "mine.png" in _no_server_path(msg)
