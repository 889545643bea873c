"""`torchrun --nproc_per_node 2 -m medcolor colorize`: the ranks split the inputs; each output is written once."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from medcolor.sharding import Shard

TORCHRUN = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))


def test_the_split_is_deterministic_whole_and_balanced():
    items = [f"f{i}" for i in range(7)]
    cost = {"f0": 100, "f1": 1, "f2": 1, "f3": 50, "f4": 1, "f5": 50, "f6": 1}.__getitem__
    shares = [Shard(rank=r, world_size=3).take(items, cost) for r in range(3)]
    assert sorted(sum(shares, [])) == items  # every unit on exactly one rank
    assert shares == [Shard(rank=r, world_size=3).take(items, cost) for r in range(3)]
    assert shares[0] == ["f0"]  # the big one alone; the rest share the others
    assert all(s == sorted(s) for s in shares)  # each rank keeps the input order
    assert Shard().take(items, cost) == items


@pytest.mark.skipif(not Path(TORCHRUN).exists(), reason="torchrun not installed")
def test_torchrun_two_cpu_processes_split_a_folder(tmp_path, tiny_model_path):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (20, 24 + i), dtype=np.uint8)).save(src / f"img{i}.png")
    nib.save(nib.Nifti1Image(rng.normal(0, 100, (16, 18, 3)).astype(np.int16), np.eye(4)), src / "vol.nii.gz")
    (src / "bad.png").write_text("not an image")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "medcolor", "colorize", str(src),
           "-o", str(tmp_path / "out"), "--model", str(tiny_model_path), "--device", "cpu", "-q"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0  # bad.png failed, so the job fails, on every rank
    err = proc.stderr
    summaries = [line for line in err.splitlines() if line.startswith("colorized ")]
    assert len(summaries) == 1, err[-3000:]  # rank 0 prints one summary for both ranks
    assert "colorized 8 image(s) into 8 file(s)" in summaries[0] and "skipped" not in summaries[0]
    assert "1 failed" in summaries[0] and "2 processes" in summaries[0]
    counts = [int(x.split(": ")[1]) for x in summaries[0].split("inputs per rank: ")[1].rstrip(")").split(", ")]
    assert sum(counts) == 7 and min(counts) >= 1  # both ranks worked, each input on one rank
    assert err.count("bad.png: ") == 1
    outs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outs == sorted([f"img{i}.png" for i in range(5)] + [f"vol_z00{i}.png" for i in range(3)])
