"""User hints: sparse a*b* points that steer the colours (Zhang et al. 2017, SIGGRAPH).

A hint map is ``(B, 3, H, W)``: a*, b* in Lab units where the mask is 1, and
the mask (channel 2) in {0, 1}.  Models whose capabilities say ``hints``
(:func:`medcolor.models.registry.model_capabilities`, e.g. :mod:`medcolor.models.effcolor`)
take it as a second input.

User hints (:func:`parse_hints`) come as a hints image (a path or an array the
size of the input: coloured marks on transparent or neutral-gray pixels, see
:func:`load_hints`), as ``(rgb, mask)`` or as :class:`UserHints`.  They are given
at the input's full resolution and pooled to the network's working shape by
:meth:`UserHints.hint_map` (area pooling of a*b* x mask and of the mask, so a
one-pixel mark is never lost).  :func:`resolve_hint_method` picks how they act:
``learned`` (the network itself takes the hint map), ``learned+levin`` (the
network's hinted colours, then Levin refinement) or ``levin`` (the automatic
chroma refined by Levin propagation of the corrections,
:func:`medcolor.classic.hints.refine_ab_lab`, at the working shape); ``auto``
follows the model's card.

:func:`simulate_hints` draws hints from the ground truth the way the paper
trains and evaluates: each point is a square patch given the patch's mean
a*b*.  Training draws the number of points from a geometric distribution
(zero included), patch sizes from 1 to 9 px and locations uniformly or from a
Gaussian around the centre; evaluation uses a fixed number of 5x5 patches.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .classic.hints import colours_to_ab, hint_ab, masked_pool, refine_ab_lab
from .options import HINT_METHODS, LEARNED_HINT_METHODS

__all__ = ["HintSampling", "simulate_hints", "sample_counts", "HINT_METHODS", "HINT_MIN_CHROMA", "UserHints",
           "load_hints", "hint_ab", "parse_hints", "resolve_hint_method", "levin_refine"]

HINT_MIN_CHROMA = 6.0  # C*ab above which a mark counts as a colour hint (gray marks are ignored)


@dataclass(frozen=True)
class HintSampling:
    """How simulated hints are drawn.

    Attributes:
        p_none: probability that an image gets no hints at all (automatic mode).
        geometric_p: success probability of the geometric number of points (mean 1/p).
        max_points: cap on the number of points per image.
        patch_min, patch_max: range of the square patch side in pixels.
        gaussian: probability that a point's location is drawn from a Gaussian
            around the centre (std = a quarter of the side) rather than uniformly.
    """

    p_none: float = 0.5
    geometric_p: float = 0.125
    max_points: int = 64
    patch_min: int = 1
    patch_max: int = 9
    gaussian: float = 0.5


def sample_counts(batch: int, sampling: HintSampling, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(batch,)`` int64 numbers of points: 0 with ``p_none``, else 1 + Geometric(``geometric_p``)."""
    u = torch.rand(batch, generator=generator)
    v = torch.rand(batch, generator=generator).clamp(min=1e-12)
    geo = 1 + torch.floor(torch.log(v) / torch.log1p(torch.tensor(-sampling.geometric_p)))
    counts = torch.where(u < sampling.p_none, torch.zeros_like(geo), geo)
    return counts.clamp(max=sampling.max_points).long()


def simulate_hints(ab: torch.Tensor, counts: torch.Tensor | int, *, patch: int | tuple[int, int] = 5,
                   gaussian: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Hints drawn from ground-truth chroma.

    Args:
        ab: ``(B, 2, H, W)`` true a*b* in Lab units.
        counts: points per image, an int for all or a ``(B,)`` tensor.
        patch: the patch side in pixels, or a ``(min, max)`` range drawn per point.
        gaussian: probability that a point is placed by a Gaussian around the centre
            (std a quarter of each side, clipped) instead of uniformly.
        generator: RNG for reproducible hints (CPU generator).

    Returns:
        ``(B, 3, H, W)``: a*, b* set to each patch's mean true a*b* inside the patch,
        0 elsewhere, and the mask. Overlapping patches: the later one wins.
    """
    if ab.dim() != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected a*b* of shape (B, 2, H, W), got {tuple(ab.shape)}")
    b, _, h, w = ab.shape
    counts = torch.full((b,), int(counts)) if isinstance(counts, int) else counts.cpu().long()
    lo, hi = (patch, patch) if isinstance(patch, int) else patch
    out = torch.zeros(b, 3, h, w, dtype=ab.dtype)
    ab_cpu = ab.detach().float().cpu()
    # Integral image: the mean over any patch in O(1).
    integral = F.pad(ab_cpu.cumsum(2).cumsum(3), (1, 0, 1, 0))
    for i in range(b):
        n = int(counts[i])
        if n == 0:
            continue
        sizes = torch.randint(lo, hi + 1, (n,), generator=generator)
        gauss = torch.rand(n, generator=generator) < gaussian
        cy = torch.where(gauss, (h / 2 + torch.randn(n, generator=generator) * h / 4),
                         torch.rand(n, generator=generator) * h)
        cx = torch.where(gauss, (w / 2 + torch.randn(n, generator=generator) * w / 4),
                         torch.rand(n, generator=generator) * w)
        for s, y, x in zip(sizes.tolist(), cy.tolist(), cx.tolist()):
            s = min(s, h, w)
            y0 = min(max(int(y) - s // 2, 0), h - s)
            x0 = min(max(int(x) - s // 2, 0), w - s)
            y1, x1 = y0 + s, x0 + s
            total = integral[i, :, y1, x1] - integral[i, :, y0, x1] - integral[i, :, y1, x0] + integral[i, :, y0, x0]
            out[i, :2, y0:y1, x0:x1] = (total / (s * s))[:, None, None]
            out[i, 2, y0:y1, x0:x1] = 1.0
    return out.to(ab.device)


# ---------------------------------------------------------------- user hints
@dataclass(frozen=True)
class UserHints:
    """User hints at one image's size.

    Attributes:
        ab: ``(H, W, 2)`` float32 a*b* in Lab units at hinted pixels (0 elsewhere).
        mask: ``(H, W)`` bool, the hinted pixels.
    """

    ab: np.ndarray
    mask: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.mask.shape)

    def any(self) -> bool:
        return bool(self.mask.any())

    @classmethod
    def from_map(cls, hint_map: torch.Tensor) -> "UserHints":
        """From one ``(3, H, W)`` or ``(1, 3, H, W)`` hint map (e.g. :func:`simulate_hints`)."""
        m = hint_map.detach().float().cpu().reshape(3, *hint_map.shape[-2:])
        mask = (m[2] > 0.5).numpy()
        ab = (m[:2] * (m[2] > 0.5)).permute(1, 2, 0).numpy()
        return cls(np.ascontiguousarray(ab, dtype=np.float32), mask)

    def hint_map(self, shape: tuple[int, int]) -> torch.Tensor:
        """``(1, 3, h, w)`` hint map at ``shape``.

        Area pooling of a*b* x mask and of the mask: a cell that holds any hinted
        pixel is hinted, with the mean a*b* of its hinted pixels; upsampling repeats
        the nearest cell.
        """
        ab = torch.from_numpy(np.ascontiguousarray(self.ab, dtype=np.float32)).permute(2, 0, 1)[None]
        mask = torch.from_numpy(self.mask.astype(np.float32))[None, None]
        if tuple(shape) != self.shape:
            ab, mask = masked_pool(ab, mask, tuple(shape))
        hinted = (mask > 0).float()
        return torch.cat([ab * hinted, hinted], dim=1)


def _mask_from_rgba(rgba: np.ndarray) -> np.ndarray:
    mask = rgba[..., 3] > 0
    ab = colours_to_ab(rgba[..., :3][mask])  # (N, 2) for the visible pixels only
    mask[mask] = np.hypot(ab[:, 0], ab[:, 1]) > HINT_MIN_CHROMA
    return mask


def load_hints(path_or_array, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Read a hints image (file or array) and find the hint pixels.

    A pixel is a hint when its alpha is > 0 (images without alpha count as
    opaque) and its colour is not neutral: Lab chroma C*ab > ``HINT_MIN_CHROMA``.
    So a hints file can be a transparent PNG with strokes, or a copy of the gray
    image painted over in colour (the gray pixels are ignored).

    Args:
        path_or_array: a path to an image PIL can read, or a uint8 array
            ``(H, W, 3)`` / ``(H, W, 4)`` (RGB / RGBA).
        shape: ``(H, W)`` of the image being colorized.

    Returns:
        ``(hints_rgb, mask)``: ``(H, W, 3)`` uint8 and ``(H, W)`` bool.

    Raises:
        InputError: the file cannot be read or its size differs from ``shape``.
    """
    from .errors import InputError

    shape = tuple(int(v) for v in shape)
    if isinstance(path_or_array, (str, os.PathLike)):
        from PIL import Image, UnidentifiedImageError

        path = Path(path_or_array)
        try:
            with Image.open(path) as im:
                rgba = np.asarray(im.convert("RGBA"))
        except FileNotFoundError:
            raise InputError(path, "hints file not found") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(path, f"cannot read the hints image ({exc})") from None
        name = path
    else:
        arr = np.asarray(path_or_array)
        if arr.dtype != np.uint8:
            raise TypeError(f"a hints array must be uint8, got {arr.dtype}")
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise ValueError(f"a hints array must have shape (H, W, 3) or (H, W, 4), got {arr.shape}")
        alpha = arr[..., 3] if arr.shape[-1] == 4 else np.full(arr.shape[:2], 255, np.uint8)
        rgba = np.dstack([arr[..., :3], alpha])
        name = "hints array"
    if rgba.shape[:2] != shape:
        raise InputError(name, f"hints image is {rgba.shape[1]}x{rgba.shape[0]} (WxH) "
                               f"but the input image is {shape[1]}x{shape[0]}")
    return np.ascontiguousarray(rgba[..., :3]), _mask_from_rgba(rgba)


def parse_hints(hints, shape: tuple[int, int]) -> UserHints:
    """User hints in any accepted form -> :class:`UserHints` at ``shape`` ``(H, W)``.

    Args:
        hints: a path to a hints image, a uint8 ``(H, W, 3|4)`` array (see
            :func:`load_hints`), a tuple ``(rgb uint8 (H, W, 3), mask bool (H, W))``,
            or :class:`UserHints`.
        shape: the input image's ``(H, W)``.

    Raises:
        InputError: an unreadable file or one of the wrong size.
        TypeError / ValueError: an array of the wrong dtype or shape.
    """
    shape = tuple(int(v) for v in shape)
    if isinstance(hints, UserHints):
        if hints.shape != shape:
            raise ValueError(f"hints are {hints.shape} but the image is {shape}")
        return hints
    if isinstance(hints, tuple):
        from .classic._checks import bool_mask, rgb_uint8

        if len(hints) != 2:
            raise ValueError(f"hints as a tuple must be (rgb, mask), got {len(hints)} items")
        rgb = rgb_uint8(hints[0], "hints rgb", shape)
        mask = bool_mask(hints[1], "hints mask", shape)
    else:
        rgb, mask = load_hints(hints, shape)
    ab = np.zeros((*shape, 2), np.float32)
    ab[mask] = colours_to_ab(rgb[mask])
    return UserHints(ab, mask)


def resolve_hint_method(capabilities, method: str = "auto", *, name: str = "this model") -> str:
    """``"learned"``, ``"learned+levin"`` or ``"levin"`` for ``method`` in
    :data:`~medcolor.options.HINT_METHODS` and a model's :class:`~medcolor.models.registry.Capabilities`.

    ``auto``: what the model's card says (:attr:`Capabilities.hint_method`): the trainer runs a
    hint sweep on the first validation set and records ``learned`` or ``learned+levin`` only when
    the network's own hint input beats Levin refinement of its automatic colours at 5, 10 and 20
    points; otherwise, and for models without hint input, Levin refinement.

    Raises:
        UsageError: an unknown method, or ``learned`` for a model without hint input.
    """
    from .errors import UsageError
    from .options import parse_hint_method

    if parse_hint_method(method) == "auto":
        return capabilities.hint_method if capabilities.hints else "levin"
    if method in LEARNED_HINT_METHODS and not capabilities.hints:
        raise UsageError(f"model {name} does not take hints as input; use the levin hint method")
    return method


def levin_refine(L: torch.Tensor, ab: torch.Tensor, hint_map: torch.Tensor) -> torch.Tensor:
    """Levin refinement of automatic chroma with a hint map, all at one (working) shape.

    Args:
        L: ``(1, 1, h, w)`` L* in [0, 100].
        ab: ``(1, 2, h, w)`` automatic a*b* in Lab units.
        hint_map: ``(1, 3, h, w)`` hint map (a*, b*, mask).

    Returns:
        ``(1, 2, h, w)`` float32 a*b*: the hints' a*b* at hinted cells, the automatic
        chroma plus a correction spread along the edges of L* elsewhere.
    """
    mask = (hint_map[0, 2] > 0.5).cpu().numpy()
    if not mask.any():
        return ab.float()
    out = refine_ab_lab(L[0, 0].double().cpu().numpy(), ab[0].permute(1, 2, 0).double().cpu().numpy(),
                        hint_map[0, :2].permute(1, 2, 0).double().cpu().numpy(), mask)
    return torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32))[None].to(ab.device)
