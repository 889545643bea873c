"""Make docs/figures/classic.png: the classic methods side by side.

    OMP_NUM_THREADS=1 .venv/bin/python docs/figures/make_classic_figure.py

Images: scikit-image's ``chelsea`` (the target) and ``coffee`` (the reference),
both public domain / CC0 and shipped with scikit-image; a head CT slice from
``/work/shared/data/medical_gray/693_UNCI.dcm`` (pydicom test data) if present.
Levin scribbles: 60 short strokes (1x6 px) whose colours are taken from the
ground truth at jittered grid positions.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage import data  # noqa: E402

from medcolor.classic import apply_lut, levin_colorize, reinhard_transfer, welsh_transfer  # noqa: E402
from medcolor.classic.welsh import jittered_sample  # noqa: E402
from medcolor.color import lightness_to_gray, rgb_to_lab_np  # noqa: E402
from medcolor.weights import atomic_write  # noqa: E402

OUT = Path(__file__).with_name("classic.png")
CT = Path("/work/shared/data/medical_gray/693_UNCI.dcm")


def _gray(rgb: np.ndarray) -> np.ndarray:
    return np.rint(lightness_to_gray(rgb_to_lab_np(rgb / 255.0)[..., 0]) * 255).astype(np.uint8)


def _scribbles(gt: np.ndarray, n: int = 60, seed: int = 0):
    h, w = gt.shape[:2]
    ys, xs = jittered_sample((h - 8, w - 2), n, np.random.default_rng(seed))
    hints = np.zeros_like(gt)
    mask = np.zeros((h, w), bool)
    for y, x in zip(ys, xs):
        hints[y:y + 6, x:x + 2] = gt[y + 3, x]
        mask[y:y + 6, x:x + 2] = True
    return hints, mask


def _ct_slice():
    if not CT.exists():
        return None
    import pydicom

    ds = pydicom.dcmread(CT)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return hu


def main() -> None:
    target = data.chelsea()[::2, ::2]  # (150, 226, 3)
    reference = data.coffee()[::2, ::2]
    gray = _gray(target)
    hints, mask = _scribbles(target)
    shown_hints = np.where(mask[..., None], hints, np.repeat(gray[..., None], 3, 2))
    panels = [
        ("input (gray) + scribbles", shown_hints),
        ("Levin et al. 2004", levin_colorize(gray, hints, mask)),
        ("ground truth", target),
        ("reference (for Welsh, Reinhard)", reference),
        ("Welsh et al. 2002", welsh_transfer(gray, reference)),
        ("Reinhard et al. 2001 (gray source)", reinhard_transfer(gray, reference)),
    ]
    hu = _ct_slice()
    if hu is not None:
        panels.append(("head CT, window 40/400", apply_lut(hu, "matplotlib:gray", window=(40, 400))))
        panels.append(("DICOM Hot Iron LUT", apply_lut(hu, "hot-iron", window=(40, 400))))
        panels.append(("DICOM PET LUT", apply_lut(hu, "pet", window=(40, 400))))
    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.6 * rows))
    for ax, (title, img) in zip(axes.ravel(), panels):
        ax.imshow(img)
        ax.set_title(title, fontsize=9)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    atomic_write(OUT, lambda tmp: fig.savefig(tmp, format="png", dpi=72))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
