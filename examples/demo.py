"""`make demo`: colorize the bundled samples and write a side-by-side figure.

Every sample in ``examples/`` is colorized with the default model through
the real command line (``medcolor colorize``); samples in a sub-folder named after
a shipped domain model (e.g. ``histology/``) are also colorized with that model.
The figure ``OUT/side_by_side.png`` shows input | colour for each.

    python examples/demo.py --out demo_output
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from medcolor.batch import unit_outputs
from medcolor.cli import main as medcolor_main
from medcolor.io import discover, read
from medcolor.weights import list_pretrained

HERE = Path(__file__).resolve().parent
SAMPLES = HERE
ROW_HEIGHT = 256


def _fit(img: np.ndarray) -> Image.Image:
    im = Image.fromarray(img)
    return im.resize((max(1, round(im.width * ROW_HEIGHT / im.height)), ROW_HEIGHT), Image.LANCZOS)


def _label(im: Image.Image, text: str) -> Image.Image:
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, 0, 8 + 6 * len(text), 14], fill=(0, 0, 0))
    draw.text((4, 2), text, fill=(255, 255, 255))
    return im


def _runs() -> list[tuple[str, Path]]:
    """(model, input folder) pairs: the default model on every sample, domain models on theirs."""
    runs = [("default", SAMPLES)]
    for sub in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        if sub.name in list_pretrained():
            runs.append((sub.name, sub))
    return runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("demo_output"))
    args = ap.parse_args()

    rows = []
    for model, folder in _runs():
        # domain models write beside, not over, the default model's outputs of the same samples
        outdir = args.out if model == "default" else args.out / f"model-{model}"
        code = medcolor_main(["colorize", str(folder), "-o", str(outdir), "--model", model, "--overwrite", "-q"])
        if code != 0:
            print(f"demo: medcolor colorize exited with {code}", file=sys.stderr)
            return code
        for path, rel in discover([str(folder)]).files:
            frames, meta = read(path)
            k = frames.shape[0] // 2  # middle slice of a volume or multi-frame file
            outs = unit_outputs(outdir, rel, meta, "png")
            colour = np.asarray(Image.open(outs[min(k, len(outs) - 1)]).convert("RGB"))
            gray = (frames[k] * 255 + 0.5).astype(np.uint8)
            rows.append((f"{Path(path).name} [{model}]", gray, colour))

    tiles = [(_label(_fit(np.stack([g] * 3, -1)), name), _fit(c)) for name, g, c in rows]
    width = max(a.width + b.width for a, b in tiles) + 12
    fig = Image.new("RGB", (width, len(tiles) * (ROW_HEIGHT + 4)), (255, 255, 255))
    for i, (a, b) in enumerate(tiles):
        y = i * (ROW_HEIGHT + 4)
        fig.paste(a, (0, y))
        fig.paste(b, (a.width + 4, y))
    fig_path = args.out / "side_by_side.png"
    fig.save(fig_path)
    print(f"demo: {len(rows)} samples colorized; figure written to {fig_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
