"""The reader interface: headers first, frames one at a time (bounded memory), HU values, typed meta."""
from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from medcolor.errors import InputError
from medcolor.io import ImageMeta, apply_window, open_image, read
from medcolor.limits import LimitError, Limits

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _multiframe(path: Path, frames: int, shape=(64, 64), syntax=ExplicitVRLittleEndian, modality="MR") -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = generate_uid(), generate_uid(), modality
    ds.Rows, ds.Columns, ds.NumberOfFrames = *shape, frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ramp = (np.arange(frames, dtype=np.uint16)[:, None, None] * 3 + np.arange(shape[1], dtype=np.uint16)) % 4096
    ds.PixelData = np.broadcast_to(ramp, (frames, *shape)).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_open_reads_headers_only_and_meta_is_typed():
    with open_image(EXAMPLES / "head_ct.dcm") as src:
        meta = src.meta
        assert isinstance(meta, ImageMeta) and meta.shape == (1, 256, 256) and meta.scaling == ""
        assert meta.modality == "CT" and meta.hu_available and not meta.hu_assumed
        assert meta.uids.study and meta.uids.series and meta.uids.sop_instances[0]
        assert meta.geometry.pixel_spacing is not None and meta.geometry.positions is not None
        gray = next(src.frames())
        assert gray.shape == (256, 256) and gray.dtype == np.float32 and meta.scaling in ("voi", "percentile")


def test_hu_frames_for_ct_and_nifti_and_refused_without(tmp_path):
    import pydicom

    ds = pydicom.dcmread(EXAMPLES / "head_ct.dcm")
    with open_image(EXAMPLES / "head_ct.dcm") as src:
        (hu,) = list(src.frames(values="hu"))
        ((gray, hu2),) = list(src.frames_with_hu())
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(hu, expected, atol=1e-3)
    np.testing.assert_array_equal(hu, hu2)
    np.testing.assert_array_equal(gray, read(EXAMPLES / "head_ct.dcm")[0][0])
    vol = np.linspace(-1000, 1000, 6 * 5 * 3).reshape(6, 5, 3).astype(np.int16)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / "v.nii.gz")
    with open_image(tmp_path / "v.nii.gz") as src:
        assert src.meta.hu_available and src.meta.hu_assumed
        frames = list(src.frames(values="hu"))
    np.testing.assert_array_equal(frames[1], vol[:, :, 1].T[::-1])
    for path, what in ((_multiframe(tmp_path / "mr.dcm", 2), "modality MR"), (tmp_path / "a.png", "PNG")):
        if path.suffix == ".png":
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
        with pytest.raises(InputError, match=f"has no Hounsfield units .*{what}"):
            next(open_image(path).frames(values="hu"))


def test_nifti_volume_streams_in_bounded_memory(tmp_path):
    vol = (np.arange(128 * 128 * 120, dtype=np.int32).reshape(128, 128, 120) % 3000 - 1000).astype(np.int16)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / "v.nii.gz")
    whole = vol.size * 4 / 2**20  # float32 volume: 7.5 MiB

    def stream():
        with open_image(tmp_path / "v.nii.gz", window="brain") as src:
            for k, frame in enumerate(src.frames()):
                if k == 57:
                    np.testing.assert_allclose(frame, apply_window(vol[:, :, 57].T[::-1], 40, 80), atol=1e-6)

    assert _peak_mib(stream) < whole / 4
    arr, meta = read(tmp_path / "v.nii.gz")  # percentiles over sampled slices, one mapping for all
    assert arr.shape == (120, 128, 128) and meta.scaling == "percentile" and arr.min() == 0 and arr.max() == 1


def test_multiframe_dicom_streams_in_bounded_memory(tmp_path):
    path = _multiframe(tmp_path / "mf.dcm", 300, shape=(96, 96))
    whole = 300 * 96 * 96 * 4 / 2**20  # 10.5 MiB as float32

    def stream():
        with open_image(path) as src:
            assert src.meta.kind == "stack"
            count = sum(1 for _ in src.frames())
        assert count == 300

    assert _peak_mib(stream) < whole / 4
    first, last = read(path)[0][[0, -1]]
    assert first.shape == (96, 96) and not np.array_equal(first, last)


def test_nifti_limits_come_from_the_header(tmp_path):
    """A 512 x 512 x 1500 header (its data cut short): opened without decoding, refused by the total limit."""
    header = nib.Nifti1Header()
    header.set_data_shape((512, 512, 1500))
    header.set_data_dtype(np.int16)
    header.set_data_offset(352)
    with gzip.open(tmp_path / "big.nii.gz", "wb") as f:
        f.write(header.binaryblock + b"\x00" * 4 + b"\x00" * 1000)
    with open_image(tmp_path / "big.nii.gz", window="brain") as src:
        assert src.meta.shape == (1500, 512, 512)
        with pytest.raises(InputError, match="truncated"):
            next(src.frames())
    with pytest.raises(LimitError, match=r"1500 frames of 512x512 = 393216000 pixels in all, over the limit "
                                         r"max_total_pixels=100000000; raise it with --max-total-pixels"):
        open_image(tmp_path / "big.nii.gz", limits=Limits(max_total_pixels=100_000_000))
    with pytest.raises(LimitError, match="max_buffer_bytes"):  # other axes are decoded whole
        open_image(tmp_path / "big.nii.gz", axis=0)


def test_deflated_multiframe_is_checked_from_its_header_and_streams(tmp_path):
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    path = _multiframe(tmp_path / "deflated.dcm", 1200, shape=(32, 32), syntax=DeflatedExplicitVRLittleEndian)
    assert path.stat().st_size < 200_000
    with pytest.raises(LimitError, match="1200 frames .* max_total_pixels=1000000"):
        open_image(path, limits=Limits(max_total_pixels=1_000_000))
    with pytest.raises(LimitError, match="1200 frames, over the limit max_frames=1000"):
        open_image(path, limits=Limits(max_frames=1000))
    src = open_image(path)
    inflated = src._decode_path
    assert inflated != path and inflated.exists()
    frames = list(src.frames(start=1195))
    assert len(frames) == 5 and frames[0].shape == (32, 32)
    src.close()
    assert not inflated.exists()


def test_multiframe_over_limit_from_header(tmp_path):
    path = _multiframe(tmp_path / "mf.dcm", 40, shape=(16, 16))
    with pytest.raises(LimitError, match="a frame is 16x16 = 256 pixels, over the limit max_frame_pixels=255"):
        read(path, max_pixels=255)
    read(path, limits=Limits(max_total_pixels=40 * 256))


def test_limits_dataclass():
    limits = Limits()
    assert limits.max_frame_pixels == 4096 * 4096 and limits.max_total_pixels == 10**9
    assert limits.replace(max_frames=5, max_total_pixels=None).max_frames == 5
    with pytest.raises(Exception, match="positive integer"):
        Limits(max_frame_pixels=0)
    web = Limits(max_frame_pixels=10, options={"max_frame_pixels": "the server's --max-pixels"})
    with pytest.raises(LimitError, match="raise it with the server's --max-pixels") as exc:
        web.check("x.png", frames=1, height=4, width=4)
    assert exc.value.limit == "max_frame_pixels" and isinstance(exc.value, InputError)
    Limits(max_frame_pixels=None, max_total_pixels=None).check("x", frames=1, height=10**5, width=10**5)


def test_frames_range_and_read_agree():
    path = get_testdata_file("emri_small.dcm")
    arr, meta = read(path)
    with open_image(path) as src:
        part = np.stack(list(src.frames(start=3, stop=6)))
    np.testing.assert_array_equal(part, arr[3:6])
    assert meta.frames == 10 and meta.kind == "stack"
