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

System.  Hinted pixels are eliminated by keeping them as identity rows
(``x_r = value_r``) and moving their couplings to the right-hand side, so the
matrix is ``blockdiag(A_ff, I)``: symmetric positive definite, built straight
from the eight neighbour diagonals of the pixel grid without any sparse slicing.

Solvers: SuperLU (``scipy.sparse.linalg.splu``) up to ``direct_max_pixels``
unknowns, else CG preconditioned by a smoothed-aggregation AMG V-cycle
(:func:`sa_hierarchy`: pyamg's strength, aggregation and Gauss-Seidel smoothers,
a CSR-only hierarchy with Gershgorin-weighted Jacobi prolongation smoothing, so
the setup needs no eigenvalue estimate).  On few scribbles over large noisy
flat regions it needs 3-4x fewer CG iterations than classical (Ruge-Stuben) AMG
and a fifth of pyamg's general SA setup time (``benchmarks/bench_classic.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.linalg import splu

from ._checks import bool_mask, gray01, rgb_uint8

__all__ = ["SolverOptions", "affinity_matrix", "sa_hierarchy", "linear_system", "levin_propagate", "levin_colorize"]

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


def _neighbour_weights(y: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The 3x3-window affinities of ``(H, W)`` lightness in [0, 1], one flat array per neighbour offset.

    Returns ``[(k, w_k)]`` for the four offsets of ``_OFFSETS``: ``k = dy * W + dx`` is
    the offset in the flattened image and ``w_k`` the ``(H * W,)`` weights
    ``w(r, r + k)`` in [1e-6, 1], 0 where that neighbour is outside the image.
    """
    h, w = y.shape
    c = _window_scale(y)
    out = []
    for dy, dx in _OFFSETS:
        r, s = _pairs(h, w, dy, dx)
        wk = np.zeros((h, w))
        wk[r] = np.maximum(np.exp(-((y[r] - y[s]) ** 2) / (0.5 * (c[r] + c[s]))), _MIN_AFFINITY)
        out.append((dy * w + dx, wk.ravel()))
    return out


def _banded(diagonal: np.ndarray, off: list[tuple[int, np.ndarray]]) -> sp.csr_matrix:
    """Symmetric csr matrix with ``diagonal`` and ``-w_k`` on diagonals +-k (zeros dropped)."""
    n = diagonal.size
    data, offsets = [diagonal], [0]
    for k, wk in off:
        if k < n:
            data += [-wk[: n - k], -wk[: n - k]]
            offsets += [k, -k]
    a = sp.diags(data, offsets, shape=(n, n), format="csr")
    a.eliminate_zeros()
    return a


def affinity_matrix(lightness: np.ndarray) -> sp.csr_matrix:
    """Symmetric ``(H*W, H*W)`` affinity matrix W of the 3x3-window neighbourhood graph.

    Args:
        lightness: ``(H, W)`` L* in [0, 100].

    Returns:
        csr matrix with zero diagonal and w_rs in [1e-6, 1] for 8-neighbours.
    """
    y = np.asarray(lightness, dtype=np.float64) / 100.0
    return -_banded(np.zeros(y.size), _neighbour_weights(y))


def sa_hierarchy(a: sp.csr_matrix, *, max_coarse: int = 500, omega: float = 4.0 / 3.0):
    """Smoothed-aggregation AMG hierarchy of an SPD M-matrix, as a pyamg ``MultilevelSolver``.

    Per level: symmetric strength of connection, pyamg's standard aggregation,
    the piecewise-constant tentative prolongator ``T`` (near-null space = constants),
    ``P = (I - omega D^-1 A) T`` with the Gershgorin bound ``D = rowsum |A|`` (no
    eigenvalue estimate needed), and the Galerkin product ``P^T A P``; all in CSR.
    Isolated rows (identity rows of hinted pixels) are left out of every coarse
    level.  Smoothing: forward Gauss-Seidel before, backward after (a symmetric
    V-cycle, as CG needs).
    """
    from .._optional import require

    pyamg = require("pyamg", "Levin colorization of large images")
    from pyamg.aggregation.aggregate import standard_aggregation
    from pyamg.strength import symmetric_strength_of_connection

    levels = []
    while True:
        level = pyamg.multilevel.MultilevelSolver.Level()
        level.A = a
        levels.append(level)
        if a.shape[0] <= max_coarse or len(levels) == 12:
            break
        agg = standard_aggregation(symmetric_strength_of_connection(a, theta=0.0))[0].tocsr()  # (n, nc) 0/1
        if agg.shape[1] == 0 or agg.shape[1] >= a.shape[0]:
            break
        t = (agg @ sp.diags(1.0 / np.sqrt(np.asarray(agg.sum(axis=0)).ravel()))).tocsr()  # orthonormal columns
        d_inv = 1.0 / np.asarray(abs(a).sum(axis=1)).ravel()
        p = (t - sp.diags(omega * d_inv) @ (a @ t)).tocsr()
        level.P, level.R = p, p.T.tocsr()
        a = (level.R @ a @ p).tocsr()
    ml = pyamg.multilevel.MultilevelSolver(levels, coarse_solver="pinv")
    pyamg.relaxation.smoothing.change_smoothers(ml, ("gauss_seidel", {"sweep": "forward"}),
                                                ("gauss_seidel", {"sweep": "backward"}))
    return ml


def _solve(a: sp.csr_matrix, b: np.ndarray, x0: np.ndarray, n_free: int, options: SolverOptions) -> np.ndarray:
    """Solve the SPD system ``a x = b`` for each column of ``b`` ``(n, C)``."""
    if options.solver not in ("auto", "direct", "amg"):
        raise ValueError(f"solver must be 'auto', 'direct' or 'amg', got {options.solver!r}")
    use_direct = options.solver == "direct" or (options.solver == "auto" and n_free <= options.direct_max_pixels)
    if use_direct:
        lu = splu(a.tocsc(), permc_spec="COLAMD")
        return np.column_stack([lu.solve(b[:, i]) for i in range(b.shape[1])])
    ml = sa_hierarchy(a)
    out = np.empty_like(b)
    for i in range(b.shape[1]):
        out[:, i] = ml.solve(b[:, i], x0=x0[:, i], tol=options.tol, maxiter=options.maxiter, accel="cg")
    return out


def linear_system(lightness: np.ndarray, values: np.ndarray, fixed: np.ndarray, *, prior: np.ndarray,
                  prior_weight: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The SPD system of :func:`levin_propagate` (arguments checked there) and a warm start.

    Free rows: ``(degree_r + lambda_r) x_r - sum_{s free} w_rs x_s = lambda_r prior_r +
    sum_{s fixed} w_rs value_s``; fixed rows: ``x_r = value_r``.  Couplings between a
    free and a fixed pixel move to the right-hand side.

    Returns:
        ``(a, b, x0)``: csr ``(N, N)`` with N = H*W, ``(N, C)`` right-hand sides and
        ``(N, C)`` initial guess (the nearest hint's value for a pure interpolation,
        else the prior; hinted pixels exact).
    """
    h, w = lightness.shape
    n, n_ch = h * w, values.shape[2]
    flat_vals, flat_prior = values.reshape(n, n_ch), prior.reshape(n, n_ch)
    lam = np.broadcast_to(np.asarray(prior_weight, dtype=np.float64), (h, w)).ravel()
    fixed_f = fixed.ravel()
    free_f = ~fixed_f
    degree = lam.copy()
    b = lam[:, None] * flat_prior
    known = np.where(fixed_f[:, None], flat_vals, 0.0)
    coupling = []
    for k, wk in _neighbour_weights(lightness / 100.0):
        if k >= n:
            continue
        wk = wk[: n - k]
        degree[: n - k] += wk
        degree[k:] += wk
        b[: n - k] += wk[:, None] * known[k:]
        b[k:] += wk[:, None] * known[: n - k]
        coupling.append((k, wk * (free_f[: n - k] & free_f[k:])))
    b[fixed_f] = flat_vals[fixed_f]
    a = _banded(np.where(fixed_f, 1.0, degree), coupling)
    if fixed.any() and not (lam > 0).any():
        # Warm start from the nearest hint's value: far fewer CG iterations.
        _, (iy, ix) = ndimage.distance_transform_edt(~fixed, return_indices=True)
        x0 = values[iy, ix].reshape(n, n_ch)
    else:
        x0 = np.where(fixed_f[:, None], flat_vals, flat_prior)
    x0[fixed_f] = flat_vals[fixed_f]
    return a, b, x0


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

    n, n_ch = h * w, vals.shape[2]
    fixed_f = fixed.ravel()
    out = np.where(fixed_f[:, None], vals.reshape(n, n_ch), prior.reshape(n, n_ch))
    if fixed_f.all():
        return out.reshape(h, w, n_ch)
    a, b, x0 = linear_system(L, vals, fixed, prior=prior, prior_weight=lam.reshape(h, w))
    free_f = ~fixed_f
    out[free_f] = _solve(a, b, x0, int(free_f.sum()), options)[free_f]
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
