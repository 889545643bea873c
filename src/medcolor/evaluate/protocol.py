"""The evaluation protocol: which ground truth, which input, which output.

Fixed here so every method and every run is measured the same way:

1. **Ground truth.** Each colour image in the data folder (sorted by file name,
   not recursive) is read with Pillow and converted to 8-bit sRGB.  It is kept at
   its native size, or, when ``size`` is given, resized with Pillow's Lanczos
   filter so that its short side is ``size`` (rounded to uint8).
2. **Grayscale ground truth is skipped and counted**: an image whose CIELAB
   chroma ``C*ab = sqrt(a*^2 + b*^2)`` is at most ``NEAR_GRAY_CHROMA`` at
   ``NEAR_GRAY_QUANTILE`` of its pixels has no colour to score
   (:func:`medcolor.color.is_near_gray`, the test training uses too).
3. **Input.** Every method receives the L* of the ground truth rendered as an
   sRGB gray image and rounded to uint8: ``gray = round(255 *
   lightness_to_gray(L*(gt)))``, shape ``(H, W)``.
4. **Output.** Each method returns uint8 RGB ``(H, W, 3)`` at the ground
   truth's size; metrics compare it to the ground truth (and its L* to the
   input's L*).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..color import NEAR_GRAY_CHROMA, NEAR_GRAY_QUANTILE, is_near_gray, lightness_to_gray, rgb_to_lab_np
from ..errors import InputError
from ..io.formats import RASTER_EXTENSIONS

__all__ = ["Sample", "GroundTruthSet", "load_ground_truth", "load_files", "set_names", "render_input", "protocol_text"]


@dataclass
class Sample:
    """One evaluation image.

    Attributes:
        name: file name (unique within the set).
        gt: uint8 ``(H, W, 3)`` sRGB ground truth.
        gray: uint8 ``(H, W)`` the input every method receives.
    """

    name: str
    gt: np.ndarray
    gray: np.ndarray

    @property
    def gray_rgb(self) -> np.ndarray:
        """The input as uint8 RGB ``(H, W, 3)`` (three equal channels)."""
        return np.repeat(self.gray[..., None], 3, axis=-1)


@dataclass
class GroundTruthSet:
    """The usable samples of a folder, plus what was left out and why."""

    root: Path
    samples: list[Sample]
    grayscale: list[str] = field(default_factory=list)  # skipped: no colour to score
    unreadable: dict[str, str] = field(default_factory=dict)  # file name -> problem
    size: int | None = None


def render_input(gt: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 3)`` sRGB -> uint8 ``(H, W)`` gray with the same L* (rounded)."""
    L = rgb_to_lab_np(gt.astype(np.float64) / 255.0)[..., 0]  # (H, W) L* in [0, 100]
    return np.round(lightness_to_gray(L) * 255.0).astype(np.uint8)


def _read_rgb(path: Path, size: int | None) -> tuple[np.ndarray, bool]:
    """Read ``path`` as uint8 RGB, resized to short side ``size``; also says if it was stored gray."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            stored_gray = im.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                # composite transparency on white, as a viewer shows it
                rgba = im.convert("RGBA")
                base = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im_rgb = Image.alpha_composite(base, rgba).convert("RGB")
            elif im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                arr = np.asarray(im, dtype=np.float64)
                span = max(float(arr.max() - arr.min()), 1e-12)
                im_rgb = Image.fromarray(np.round((arr - arr.min()) / span * 255).astype(np.uint8)).convert("RGB")
            else:
                im_rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(path, f"cannot read as an image ({type(exc).__name__}: {exc})") from None
    w, h = im_rgb.size
    if min(w, h) < 11:
        raise InputError(path, f"too small to score ({w}x{h}; SSIM needs at least 11x11)")
    if size and min(w, h) != size:
        scale = size / min(w, h)
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        im_rgb = im_rgb.resize(new, Image.Resampling.LANCZOS)
    return np.asarray(im_rgb, dtype=np.uint8).copy(), stored_gray


def set_names(folders) -> list[str]:
    """One name per ground-truth folder, as reports and training logs show it: the folder's
    base name, or ``parent-base`` when two folders share a base name (safe as a folder name)."""
    names: list[str] = []
    for f in map(Path, folders):
        names.append(f.name if f.name not in names else f"{f.parent.name}-{f.name}")
    return names


def load_ground_truth(root: str | Path, size: int | None = None, limit: int | None = None,
                      log=None) -> GroundTruthSet:
    """Read the colour images of ``root`` following the protocol.

    Grayscale images are skipped and counted; unreadable ones are skipped and
    recorded with their problem (``log`` gets one line per skipped file).
    Stops after ``limit`` usable images.  Raises :class:`InputError` when the
    folder does not exist or holds no image files at all.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "not a folder of ground-truth images")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in RASTER_EXTENSIONS)
    if not files:
        raise InputError(root, f"no image files ({', '.join(RASTER_EXTENSIONS)}) in this folder")
    return load_files(files, root=root, size=size, limit=limit, log=log)


def load_files(files: list[Path], *, root: Path, size: int | None = None, limit: int | None = None,
               log=None) -> GroundTruthSet:
    """:func:`load_ground_truth` on a given list of files (e.g. a held-out part of a training folder)."""
    out = GroundTruthSet(root=root, samples=[], size=size)
    for path in map(Path, files):
        if limit is not None and len(out.samples) >= limit:
            break
        try:
            gt, stored_gray = _read_rgb(path, size)
        except InputError as exc:
            out.unreadable[path.name] = exc.problem
            if log:
                log(f"skipped {exc}")
            continue
        if stored_gray or is_near_gray(gt):
            out.grayscale.append(path.name)
            if log:
                log(f"skipped {path}: grayscale ground truth, no colour to score")
            continue
        out.samples.append(Sample(name=path.name, gt=gt, gray=render_input(gt)))
    return out


def protocol_text(size: int | None, work_sizes: dict[str, int | None]) -> list[str]:
    """The protocol as bullet lines for the reports; ``work_sizes`` maps model -> working size."""
    gt = (f"resized with Pillow Lanczos so its short side is {size} px" if size
          else "at its native size")
    sizes = "; ".join(f"{m}: {'native size' if v is None else f'{v} px'}" for m, v in work_sizes.items())
    lines = [
        f"Ground truth: each colour image of the folder (sorted by name), 8-bit sRGB, {gt}.",
        f"Grayscale ground truth (chroma C*ab ≤ {NEAR_GRAY_CHROMA:g} at {NEAR_GRAY_QUANTILE:.0%} of pixels) "
        "is skipped and counted.",
        "Input to every method: the L* of the ground truth rendered as an sRGB gray image, "
        "rounded to uint8 (the same input for all methods).",
        "Output: uint8 RGB at the ground truth's size.",
        "PSNR: RGB uint8, data range 255, capped at 100 dB. SSIM: Wang et al. 2004, Gaussian 11×11 "
        "window σ = 1.5, K1 = 0.01, K2 = 0.03, per RGB channel, mean over the valid region "
        "(= skimage structural_similarity with gaussian_weights=True, use_sample_covariance=False).",
        "ΔE2000: mean CIEDE2000 over pixels (Lab D65 from medcolor.color). ab RMSE: "
        "sqrt(mean over pixels of Δa*² + Δb*²), Lab units.",
        "Colourfulness: Hasler & Süsstrunk 2003 on RGB [0, 255]; ratio = output / ground truth. "
        "max |ΔL*|: largest |L*(output) − L*(input)| over pixels.",
        "Time: wall-clock seconds per image for the method's call alone (model loading and one "
        "warm-up call excluded).",
    ]
    if work_sizes:
        lines.insert(4, f"Models predict chroma at a working size (short side; {sizes}) through "
                        "medcolor.colorize_gray, which upsamples it and joins it with the full-resolution L*.")
    return lines
