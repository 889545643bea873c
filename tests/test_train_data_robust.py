"""Training data survives decompression bombs and files that become unreadable during a run."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hostile_files import png_bytes, write
from test_train import make_colour_folder

from medcolor.errors import InputError
from medcolor.train.config import DataConfig
from medcolor.train.data import MAX_SUBSTITUTES, TrainDataset, load_val_batch, scan_folder


@pytest.fixture
def colour(tmp_path):
    return make_colour_folder(tmp_path / "colour", n=4)


@pytest.mark.parametrize("side", [30000, 10000])  # over Pillow's error limit, and over its warning limit
def test_scan_skips_png_bombs_with_a_warning(colour, side):
    bomb = write(colour / f"bomb{side}.png", png_bytes(side, side, color_type=2))
    with pytest.warns(UserWarning, match=f"bomb{side}.png: unreadable image skipped .*DecompressionBomb"):
        result = scan_folder(colour, gray_threshold=2.0)
    assert result.unreadable == 1 and str(bomb) not in [s.color for s in result.samples]
    assert len(result.samples) == 4


def test_scan_skips_truncated_and_unreadable_files(colour):
    good = next(colour.glob("*.png")).read_bytes()
    write(colour / "truncated.png", good[: len(good) // 3])
    write(colour / "text.jpg", b"hello")
    with pytest.warns(UserWarning) as record:
        result = scan_folder(colour, gray_threshold=2.0)
    assert result.unreadable == 2 and len(result.samples) == 4
    assert {r.message.args[0].split(":")[0].rsplit("/", 1)[-1] for r in record} >= {"truncated.png", "text.jpg"}


def test_a_file_that_becomes_unreadable_mid_run_is_skipped_reproducibly(colour):
    samples = scan_folder(colour, gray_threshold=2.0).samples
    cfg = DataConfig(size=16)
    ds = TrainDataset(samples, cfg)
    want = ds[(1, 1234)]  # what sample 1 gives with this seed
    victim = samples[0].color
    with open(victim, "r+b") as f:  # truncated after the scan
        f.truncate(40)
    with pytest.warns(UserWarning, match="unreadable during training, skipped"):
        got = ds[(0, 1234)]
    assert torch.equal(got["rgb"], want["rgb"])  # the next sample, same augmentation seed
    assert ds[(2, 99)]["rgb"].shape == (3, 16, 16)  # the others are unaffected


def test_too_many_unreadable_files_in_a_row_stop_with_one_line(colour):
    samples = scan_folder(colour, gray_threshold=2.0).samples
    for s in samples:
        write(Path(s.color), b"gone")
    ds = TrainDataset(samples, DataConfig(size=16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match=f"{min(len(samples), MAX_SUBSTITUTES)} training images in a row"):
            ds[(0, 1)]


def test_validation_images_that_vanish_are_skipped(colour):
    samples = scan_folder(colour, gray_threshold=2.0).samples
    os.remove(samples[1].color)
    with pytest.warns(UserWarning, match="validation image unreadable"):
        batch = load_val_batch(samples, size=16, limit=10)
    assert batch["rgb"].shape == (len(samples) - 1, 3, 16, 16) and batch["rgb"].dtype == torch.uint8
    assert np.isfinite(batch["rgb"].float().numpy()).all()


def test_a_resumed_run_removes_a_killed_runs_temporary_files(colour, tmp_path):
    from test_train import COMMON, TINY

    from medcolor.cli import main
    from medcolor.fileio import TEMP_SUFFIX

    run = tmp_path / "run"
    assert main(["train", "--recipe", "fastcolor-photo", "--data", str(colour), "--out", str(run), *COMMON,
                 *TINY["fastcolor-photo"]]) == 0
    stale = [run / f".model.safetensors.a1b2{TEMP_SUFFIX}", run / "checkpoints" / f".step_00000003.pt.x{TEMP_SUFFIX}"]
    for p in stale:
        p.write_bytes(b"half written")
    assert main(["train", "--resume", str(run), "--steps", "3"]) == 0
    assert not any(p.exists() for p in stale)
    assert not list(run.rglob(f"*{TEMP_SUFFIX}"))
