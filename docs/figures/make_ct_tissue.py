"""Figure for the ct-tissue rendering in docs/medical.md (docs/figures/ct_tissue.png).

Rows: the bundled head CT (``examples/head_ct.dcm``) and one slice of the head
CT NIfTI volume in the shared data (``head_ct_invesalius.nii.gz``, taken to be
in HU).  Columns: the gray display and ``ct-tissue`` in a soft-tissue window,
then in a bone window, where fat and soft tissue are nearly the same gray but
keep their colours.  Bottom: the colour scale, HU -> colour at a mid lightness.

    .venv/bin/python docs/figures/make_ct_tissue.py [--nifti PATH] [--slice 40] [--out docs/figures/ct_tissue.png]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from make_model_figures import tile  # this folder is on sys.path when run as a script
from PIL import Image, ImageDraw

import medcolor
from medcolor.ct_tissue import CONTROL_POINTS, colorize_hu
from medcolor.io import open_image

ROOT = Path(__file__).resolve().parents[2]
NIFTI = ROOT.parent / "shared" / "data" / "medical_gray" / "head_ct_invesalius.nii.gz"
WINDOWS = ("soft-tissue", "bone")
TILE = 240


def _row(gray_hu_by_window: dict, name: str) -> list[Image.Image]:
    tiles = []
    for window, (gray, hu) in gray_hu_by_window.items():
        tiles.append(tile(np.round(gray * 255).astype(np.uint8), f"{name}, {window} window", TILE))
        tiles.append(tile(colorize_hu(gray, hu), f"ct-tissue, {window} window", TILE))
    return tiles


def _dicom(path: Path) -> dict:
    out = {}
    for window in WINDOWS:
        with open_image(path, window=window) as src:
            out[window] = (src.read()[0], src.read("hu")[0])
    rgb = medcolor.colorize(path, model="ct-tissue", window=WINDOWS[0])  # the public API gives the same
    assert np.array_equal(rgb, colorize_hu(*out[WINDOWS[0]]))
    return out


def _nifti_slice(path: Path, k: int) -> dict:
    out = {}
    for window in WINDOWS:
        with open_image(path, window=window) as src:
            gray, hu = next(src.frames_with_hu(start=k, stop=k + 1))
        out[window] = (gray, hu)
    return out


def _scale(width: int) -> Image.Image:
    """HU -> colour at L* 60, from -1000 to 1000 HU, with the control points marked."""
    lo, hi = -1000.0, 1000.0
    hu = np.tile(np.linspace(lo, hi, width, dtype=np.float32), (24, 1))
    rgb = colorize_hu(np.full_like(hu, 0.55), hu)
    im = Image.new("RGB", (width, 60), (255, 255, 255))
    im.paste(Image.fromarray(rgb), (0, 0))
    draw = ImageDraw.Draw(im)
    last = -1e9
    for value, _a, _b, what in CONTROL_POINTS:
        if lo <= value <= hi:
            x = round((value - lo) / (hi - lo) * (width - 1))
            draw.line([x, 24, x, 30], fill=(0, 0, 0))
            if x - last > 70:
                draw.text((min(x, width - 60), 32), f"{value:+g}", fill=(0, 0, 0))
                draw.text((min(x, width - 60), 44), what.split(",")[0], fill=(0, 0, 0))
                last = x
    return im


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nifti", type=Path, default=NIFTI)
    ap.add_argument("--slice", type=int, default=40, help="slice of the NIfTI volume (axis 2)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "ct_tissue.png")
    args = ap.parse_args(argv)
    rows = [_row(_dicom(ROOT / "examples" / "head_ct.dcm"), "head_ct.dcm"),
            _row(_nifti_slice(args.nifti, args.slice), f"NIfTI slice {args.slice}")]
    width = TILE * len(rows[0])
    scale = _scale(width)
    fig = Image.new("RGB", (width, TILE * len(rows) + scale.height), (255, 255, 255))
    for r, tiles in enumerate(rows):
        for c, im in enumerate(tiles):
            fig.paste(im, (c * TILE, r * TILE))
    fig.paste(scale, (0, TILE * len(rows)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
