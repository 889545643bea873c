"""Rebuild the small colour samples in ``tests/data/`` from the shared data set.

    .venv/bin/python tests/data/make_samples.py --data /work/shared/data

Held-out (validation) images only, so a shipped model is never scored on its own
training data.  Each sample's source and licence are in ``tests/data/README.md``
(taken from the data set's ``MANIFEST.csv``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
PHOTOS = ("china.jpg", "building.jpg", "leuvenA.jpg", "chicky_512.jpg")  # photos/val
TILES = ("he_cmu_tile08.png", "he_cmu_tile16.png")  # medical_color/val, 512 px
DERM_EVERY = 33  # every 33rd patch of medical_color/dermoscopy_val, sorted by name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    args = ap.parse_args()
    for name in PHOTOS:  # short side 192 px, JPEG quality 92
        out = HERE / "photo" / (Path(name).stem + ".jpg")
        out.parent.mkdir(exist_ok=True)
        with Image.open(args.data / "photos" / "val" / name) as im:
            im = im.convert("RGB")
            scale = 192 / min(im.size)
            im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS).save(
                out, quality=92)
    for name in TILES:  # 512 -> 256 px: the scale at which the histology model sees a 512-px tile
        out = HERE / "histology" / (Path(name).stem + ".jpg")
        out.parent.mkdir(exist_ok=True)
        with Image.open(args.data / "medical_color" / "val" / name) as im:
            im.convert("RGB").resize((256, 256), Image.Resampling.LANCZOS).save(out, quality=92)
    patches = sorted((args.data / "medical_color" / "dermoscopy_val").glob("*.png"))[::DERM_EVERY]
    for src in patches:  # native 32 px, lossless
        out = HERE / "dermoscopy" / src.name
        out.parent.mkdir(exist_ok=True)
        with Image.open(src) as im:
            im.convert("RGB").save(out)


if __name__ == "__main__":
    main()
