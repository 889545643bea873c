"""Time medcolor.io: decoding real medical files and writing colorized outputs.

    .venv/bin/python benchmarks/bench_io.py [--data /work/shared/data] [--repeats 5]

Reports the median wall time of ``read`` per file (DICOM incl. modality LUT,
VOI and MONOCHROME1; NIfTI incl. slicing) and of ``write`` per output format
for a 2k x 2k RGB frame (a tinted chest X-ray, standing in for a colorized one).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: imports, decoder plugins, page cache
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from pydicom.data import get_testdata_file

    from medcolor.io import read, write

    gray = args.data / "medical_gray"
    files = [gray / "RG1_UNCI.dcm", gray / "MR2_UNCI.dcm", gray / "693_UNCI.dcm",
             Path(get_testdata_file("RG1_J2KR.dcm") or ""), Path(get_testdata_file("emri_small_RLE.dcm") or ""),
             gray / "head_ct_invesalius.nii.gz", ROOT / "examples" / "chest_xray_cr.dcm",
             ROOT / "examples" / "photo_gray.jpg"]
    print("## read")
    for path in files:
        if not path.is_file():
            print(f"{path.name:28s} (missing, skipped)")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frames, meta = read(path)
            seconds = _median_seconds(lambda p=path: read(p), args.repeats)
        shape = "x".join(map(str, frames.shape))
        print(f"{path.name:28s} {shape:>14s}  {seconds * 1000:8.1f} ms")

    print("## write one colorized-like 1955x1841 RGB frame (the chest X-ray, tinted)")
    frames, _ = read(files[0]) if files[0].is_file() else (np.random.default_rng(0).random((1, 2048, 2048)), None)
    g = np.rint(frames[0] * 255).astype(np.uint8)
    rgb = np.stack([g, (g * 0.9).astype(np.uint8), (g * 0.8).astype(np.uint8)], axis=-1)[None]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("png", "jpg", "tiff", "dcm", "nii"):
            out = Path(tmp) / f"x.{fmt}"
            seconds = _median_seconds(lambda o=out, f=fmt: write(o, rgb, {}, fmt=f, overwrite=True), args.repeats)
            print(f"{fmt:5s} {seconds * 1000:8.1f} ms  ({out.stat().st_size / 2 ** 20:.1f} MiB)")


if __name__ == "__main__":
    main()
