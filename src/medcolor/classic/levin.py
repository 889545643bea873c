"""Colorization using optimization (Levin, Lischinski & Weiss, SIGGRAPH 2004).

Neighbouring pixels with similar lightness should have similar chroma.  For
every pixel r and each neighbour s in its 3x3 window the affinity is

    w_rs = exp(-(Y_r - Y_s)^2 / c_rs)

with Y = L*/100 and c a multiple of the local lightness variance, guarded as in
the authors' reference code: c_r = max(0.6 var_r, -min_s (Y_r - Y_s)^2 / ln 0.01,
2e-6) (the closest neighbour always keeps an affinity of at least 0.01).  We use
the symmetric c_rs = (c_r + c_s) / 2 so that the system below is symmetric
positive definite and can use CG and algebraic multigrid; with the paper's
row-normalised weights each free pixel's equation

    U_r = sum_s w_rs U_s / sum_s w_rs

is then exactly row r of the weighted graph Laplacian (D - W) U = 0.  Hinted
pixels are fixed, the free pixels solve the reduced Laplacian system, and an
optional data term lambda_r (U_r - prior_r)^2 (used by :mod:`.hints`) adds
``diag(lambda)`` to it.  The solve runs on chroma (a*, b*); L* is never changed.

Solvers: SuperLU (``scipy.sparse.linalg.splu``) up to ``direct_max_pixels``
unknowns, else pyamg classical (Ruge-Stuben) AMG as a preconditioner for CG.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.linalg import splu

from ._checks import bool_mask, gray01, rgb_uint8

__all__ = ["SolverOptions", "affinity_matrix", "levin_propagate", "levin_colorize"]

# Neighbour offsets (dy, dx) that, with their mirror images, make up the 3x3 window.
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))
_MIN_AFFINITY = 1e-6  # keeps every pixel connected, so the system stays non-singular


@dataclass(frozen=True)
class SolverOptions:
    """How :func:`levin_propagate` solves its sparse system.

    solver: ``"auto"`` (direct up to ``direct_max_pixels`` unknowns, else AMG),
        ``"direct"`` or ``"amg"``.
    tol: relative residual at which the AMG-preconditioned CG stops.
    maxiter: CG iteration cap.
    """

    solver: str = "auto"
    direct_max_pixels: int = 40_000
    tol: float = 1e-4
    maxiter: int = 200


def _pairs(h: int, w: int, dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    # Slices selecting pixels r and their neighbour s = r + (dy, dx), both inside the image.
    ys = slice(0, h - dy)
    xr = slice(0, w - dx) if dx >= 0 else slice(-dx, w)
    xs = slice(dx, w) if dx >= 0 else slice(0, w + dx)
    return (ys, xr), (slice(dy, h), xs)


def _window_scale(y: np.ndarray) -> np.ndarray:
    """Per-pixel c_r (see module docstring) from ``(H, W)`` lightness in [0, 1]."""
    mean = ndimage.uniform_filter(y, size=3, mode="reflect")
    var = np.maximum(ndimage.uniform_filter(y * y, size=3, mode="reflect") - mean * mean, 0.0)
    h, w = y.shape
    min_sq = np.full_like(y, np.inf)  # smallest squared difference to an in-image neighbour
    for dy, dx in _OFFSETS:
        r, s = _pairs(h, w, dy, dx)
        d2 = (y[r] - y[s]) ** 2
        np.minimum(min_sq[r], d2, out=min_sq[r])
        np.minimum(min_sq[s], d2, out=min_sq[s])
    return np.maximum(np.maximum(0.6 * var, min_sq / -np.log(0.01)), 2e-6)


def affinity_matrix(lightness: np.ndarray) -> sp.csr_matrix:
    """Symmetric ``(H*W, H*W)`` affinity matrix W of the 3x3-window neighbourhood graph.

    Args:
        lightness: ``(H, W)`` L* in [0, 100].

    Returns:
        csr matrix with zero diagonal and w_rs in [1e-6, 1] for 8-neighbours.
    """
    y = np.asarray(lightness, dtype=np.float64) / 100.0
    h, w = y.shape
    c = _window_scale(y)
    index = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx in _OFFSETS:
        r, s = _pairs(h, w, dy, dx)
        wgt = np.exp(-((y[r] - y[s]) ** 2) / (0.5 * (c[r] + c[s])))
        rows.append(index[r].ravel())
        cols.append(index[s].ravel())
        vals.append(np.maximum(wgt, _MIN_AFFINITY).ravel())
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    upper = sp.coo_matrix((vals, (rows, cols)), shape=(h * w, h * w))
    return (upper + upper.T).tocsr()


def _solve(a: sp.csr_matrix, b: np.ndarray, x0: np.ndarray, options: SolverOptions) -> np.ndarray:
    """Solve the SPD system ``a x = b`` for each column of ``b`` ``(n, C)``."""
    n = a.shape[0]
    use_direct = options.solver == "direct" or (options.solver == "auto" and n <= options.direct_max_pixels)
    if options.solver not in ("auto", "direct", "amg"):
        raise ValueError(f"solver must be 'auto', 'direct' or 'amg', got {options.solver!r}")
    if use_direct:
        lu = splu(a.tocsc(), permc_spec="COLAMD")
        return np.column_stack([lu.solve(b[:, i]) for i in range(b.shape[1])])
    from .._optional import require

    pyamg = require("pyamg", "Levin colorization of large images")

    # Classical (Ruge-Stuben) AMG: on these M-matrix Laplacians it needs about half the
    # CG iterations of smoothed aggregation (measured in benchmarks/bench_classic.py).
    # Forward Gauss-Seidel before, backward after: a symmetric V-cycle (CG needs one) at
    # half the cost of symmetric sweeps on both sides.
    ml = pyamg.ruge_stuben_solver(a, max_coarse=500,
                                  presmoother=("gauss_seidel", {"sweep": "forward"}),
                                  postsmoother=("gauss_seidel", {"sweep": "backward"}))
    out = np.empty_like(b)
    for i in range(b.shape[1]):
        out[:, i] = ml.solve(b[:, i], x0=x0[:, i], tol=options.tol, maxiter=options.maxiter, accel="cg")
    return out


def levin_propagate(lightness: np.ndarray, values: np.ndarray, fixed: np.ndarray, *,
                    prior: np.ndarray | None = None, prior_weight: float | np.ndarray = 0.0,
                    options: SolverOptions | None = None) -> np.ndarray:
    """Propagate per-pixel values along the Levin affinities of ``lightness``.

    Minimises  sum_{r~s} w_rs (U_r - U_s)^2 + sum_r lambda_r (U_r - prior_r)^2
    subject to U = values on ``fixed`` pixels.

    Args:
        lightness: ``(H, W)`` L* in [0, 100] that defines the edges.
        values: ``(H, W, C)`` float; only the entries at ``fixed`` pixels are used.
        fixed: ``(H, W)`` bool, the constrained pixels.
        prior: ``(H, W, C)`` target of the data term (default zeros).
        prior_weight: lambda >= 0, scalar or ``(H, W)``; 0 gives the pure Levin
            interpolation, which needs at least one fixed pixel.
        options: solver choice, see :class:`SolverOptions`.

    Returns:
        ``(H, W, C)`` float64; equals ``values`` exactly on ``fixed`` pixels.
    """
    options = options or SolverOptions()
    L = np.asarray(lightness, dtype=np.float64)
    if L.ndim != 2:
        raise ValueError(f"lightness must have shape (H, W), got {L.shape}")
    h, w = L.shape
    vals = np.asarray(values, dtype=np.float64)
    if vals.ndim != 3 or vals.shape[:2] != (h, w):
        raise ValueError(f"values must have shape ({h}, {w}, C), got {vals.shape}")
    fixed = bool_mask(fixed, "fixed", (h, w))
    prior = np.zeros_like(vals) if prior is None else np.asarray(prior, dtype=np.float64)
    if prior.shape != vals.shape:
        raise ValueError(f"prior must have shape {vals.shape}, got {prior.shape}")
    lam = np.broadcast_to(np.asarray(prior_weight, dtype=np.float64), (h, w)).ravel()
    if (lam < 0).any():
        raise ValueError("prior_weight must be >= 0")
    if not fixed.any() and not (lam > 0).any():
        raise ValueError("nothing to propagate: no fixed pixels and no data term")

    n_ch = vals.shape[2]
    flat_vals = vals.reshape(-1, n_ch)
    out = np.where(fixed.reshape(-1, 1), flat_vals, prior.reshape(-1, n_ch))
    free = ~fixed.ravel()
    if not free.any():
        return out.reshape(h, w, n_ch)
    wmat = affinity_matrix(L)
    laplacian = sp.diags(np.asarray(wmat.sum(axis=1)).ravel()) - wmat
    a = (laplacian + sp.diags(lam)).tocsr()
    a_ff = a[free][:, free]
    # b = lambda prior + W_fk x_k  (the fixed pixels move to the right-hand side)
    b = lam[free, None] * prior.reshape(-1, n_ch)[free] - a[free][:, ~free] @ flat_vals[~free]
    if fixed.any() and not (lam > 0).any():
        # Warm start from the nearest hint's value: far fewer CG iterations.
        _, (iy, ix) = ndimage.distance_transform_edt(~fixed, return_indices=True)
        x0 = vals[iy, ix].reshape(-1, n_ch)[free]
    else:
        x0 = prior.reshape(-1, n_ch)[free]
    out[free] = _solve(a_ff, b, x0, options)
    return out.reshape(h, w, n_ch)


def levin_colorize(gray: np.ndarray, hints_rgb: np.ndarray, hints_mask: np.ndarray,
                   options: SolverOptions | None = None) -> np.ndarray:
    """Colorize ``gray`` from colour scribbles (Levin et al. 2004), in Lab chroma.

    Args:
        gray: ``(H, W)`` uint8, or float display gray in [0, 1].
        hints_rgb: ``(H, W, 3)`` uint8 scribble colours (read where ``hints_mask``).
        hints_mask: ``(H, W)`` bool, the scribbled pixels.
        options: solver choice, see :class:`SolverOptions`.

    Returns:
        ``(H, W, 3)`` uint8 sRGB.  Every pixel keeps the input's L* (within 1.0
        after rounding; chroma is reduced where the colour would leave the sRGB
        gamut), and scribbled pixels take their scribble's a*b*.  Without any
        scribble the result is the gray image itself.
    """
    import torch

    from ..color import gray_to_lightness, rgb_to_lab_np
    from ..recombine import recombine

    g = gray01(gray)
    hints_rgb = rgb_uint8(hints_rgb, "hints_rgb", g.shape)
    hints_mask = bool_mask(hints_mask, "hints_mask", g.shape)
    L = gray_to_lightness(g)  # (H, W) L* in [0, 100]
    if hints_mask.any():
        hint_ab = rgb_to_lab_np(hints_rgb.astype(np.float64) / 255.0)[..., 1:]
        ab = levin_propagate(L, hint_ab, hints_mask, options=options)  # (H, W, 2) Lab units
    else:
        ab = np.zeros(g.shape + (2,))
    L_t = torch.from_numpy(L)[None, None]  # (1, 1, H, W)
    ab_t = torch.from_numpy(np.ascontiguousarray(ab.transpose(2, 0, 1)))[None]  # (1, 2, H, W)
    return recombine(L_t, ab_t)[0]
