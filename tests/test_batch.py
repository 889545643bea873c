"""colorize_unit: one unit streamed frame batch by frame batch into its outputs, hooks, HU predictors."""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch
from pydicom.data import get_testdata_file

from medcolor.batch import UnitOptions, colorize_unit, unit_outputs
from medcolor.color import gray_to_lightness, rgb_to_lab_np
from medcolor.engine import ChromaFrame
from medcolor.errors import UsageError
from medcolor.fileio import TEMP_SUFFIX
from medcolor.io import OutputExistsError, open_image, read
from medcolor.predictor import Prediction, Predictor


@pytest.fixture
def volume(tmp_path):
    vol = (np.arange(20 * 16 * 7).reshape(20, 16, 7) % 900 - 400).astype(np.int16)
    nib.save(nib.Nifti1Image(vol, np.diag([0.5, 0.6, 2.0, 1.0])), tmp_path / "v.nii.gz")
    return tmp_path / "v.nii.gz"


class HoldTwo:
    """Holds two frames back and records what it saw (a stand-in for slice smoothing)."""

    context = 2

    def __init__(self):
        self.held, self.pushed, self.flushed = [], 0, 0

    def push(self, frame):
        L, ab, _ = frame
        assert L.shape[:2] == (1, 1) and ab.shape[:2] == (1, 2)
        self.pushed += 1
        self.held.append(ChromaFrame(L, ab * 0))  # neutral chroma: the output must then be gray
        return [self.held.pop(0)] if len(self.held) > 2 else []

    def flush(self):
        out, self.held = self.held, []
        self.flushed = len(out)
        return out


def test_nifti_unit_to_one_nifti_keeps_lightness_and_affine(tmp_path, volume, tiny_model_path):
    meta = open_image(volume).meta
    (out,) = unit_outputs(tmp_path / "out", Path("v"), meta, "nii")
    result = colorize_unit(volume, [out], UnitOptions(model=tiny_model_path, window="0,1000", batch_size=3))
    assert result.outputs == [out] and result.frames == 7 and out.name == "v.nii.gz"
    img = nib.load(out)
    assert img.shape == (20, 16, 7)
    np.testing.assert_allclose(img.affine, np.diag([0.5, 0.6, 2.0, 1.0]))
    data = np.asarray(img.dataobj)
    rgb = np.stack([data["R"], data["G"], data["B"]], axis=-1).astype(np.float64) / 255  # (X, Y, Z, 3)
    gray, _ = read(volume, window="0,1000")
    lightness = gray_to_lightness(torch.from_numpy(gray)).numpy()  # (F, H, W)
    out_l = rgb_to_lab_np(rgb)[..., 0].transpose(2, 1, 0)[:, ::-1]  # back to display frames
    assert np.abs(out_l - lightness).max() <= 1.0
    assert rgb.std(axis=-1).max() > 0.01  # real colour


def test_hook_sees_every_frame_in_order_and_can_hold_frames_back(tmp_path, volume, tiny_model_path):
    hook = HoldTwo()
    outs = unit_outputs(tmp_path / "out", Path("v"), open_image(volume).meta, "png")
    result = colorize_unit(volume, outs, UnitOptions(model=tiny_model_path, batch_size=2, hook=lambda meta: hook))
    assert hook.pushed == 7 and hook.flushed == 2 and len(result.outputs) == 7
    assert [p.name for p in outs[:2]] == ["v_z000.png", "v_z001.png"]
    from PIL import Image

    frame = np.asarray(Image.open(outs[4]))
    assert np.abs(frame.astype(int) - frame[..., :1]).max() <= 1  # the hook's neutral chroma: gray


class FnPredictor(Predictor):
    """A predictor from a function ``(L, hu) -> ab``."""

    def __init__(self, fn, name="fn", needs_hu=False):
        self.fn, self.name, self.needs_hu = fn, name, needs_hu

    def predict(self, L, *, hu=None, hints=None):
        return Prediction(self.fn(L, hu))


def test_predictor_gets_hounsfield_units(tmp_path, volume):
    seen = []

    def predict(L, hu):
        seen.append(float(hu.min()))
        return torch.cat([(hu / 20).clamp(-60, 60), torch.zeros_like(hu)], dim=1)

    outs = unit_outputs(tmp_path / "o", Path("v"), open_image(volume).meta, "dcm")
    colorize_unit(volume, outs, UnitOptions(model=FnPredictor(predict, "hu-test", needs_hu=True)))
    assert min(seen) == -400.0
    ds = pydicom.dcmread(outs[0])
    assert int(ds.NumberOfFrames) == 7 and ds.pixel_array.shape == (7, 16, 20, 3)
    assert "hu-test" in ds.SeriesDescription


def test_multiframe_dicom_to_one_multiframe_instance(tmp_path, tiny_model_path):
    path = get_testdata_file("emri_small.dcm")
    outs = unit_outputs(tmp_path, Path("emri"), open_image(path).meta, "dcm")
    result = colorize_unit(path, outs, UnitOptions(model=tiny_model_path, batch_size=4))
    ds = pydicom.dcmread(result.outputs[0])
    assert int(ds.NumberOfFrames) == 10 and ds.pixel_array.shape == (10, 64, 64, 3)
    again = colorize_unit(path, unit_outputs(tmp_path / "2", Path("emri"), open_image(path).meta, "dcm"),
                          UnitOptions(model=tiny_model_path, batch_size=4))
    assert pydicom.dcmread(again.outputs[0]).SOPInstanceUID == ds.SOPInstanceUID  # deterministic
    assert not list(tmp_path.rglob(f"*{TEMP_SUFFIX}"))


def test_existing_outputs_refused_or_skipped_before_any_work(tmp_path, volume, tiny_model_path):
    outs = unit_outputs(tmp_path / "out", Path("v"), open_image(volume).meta, "png")
    outs[2].parent.mkdir(parents=True)
    outs[2].write_bytes(b"mine")
    with pytest.raises(OutputExistsError):
        colorize_unit(volume, outs, UnitOptions(model=tiny_model_path))
    assert [p for p in outs if p.exists()] == [outs[2]]
    result = colorize_unit(volume, outs, UnitOptions(model=tiny_model_path, skip_existing=True))
    assert result.skipped == [outs[2]] and len(result.outputs) == 6 and outs[2].read_bytes() == b"mine"


def test_failure_mid_volume_leaves_no_partial_output(tmp_path, volume):
    calls = []

    def predict(L, hu):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated failure")
        return torch.zeros((L.shape[0], 2, 8, 8))

    (out,) = unit_outputs(tmp_path / "out", Path("v"), open_image(volume).meta, "nii")
    with pytest.raises(RuntimeError, match="simulated"):
        colorize_unit(volume, [out], UnitOptions(model=FnPredictor(predict), batch_size=2))
    assert not out.exists() and not list((tmp_path / "out").iterdir())


def test_hints_need_a_one_frame_unit(tmp_path, volume, tiny_model_path):
    outs = unit_outputs(tmp_path, Path("v"), open_image(volume).meta, "nii")
    with pytest.raises(UsageError, match="hints apply to a one-frame image"):
        colorize_unit(volume, outs, UnitOptions(model=tiny_model_path, hints=tmp_path / "h.png"))
