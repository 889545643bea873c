"""Peak memory (RSS) of ``medcolor colorize`` on extreme inputs, model included.

    .venv/bin/python benchmarks/bench_memory.py [--slices 1500] [--model default] [--device cpu] [--threads 1]
        [--cases strip,ref,dicom,huge,volume]

Each case runs ``python -m medcolor colorize FILE -o OUT`` in its own process
and reads that process's peak resident set size (``ru_maxrss`` from
``os.wait4``), so nothing of one case (or of this script) counts in another.
The inputs are built in a temporary folder, cheaply and without holding them
in memory:

* a 1 x 1000 PNG (an extreme aspect ratio);
* a 512 x 512 x SLICES gzipped NIfTI CT volume (int16, streamed to disk slice by slice);
* a 4096 x 4096 16-bit DICOM (the largest frame the default limits accept);
* a 10000 x 10000 PNG, 1e8 pixels (over the default frame limit: refused from its header).

Also reported: wall time, and for the volume the time per slice against a single
512 x 512 PNG (a slice costs what an image of its size costs).  The target is a
peak RSS of at most 2.5 GB for every case.
"""
from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

TARGET_GB = 2.5


def _png(path: Path, width: int, height: int) -> Path:
    """A gray PNG with a horizontal gradient, compressed row by row (never held whole)."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\0" + (np.arange(width) * 255 // max(width - 1, 1)).astype(np.uint8).tobytes()
    comp = zlib.compressobj(6)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
        body = [comp.compress(row) for _ in range(height)]
        f.write(chunk(b"IDAT", b"".join(body) + comp.flush()) + chunk(b"IEND", b""))
    return path


def _nifti(path: Path, slices: int, side: int = 512) -> Path:
    """A gzipped int16 NIfTI of ``side x side x slices`` (HU-like disc with a slice-dependent radius)."""
    import nibabel

    header = nibabel.Nifti1Header()
    header.set_data_shape((side, side, slices))
    header.set_data_dtype(np.int16)
    header.set_zooms((0.7, 0.7, 1.0))
    header.set_qform(np.diag([0.7, 0.7, 1.0, 1.0]), code=1)
    header.set_sform(np.diag([0.7, 0.7, 1.0, 1.0]), code=1)
    header["vox_offset"] = 352
    yy, xx = np.mgrid[0:side, 0:side]
    r2 = (yy - side / 2) ** 2 + (xx - side / 2) ** 2
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header.binaryblock + b"\0" * 4)  # 348-byte header + empty extension flag
        for z in range(slices):  # stored order: x fastest, so write each z-slice in Fortran order
            radius = side * (0.2 + 0.2 * np.sin(np.pi * z / max(slices - 1, 1)))
            sl = np.where(r2 < radius ** 2, 40, -1000).astype(np.int16)
            f.write(np.asfortranarray(sl).tobytes(order="F"))
    return path


def _dicom(path: Path, side: int = 4096) -> Path:
    """A 16-bit MONOCHROME2 DICOM of ``side x side`` (a gradient), written with pydicom."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "DX", "Bench^Memory", "0"
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    yy, xx = np.mgrid[0:side, 0:side].astype(np.uint32)
    ds.PixelData = ((xx + yy) * 4095 // (2 * side - 2)).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _run_case(cmd: list[str], threads: int) -> tuple[float, float, int, str]:
    """Run ``cmd`` with ``threads`` torch/OpenMP threads; returns (peak RSS in GB, wall seconds, exit code,
    last stderr line)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    t = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]  # the per-file reason, else the summary
    return usage.ru_maxrss / 2**20, seconds, proc.returncode, (errors or lines or [""])[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=1500, help="slices of the NIfTI volume (default 1500)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each case (default 1)")
    ap.add_argument("--cases", default="strip,ref,dicom,huge,volume", help="cases to run (default: all)")
    args = ap.parse_args()
    import torch

    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        t = time.perf_counter()
        builders = {
            "strip": lambda: ("1 x 1000 PNG", _png(tmp / "strip.png", 1000, 1), 1),
            "ref": lambda: ("512 x 512 PNG (reference)", _png(tmp / "ref.png", 512, 512), 1),
            "dicom": lambda: ("4096 x 4096 DICOM (16-bit)", _dicom(tmp / "big.dcm"), 1),
            "huge": lambda: ("10000 x 10000 PNG (1e8 pixels)", _png(tmp / "huge.png", 10000, 10000), 1),
            "volume": lambda: (f"512 x 512 x {args.slices} NIfTI", _nifti(tmp / "volume.nii.gz", args.slices),
                               args.slices),
        }
        cases = [builders[name.strip()]() for name in args.cases.split(",")]
        print(f"inputs built in {time.perf_counter() - t:.1f} s: "
              + ", ".join(f"{p.name} {p.stat().st_size / 2**20:.2f} MiB" for _, p, _ in cases))
        print(f"machine: {_cpu_name()}, {os.cpu_count()} CPU threads, "
              f"torch {torch.__version__} ({args.threads} thread(s) per case), device {args.device}, "
              f"Python {platform.python_version()}", flush=True)
        print()
        print("| input | file size | peak RSS (GB) | wall time (s) | per frame (s) | result |")
        print("|---|---|---|---|---|---|")
        ref_per_frame = None
        worst = 0.0
        for name, path, frames in cases:
            out = tmp / f"out-{path.stem.split('.')[0]}"
            cmd = [sys.executable, "-m", "medcolor", "colorize", str(path), "-o", str(out), "--model", args.model,
                   "--device", args.device, "-q"]
            gb, seconds, code, last = _run_case(cmd, args.threads)
            worst = max(worst, gb)
            if "reference" in name:
                ref_per_frame = seconds
            per_frame = f"{seconds / frames:.3f}" if frames > 1 else ""
            result = "written" if code == 0 else f"refused: {last.split(': ', 1)[-1][:90]}"
            print(f"| {name} | {path.stat().st_size / 2**20:.2f} MiB | {gb:.2f} | {seconds:.1f} | {per_frame} | "
                  f"{result} |", flush=True)
            shutil.rmtree(out, ignore_errors=True)
        print()
        if ref_per_frame is not None:
            print(f"reference: one 512 x 512 PNG takes {ref_per_frame:.2f} s including start-up and model load")
        print(f"worst peak RSS {worst:.2f} GB; target <= {TARGET_GB} GB: {'met' if worst <= TARGET_GB else 'NOT met'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
