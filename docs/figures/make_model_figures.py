"""Figures for the model cards in docs/models.md (every figure there comes from here).

Cases: from a `medcolor evaluate` report's ``per_image.csv``, the best and the
worst validation images of one model by ΔE2000, shown as
input | model | ground truth with their ΔE2000 values.

Medical: the bundled X-ray, CT, MR and NIfTI samples colorized with a model,
shown as input | colour.

    python docs/figures/make_model_figures.py cases --report report/photo --model default \\
        --data ../shared/data/photos/val --out docs/figures/photo_cases.png
    python docs/figures/make_model_figures.py medical --model photo --out docs/figures/medical.png
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from medcolor.evaluate.protocol import load_ground_truth
from medcolor.io import read
from medcolor.pipeline import colorize_gray

ROOT = Path(__file__).resolve().parents[2]
TILE = 200


def tile(rgb: np.ndarray, label: str, size: int = TILE) -> Image.Image:
    """A ``size`` x ``size`` labelled tile of an RGB or gray uint8 image (also used by make_ct_tissue.py)."""
    im = Image.fromarray(rgb if rgb.ndim == 3 else np.stack([rgb] * 3, -1))
    scale = size / max(im.size)
    im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                   Image.NEAREST if scale >= 4 else Image.LANCZOS)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, 6 + 6 * len(label), 13], fill=(0, 0, 0))
    draw.text((3, 1), label, fill=(255, 255, 255))
    return canvas


def _grid(rows: list[list[Image.Image]], out: Path) -> None:
    cols = max(len(r) for r in rows)
    fig = Image.new("RGB", (cols * (TILE + 4), len(rows) * (TILE + 4)), (255, 255, 255))
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            fig.paste(im, (j * (TILE + 4), i * (TILE + 4)))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.save(out)
    print(f"wrote {out}")


def cases(args) -> None:
    with open(args.report / "per_image.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == args.model]
    if not rows:
        raise SystemExit(f"{args.report}: no rows for method {args.model!r}")
    rows.sort(key=lambda r: float(r["deltae2000"]))
    picked = rows[:args.n] + rows[-args.n:]
    gts = {s.name: s for s in load_ground_truth(args.data, size=args.size).samples}
    spec = args.weights or args.model
    tiles = []
    for r in picked:
        s = gts[r["image"]]
        pred = colorize_gray(s.gray, model=spec, device="cpu")
        kind = "best" if r in rows[:args.n] else "worst"
        tiles.append([tile(s.gray, f"{s.name} input"),
                      tile(pred, f"{kind}: dE2000 {float(r['deltae2000']):.1f}"),
                      tile(s.gt, "ground truth")])
    _grid(tiles, args.out)


def medical(args) -> None:
    samples = ["chest_xray_cr.dcm", "head_ct.dcm", "shoulder_mr.png", "head_ct_slab.nii.gz"]
    tiles = []
    for name in samples:
        frames, meta = read(ROOT / "examples" / name)
        g = frames[frames.shape[0] // 2]
        tiles.append([tile((g * 255 + 0.5).astype(np.uint8), f"{name}"),
                      tile(colorize_gray(g, model=args.model, device="cpu"), f"{args.model}")])
    _grid(tiles, args.out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cases")
    c.add_argument("--report", type=Path, required=True, help="a medcolor evaluate output folder")
    c.add_argument("--model", required=True, help="method name in the report")
    c.add_argument("--weights", default=None, help="model to load when it differs from the method name")
    c.add_argument("--data", type=Path, required=True, help="the ground-truth folder of the report")
    c.add_argument("--size", type=int, default=None, help="the report's --size, if any")
    c.add_argument("-n", type=int, default=3, help="best and worst images to show")
    c.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("medical")
    m.add_argument("--model", default="default")
    m.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    cases(args) if args.what == "cases" else medical(args)


if __name__ == "__main__":
    main()
