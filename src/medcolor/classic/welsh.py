"""Transferring colour to greyscale images (Welsh, Ashikhmin & Mueller, SIGGRAPH 2002).

Global mode (no swatches):
    1. the reference's luminance is remapped linearly to the target's mean and
       standard deviation;
    2. about ``n_samples`` reference pixels are drawn by jittered sampling (one
       uniform random pixel in each cell of a regular grid);
    3. each target pixel is matched to the sample minimising
       0.5 (dL)^2 + 0.5 (d sigma)^2, with L the luminance and sigma the standard
       deviation of luminance in the 5x5 neighbourhood (a 2-D KD-tree query);
    4. the target keeps its own luminance and takes the sample's chroma.

Swatch mode (``swatches=[(target_box, reference_box), ...]``, boxes
``(top, left, bottom, right)`` in pixels, bottom/right exclusive), as in
section 3.1 of the paper:
    1. inside each target swatch, steps 1-4 run with the reference swatch alone
       (its luminance remapped to the target swatch's statistics);
    2. every other target pixel is coloured by texture synthesis from the
       colourised target swatches: it takes the chroma of the swatch pixel whose
       5x5 luminance neighbourhood is nearest in L2 (the paper's error distance),
       searched among ``n_samples`` jittered pixels of each swatch.

Departure from the paper: luminance and chroma are CIE L* and a*b*
(:mod:`medcolor.color`) rather than l-alpha-beta, so the output's L* equals the
input's, as everywhere in medcolor.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ._checks import gray01, rgb_uint8

__all__ = ["jittered_sample", "local_std", "welsh_transfer"]

Box = tuple[int, int, int, int]
_NEIGHBOURHOOD = 5


def local_std(L: np.ndarray, size: int = _NEIGHBOURHOOD) -> np.ndarray:
    """Standard deviation of ``(H, W)`` values in the ``size`` x ``size`` window (reflect borders)."""
    mean = ndimage.uniform_filter(L, size=size, mode="reflect")
    sq = ndimage.uniform_filter(L * L, size=size, mode="reflect")
    return np.sqrt(np.maximum(sq - mean * mean, 0.0))


def jittered_sample(shape: tuple[int, int], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """About ``n`` pixel coordinates: one uniform random pixel in each cell of a grid over ``shape``."""
    h, w = shape
    rows = int(np.clip(round(np.sqrt(n * h / w)), 1, h))
    cols = int(np.clip(round(n / rows), 1, w))
    y_edges = np.linspace(0, h, rows + 1).astype(int)
    x_edges = np.linspace(0, w, cols + 1).astype(int)
    y0, x0 = np.meshgrid(y_edges[:-1], x_edges[:-1], indexing="ij")
    y1, x1 = np.meshgrid(y_edges[1:], x_edges[1:], indexing="ij")
    ys = y0 + (rng.random(y0.shape) * (y1 - y0)).astype(int)
    xs = x0 + (rng.random(x0.shape) * (x1 - x0)).astype(int)
    return ys.ravel(), xs.ravel()


def _check_box(box, shape: tuple[int, int], what: str) -> tuple[slice, slice]:
    try:
        top, left, bottom, right = (int(v) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be (top, left, bottom, right), got {box!r}") from None
    if not (0 <= top < bottom <= shape[0] and 0 <= left < right <= shape[1]):
        raise ValueError(f"{what} {box!r} is empty or outside the {shape[0]}x{shape[1]} image")
    if (bottom - top) * (right - left) < 4:
        raise ValueError(f"{what} {box!r} is smaller than 4 pixels")
    return slice(top, bottom), slice(left, right)


def _match_statistics(L_t: np.ndarray, sd_t: np.ndarray, L_r: np.ndarray, sd_r: np.ndarray,
                      ab_r: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Steps 1-4 for one target/reference pair of regions; returns ``L_t.shape + (2,)`` a*b*."""
    mu_t, std_t = L_t.mean(), L_t.std()
    mu_r, std_r = L_r.mean(), L_r.std()
    gain = std_t / std_r if std_r > 1e-6 else 1.0
    L_r = (L_r - mu_r) * gain + mu_t  # luminance remapping
    sd_r = sd_r * gain  # the neighbourhood std scales with the remapping
    ys, xs = jittered_sample(L_r.shape, n_samples, rng)
    w = np.sqrt(0.5)  # weights 50% / 50% on squared differences
    tree = cKDTree(np.column_stack([w * L_r[ys, xs], w * sd_r[ys, xs]]))
    _, idx = tree.query(np.column_stack([w * L_t.ravel(), w * sd_t.ravel()]), workers=-1)
    return ab_r[ys, xs][idx].reshape(L_t.shape + (2,))


def _neighbourhoods(L: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``(K, 25)`` float32 5x5 luminance neighbourhoods around pixels ``(ys, xs)``."""
    r = _NEIGHBOURHOOD // 2
    padded = np.pad(L.astype(np.float32), r, mode="reflect")
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    return padded[ys[:, None] + r + dy.ravel(), xs[:, None] + r + dx.ravel()]


def _synthesize(L_t: np.ndarray, ab: np.ndarray, done: np.ndarray, boxes: list[tuple[slice, slice]],
                n_samples: int, rng: np.random.Generator, chunk: int = 65536) -> None:
    """Fill ``ab`` where not ``done`` from the nearest 5x5 neighbourhood among swatch samples (in place)."""
    cand_y, cand_x = [], []
    for sy, sx in boxes:
        ys, xs = jittered_sample((sy.stop - sy.start, sx.stop - sx.start), n_samples, rng)
        cand_y.append(ys + sy.start)
        cand_x.append(xs + sx.start)
    cy, cx = np.concatenate(cand_y), np.concatenate(cand_x)
    tree = cKDTree(_neighbourhoods(L_t, cy, cx))
    cand_ab = ab[cy, cx]  # (K, 2)
    ty, tx = np.nonzero(~done)
    for start in range(0, ty.size, chunk):
        sl = slice(start, start + chunk)
        _, idx = tree.query(_neighbourhoods(L_t, ty[sl], tx[sl]), workers=-1)
        ab[ty[sl], tx[sl]] = cand_ab[idx]


def welsh_transfer(gray: np.ndarray, reference_rgb: np.ndarray, swatches: Sequence[tuple[Box, Box]] | None = None,
                   n_samples: int = 200, seed: int = 0) -> np.ndarray:
    """Colour ``gray`` from a colour ``reference_rgb`` (Welsh et al. 2002, see module docstring).

    Args:
        gray: ``(H, W)`` uint8, or float display gray in [0, 1].
        reference_rgb: ``(h, w, 3)`` uint8 colour image, any size.
        swatches: optional ``[(target_box, reference_box), ...]``, boxes
            ``(top, left, bottom, right)`` in target and reference pixels.
        n_samples: jittered samples per reference (per swatch in swatch mode).
        seed: seed of the jittered sampling.

    Returns:
        ``(H, W, 3)`` uint8 sRGB with the input's L* (within 1.0 after rounding).
    """
    import torch

    from ..color import gray_to_lightness, rgb_to_lab_np
    from ..recombine import recombine

    g = gray01(gray)
    reference_rgb = rgb_uint8(reference_rgb, "reference_rgb")
    if reference_rgb.shape[0] < 2 or reference_rgb.shape[1] < 2:
        raise ValueError(f"reference_rgb must be at least 2x2, got {reference_rgb.shape}")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    rng = np.random.default_rng(seed)
    L_t = gray_to_lightness(g)  # (H, W) L* in [0, 100]
    sd_t = local_std(L_t)
    lab_r = rgb_to_lab_np(reference_rgb.astype(np.float64) / 255.0)  # (h, w, 3)
    L_r, ab_r = lab_r[..., 0], lab_r[..., 1:]
    sd_r = local_std(L_r)
    if not swatches:
        ab = _match_statistics(L_t, sd_t, L_r, sd_r, ab_r, n_samples, rng)
    else:
        ab = np.zeros(L_t.shape + (2,))
        done = np.zeros(L_t.shape, dtype=bool)
        target_boxes = []
        for i, pair in enumerate(swatches):
            if len(pair) != 2:
                raise ValueError(f"swatch {i} must be a (target_box, reference_box) pair, got {pair!r}")
            tb = _check_box(pair[0], L_t.shape, f"swatch {i} target box")
            rb = _check_box(pair[1], L_r.shape, f"swatch {i} reference box")
            ab[tb] = _match_statistics(L_t[tb], sd_t[tb], L_r[rb], sd_r[rb], ab_r[rb], n_samples, rng)
            done[tb] = True
            target_boxes.append(tb)
        if not done.all():
            _synthesize(L_t, ab, done, target_boxes, n_samples, rng)
    L_tensor = torch.from_numpy(L_t)[None, None]  # (1, 1, H, W)
    ab_tensor = torch.from_numpy(np.ascontiguousarray(ab.transpose(2, 0, 1)))[None]  # (1, 2, H, W)
    return recombine(L_tensor, ab_tensor)[0]
