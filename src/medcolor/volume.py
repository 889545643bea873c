"""Colour that stays the same through a volume: slice-to-slice chroma smoothing and its measure.

A network colorizes each slice of a NIfTI volume or DICOM series on its own, so
the same tissue can take a slightly different colour from one slice to the
next: the colour *flickers* when a viewer scrolls through the volume.

:class:`SliceSmoother` is a :class:`medcolor.engine.ChromaHook` that replaces
each slice's a*b* (and its confidence map, when one is made) by a weighted mean of
those of its neighbours along the slice axis (a centred window of ``2 * radius + 1`` slices).  The weight of a
neighbour falls off with its distance in slices and, per pixel, with its
difference in L*: where the anatomy changes between slices (different
lightness) a pixel keeps its own colour, where it continues (similar
lightness) the colour is averaged.  Only a*b* change; the L* of every output
pixel is still the input's (the structure guarantee holds as for any model).
Streaming stays bounded: the hook holds ``radius`` slices back, never the volume.

:func:`slice_flicker` / :class:`FlickerMeter` measure what the smoothing
removes: the mean (and 90th percentile) of |Δa*b*| between adjacent slices at
pixels whose lightness barely changes (|ΔL*| < 2), i.e. where a change of
colour is not explained by a change of anatomy.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["SmoothingSettings", "SliceSmoother", "volume_hook", "VOLUME_KINDS", "FlickerStats",
           "FlickerMeter", "slice_flicker"]

#: Units whose frames are slices of one volume (see :attr:`medcolor.io.ImageMeta.kind`).
VOLUME_KINDS = ("volume", "series")


@dataclass(frozen=True)
class SmoothingSettings:
    """How :class:`SliceSmoother` averages a*b* along the slice axis.

    Attributes:
        radius: slices on each side in the window (the hook holds this many back).
        sigma_slices: Gaussian fall-off of the weight with the distance in slices.
        sigma_lightness: Gaussian fall-off with the per-pixel L* difference (L* units, 0-100).
    """

    radius: int = 8
    sigma_slices: float = 6.0
    sigma_lightness: float = 5.0

    def __post_init__(self) -> None:
        if self.radius < 0 or self.sigma_slices <= 0 or self.sigma_lightness <= 0:
            raise ValueError(f"smoothing needs radius >= 0 and positive sigmas, got {self}")


def _lightness_at(L: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(1, 1, H, W)`` L* -> ``(1, 1, h, w)`` at the chroma's size (area-weighted when shrinking)."""
    if tuple(L.shape[-2:]) == tuple(size):
        return L.float()
    return F.interpolate(L.float(), size=size, mode="bilinear", antialias=True, align_corners=False)


class SliceSmoother:
    """A :class:`~medcolor.engine.ChromaHook` that smooths a*b* along the slice axis where L* is similar.

    Frames (:class:`~medcolor.engine.ChromaFrame`) are pushed in slice order: ``L``
    ``(1, 1, H, W)`` in [0, 100], ``ab`` ``(1, 2, h, w)`` in Lab units and optionally a
    ``confidence`` ``(1, 1, h', w')``.  Frame ``k`` comes out, with ``L`` unchanged and ``ab``
    (and ``confidence``, with the same weights) smoothed, once frame ``k + radius`` has been
    pushed (or at :meth:`flush`); at the ends of the volume the window is cut short.

    Output ``ab[k](x) = sum_j w_kj(x) ab[j](x) / sum_j w_kj(x)`` over ``|j - k| <= radius`` with
    ``w_kj(x) = exp(-(j - k)^2 / 2 sigma_slices^2) * exp(-(L_j(x) - L_k(x))^2 / 2 sigma_lightness^2)``,
    ``L`` taken at the chroma's size.  Memory: ``2 * radius + 1`` frames.
    """

    def __init__(self, settings: SmoothingSettings | None = None) -> None:
        self.settings = settings or SmoothingSettings()
        self._held: deque[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = deque()  # (L, L small, ab [+ conf])
        self._pushed = 0  # frames pushed so far
        self._emitted = 0  # frames returned so far
        self._with_confidence: bool | None = None

    @property
    def context(self) -> int:
        """Frames on each side that decide one frame's output."""
        return self.settings.radius

    def push(self, frame):
        """Take the next :class:`~medcolor.engine.ChromaFrame`; return the frames whose window is now complete."""
        L, ab, conf = frame
        if L.dim() != 4 or L.shape[:2] != (1, 1) or ab.dim() != 4 or ab.shape[:2] != (1, 2):
            raise ValueError(f"expected L (1, 1, H, W) and ab (1, 2, h, w), got {tuple(L.shape)}, {tuple(ab.shape)}")
        if self._with_confidence is None:
            self._with_confidence = conf is not None
        if self._with_confidence != (conf is not None):
            raise ValueError("either every frame has a confidence map or none has")
        if conf is not None:  # smoothed with the same weights: carried as a third chroma channel
            if tuple(conf.shape[-2:]) != tuple(ab.shape[-2:]):
                conf = F.interpolate(conf.float(), size=tuple(ab.shape[-2:]), mode="bilinear", align_corners=False)
            ab = torch.cat([ab.float(), conf.float()], dim=1)
        if self._held and tuple(ab.shape) != tuple(self._held[-1][2].shape):
            raise ValueError(f"every frame's ab must have the same shape, got {tuple(ab.shape)} after "
                             f"{tuple(self._held[-1][2].shape)}")
        self._held.append((frame, _lightness_at(L, tuple(ab.shape[-2:])), ab.float()))
        self._pushed += 1
        ready = []
        while self._pushed - self._emitted > self.settings.radius:
            ready.append(self._emit())
        return ready

    def flush(self) -> list:
        """Return the frames still held (the last ``radius``), then reset for another unit."""
        ready = [self._emit() for _ in range(self._pushed - self._emitted)]
        self._held.clear()
        self._pushed = self._emitted = 0
        self._with_confidence = None
        return ready

    def _emit(self):
        s = self.settings
        first = self._pushed - len(self._held)  # frame index of self._held[0]
        i = self._emitted - first
        frame_k, small_k, ab_k = self._held[i]
        num = ab_k.clone()
        den = torch.ones_like(small_k)
        for j in range(max(0, i - s.radius), min(len(self._held), i + s.radius + 1)):
            if j == i:
                continue
            _, small_j, ab_j = self._held[j]
            w = np.exp(-0.5 * ((j - i) / s.sigma_slices) ** 2) * torch.exp(
                -0.5 * ((small_j - small_k) / s.sigma_lightness) ** 2)  # (1, 1, h, w)
            num += w * ab_j
            den += w
        self._emitted += 1
        while self._held and (self._pushed - len(self._held)) < self._emitted - s.radius:
            self._held.popleft()  # no later frame's window reaches it
        out = num / den
        return frame_k._replace(ab=out[:, :2], confidence=out[:, 2:] if self._with_confidence else None)


def volume_hook(meta, settings: SmoothingSettings | None = None) -> SliceSmoother | None:
    """The engine's smoothing decision (:class:`medcolor.engine.Engine`): a :class:`SliceSmoother` for a volume.

    Returns None (no smoothing) unless ``meta`` (:class:`~medcolor.io.ImageMeta`) is
    a NIfTI volume or a DICOM series (:data:`VOLUME_KINDS`) with more than one frame;
    multi-frame files and TIFF stacks may be unrelated images and are left alone.
    """
    if meta.kind in VOLUME_KINDS and meta.frames > 1:
        return SliceSmoother(settings)
    return None


# --------------------------------------------------------------------- measure
@dataclass(frozen=True)
class FlickerStats:
    """Colour change between adjacent slices where lightness barely changes.

    Attributes:
        mean: mean |Δa*b*| (Euclidean, Lab units) over the counted pixels.
        p90: its 90th percentile (to 0.01, from a histogram).
        pixels: pixels counted (adjacent-slice pairs with |ΔL*| < ``max_dl``, both above ``min_lightness``).
        pairs: adjacent slice pairs seen.
    """

    mean: float
    p90: float
    pixels: int
    pairs: int


class FlickerMeter:
    """Streams Lab slices in order and accumulates :class:`FlickerStats` in bounded memory.

    Args:
        max_dl: a pixel counts where the two slices' L* differ by less than this.
        min_lightness: ... and both L* are at least this (black carries no colour; a volume's
            empty background would otherwise dilute the mean).
        bin_width: histogram resolution for the percentile (Lab units).
    """

    _MAX_DAB = 300.0  # a*b* differences above this fall in the last bin

    def __init__(self, *, max_dl: float = 2.0, min_lightness: float = 1.0, bin_width: float = 0.01) -> None:
        self.max_dl, self.min_lightness, self.bin_width = float(max_dl), float(min_lightness), float(bin_width)
        self._hist = np.zeros(int(self._MAX_DAB / bin_width) + 1, dtype=np.int64)
        self._sum = 0.0
        self._count = 0
        self._pairs = 0
        self._prev: np.ndarray | None = None

    def add(self, lab: np.ndarray) -> None:
        """Next slice: Lab ``(H, W, 3)`` (L* in [0, 100], a*b* in Lab units), same shape every time."""
        lab = np.asarray(lab, dtype=np.float32)
        if lab.ndim != 3 or lab.shape[-1] != 3:
            raise ValueError(f"expected a Lab slice (H, W, 3), got shape {lab.shape}")
        prev, self._prev = self._prev, lab
        if prev is None:
            return
        if prev.shape != lab.shape:
            raise ValueError(f"slices differ in shape: {prev.shape} then {lab.shape}")
        self._pairs += 1
        keep = ((np.abs(lab[..., 0] - prev[..., 0]) < self.max_dl)
                & (lab[..., 0] >= self.min_lightness) & (prev[..., 0] >= self.min_lightness))
        dab = np.hypot(lab[..., 1] - prev[..., 1], lab[..., 2] - prev[..., 2])[keep]
        self._sum += float(dab.sum(dtype=np.float64))
        self._count += int(dab.size)
        bins = np.minimum((dab / self.bin_width).astype(np.int64), self._hist.size - 1)
        self._hist += np.bincount(bins, minlength=self._hist.size)

    def result(self) -> FlickerStats:
        """The statistics so far (NaN mean and p90 when no pixel counted)."""
        if not self._count:
            return FlickerStats(mean=float("nan"), p90=float("nan"), pixels=0, pairs=self._pairs)
        k = int(np.searchsorted(np.cumsum(self._hist), 0.9 * self._count))
        return FlickerStats(mean=self._sum / self._count, p90=(k + 1) * self.bin_width, pixels=self._count,
                            pairs=self._pairs)


def slice_flicker(slices: Iterable[np.ndarray], *, max_dl: float = 2.0, min_lightness: float = 1.0
                  ) -> FlickerStats:
    """:class:`FlickerStats` of Lab slices ``(H, W, 3)`` in slice order (an ``(F, H, W, 3)`` array or any iterable).

    To measure an RGB output, convert it first (:func:`medcolor.color.rgb_to_lab_np`).
    """
    meter = FlickerMeter(max_dl=max_dl, min_lightness=min_lightness)
    for lab in slices:
        meter.add(lab)
    return meter.result()
