"""The quantised a*b* space of Zhang, Isola & Efros 2016: bins, soft-encoding, decoding.

Bins.  a*b* is quantised on a grid of step 10 and the Q = 313 "in-gamut" grid
points are kept.  They are computed here, not copied: the a*b* projection of
the sRGB gamut (union over L* in [0, 100]) equals the projection of the surface
of the RGB cube, which is sampled densely (256 x 256 per face) and converted
with :func:`medcolor.color.rgb_to_lab_np`.  A grid point is kept when it lies
within ``reach`` = 13.5 Lab units of that projection.  The strict criterion
"the point's 10 x 10 cell contains an sRGB colour" keeps only 262 points: the
published 313 bins reach beyond the sRGB boundary, and a margin of 13.5 (any
value in (13.25, 13.72) gives the same set) reproduces exactly 313.  All 262
strictly in-gamut bins are among them.

Soft-encoding.  A ground-truth a*b* value becomes a distribution over its 5
nearest bins with Gaussian weights (sigma = 5).

Annealed mean.  Logits decode to a*b* as the mean of the bins under
``softmax(logits / T)`` (T = 0.38): between the mean (T = 1, desaturated) and
the mode (T -> 0, noisy).

Class rebalancing.  Weights ``w ∝ ((1 - λ) p~ + λ / Q)^-1`` with ``E_p~[w] = 1``,
where ``p~`` is the empirical bin distribution smoothed by a Gaussian (sigma = 5)
and λ = 0.5; they make rare saturated colours count in the loss.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from ..color import rgb_to_lab_np

__all__ = ["GRID", "REACH", "BinClassifier", "ab_bins", "gamut_ab", "soft_encode", "annealed_mean", "nearest_bin",
           "ab_histogram", "rebalancing_weights", "downsample_ab", "confidence", "decode"]

GRID = 10.0  # bin spacing in Lab units
REACH = 13.5  # margin around the sRGB a*b* gamut that reproduces Zhang et al.'s 313 bins


def gamut_ab(samples: int = 256) -> np.ndarray:
    """``(6 * samples**2, 2)`` a*b* of the RGB cube's surface: outlines the sRGB a*b* gamut."""
    v = np.linspace(0.0, 1.0, samples)
    u, w = (g.ravel() for g in np.meshgrid(v, v, indexing="ij"))
    faces = []
    for axis in range(3):
        others = [i for i in range(3) if i != axis]
        for value in (0.0, 1.0):
            rgb = np.empty((u.size, 3))
            rgb[:, axis], rgb[:, others[0]], rgb[:, others[1]] = value, u, w
            faces.append(rgb)
    return rgb_to_lab_np(np.concatenate(faces))[:, 1:]


@functools.lru_cache(maxsize=4)
def _bins(reach: float, samples: int) -> np.ndarray:
    from scipy.spatial import cKDTree

    k = np.arange(-15, 16) * GRID  # a*, b* in [-150, 150] covers the whole gamut
    a, b = np.meshgrid(k, k, indexing="ij")
    grid = np.stack([a.ravel(), b.ravel()], axis=1)
    dist, _ = cKDTree(gamut_ab(samples)).query(grid)
    out = grid[dist <= reach]
    out.setflags(write=False)
    return out


def ab_bins(reach: float = REACH, samples: int = 256) -> torch.Tensor:
    """``(Q, 2)`` float32 bin centres (a*, b*) in Lab units, sorted by a* then b*; Q = 313."""
    return torch.from_numpy(_bins(float(reach), int(samples)).astype(np.float32))


def _sq_dist(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """``(B, 2, H, W)`` and ``(Q, 2)`` -> ``(B, H, W, Q)`` squared distances."""
    x = ab.permute(0, 2, 3, 1)  # (B, H, W, 2)
    return (x.unsqueeze(-2) - bins.to(x)).pow(2).sum(-1)


def soft_encode(ab: torch.Tensor, bins: torch.Tensor, k: int = 5, sigma: float = 5.0) -> torch.Tensor:
    """Soft-encode ``(B, 2, H, W)`` a*b* (Lab units) -> ``(B, Q, H, W)`` distributions.

    Each pixel spreads over its ``k`` nearest bins with weights ``exp(-d² / 2σ²)``,
    normalised to sum to 1.
    """
    d2 = _sq_dist(ab, bins)  # (B, H, W, Q)
    near_d2, idx = d2.topk(k, dim=-1, largest=False)
    w = torch.softmax(-near_d2 / (2.0 * sigma**2), dim=-1)  # normalised Gaussian weights
    out = torch.zeros_like(d2).scatter_(-1, idx, w)
    return out.permute(0, 3, 1, 2)  # (B, Q, H, W)


def annealed_mean(logits: torch.Tensor, bins: torch.Tensor, T: float = 0.38) -> torch.Tensor:
    """``(B, Q, H, W)`` logits -> ``(B, 2, H, W)`` a*b* in Lab units: mean under softmax(logits / T).

    Computed in channels-last order (the softmax over the last axis, then one matrix
    product with the bins), which avoids layout copies for channels-last models.
    """
    p = torch.softmax(logits.permute(0, 2, 3, 1) / T, dim=-1)  # (B, H, W, Q)
    return (p @ bins.to(p)).permute(0, 3, 1, 2)


def confidence(logits: torch.Tensor) -> torch.Tensor:
    """``(B, Q, H, W)`` logits -> ``(B, 1, H, W)`` confidence in [0, 1]: 1 - H(p) / log Q.

    ``p = softmax(logits)`` is the model's own predicted a*b* distribution (T = 1).
    1 means all mass on one bin (the model is sure of the colour); 0 means the
    uniform distribution over all Q bins (the model has no idea).  It measures how
    spread the prediction is, not whether it is right: a model can be confidently
    wrong on images unlike its training data.
    """
    logp = torch.log_softmax(logits.float().permute(0, 2, 3, 1), dim=-1)  # (B, H, W, Q)
    entropy = -(logp.exp() * logp).sum(-1, keepdim=True)
    conf = 1.0 - entropy / float(np.log(logits.shape[1]))
    return conf.clamp(0.0, 1.0).permute(0, 3, 1, 2)


def decode(logits: torch.Tensor, bins: torch.Tensor, T: float, confidence_power: float = 0.0,
           need_confidence: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The one decoding policy of the bin classifiers, for training and inference.

    ``(B, Q, h, w)`` logits -> ``(ab (B, 2, h, w) Lab units, conf (B, 1, h, w) in [0, 1])``:
    the annealed mean at temperature ``T``, its chroma multiplied by
    ``confidence ** confidence_power`` so that colour is held back where the model is
    unsure (0 = no shrinkage; 0.5 = the square root; 1 = proportional).  ``conf`` is None when
    ``need_confidence`` is false and the policy does not use it (training, chroma-only calls).
    """
    ab = annealed_mean(logits, bins, T)
    if not need_confidence and confidence_power <= 0:
        return ab, None
    conf = confidence(logits)
    if confidence_power > 0:
        ab = ab * conf.to(ab).pow(confidence_power)
    return ab, conf


def nearest_bin(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """``(B, 2, H, W)`` a*b* -> ``(B, H, W)`` int64 index of the nearest bin."""
    return _sq_dist(ab, bins).argmin(-1)


def ab_histogram(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Counts ``(Q,)`` float64 of the nearest bin of every pixel of ``(B, 2, H, W)`` a*b*.

    Sum the results over a data set, then pass them to :func:`rebalancing_weights`.
    """
    idx = nearest_bin(ab, bins).reshape(-1)
    return torch.bincount(idx, minlength=bins.shape[0]).double()


def rebalancing_weights(counts: torch.Tensor, bins: torch.Tensor, lam: float = 0.5,
                        sigma: float = 5.0) -> torch.Tensor:
    """Class-rebalancing weights ``(Q,)`` float32 from bin counts (Zhang et al. 2016, eq. 4).

    Args:
        counts: ``(Q,)`` occurrences of each bin over a data set (:func:`ab_histogram`).
        bins: ``(Q, 2)`` bin centres.
        lam: mixing weight with the uniform distribution (0.5 in the paper).
        sigma: Gaussian smoothing of the empirical distribution in Lab units (5 in the paper).
    """
    counts = counts.double().reshape(-1)
    if counts.shape[0] != bins.shape[0] or counts.sum() <= 0:
        raise ValueError(f"counts must be ({bins.shape[0]},) with a positive total")
    p = counts / counts.sum()
    b = bins.double()
    kernel = torch.exp(-torch.cdist(b, b).pow(2) / (2.0 * sigma**2))  # (Q, Q)
    p_smooth = kernel @ p
    p_smooth = p_smooth / p_smooth.sum()
    q = bins.shape[0]
    w = 1.0 / ((1.0 - lam) * p_smooth + lam / q)
    w = w / (p_smooth * w).sum()  # expectation 1 under the smoothed distribution
    return w.float()


def downsample_ab(ab: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-average ``(B, 2, H, W)`` a*b* to ``size`` (the logits' grid) before soft-encoding."""
    return F.adaptive_avg_pool2d(ab, size)


class BinClassifier:
    """Mixin for colorizers that predict logits over the a*b* bins (``eccv16``, ``effcolor``).

    :meth:`_init_bins` registers the ``bins`` ``(Q, 2)`` and ``class_weights`` ``(Q,)``
    buffers, so both travel with the weights; the trainer's cross-entropy reads them.
    """

    #: annealed-mean temperature and confidence shrinkage of :func:`decode` (set by calibration)
    T: float = 1.0
    confidence_power: float = 0.0

    def decode(self, logits: torch.Tensor, need_confidence: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, Q, h, w)`` logits -> ``(ab, confidence)`` with this model's policy (:func:`decode`)."""
        return decode(logits.float(), self.bins, self.T, self.confidence_power, need_confidence)

    def _init_bins(self) -> torch.Tensor:
        bins = ab_bins()
        self.register_buffer("bins", bins)  # (Q, 2) bin centres, Lab units
        self.register_buffer("class_weights", torch.ones(bins.shape[0]))  # (Q,) rebalancing
        return bins

    @property
    def num_bins(self) -> int:
        return int(self.bins.shape[0])

    def set_class_weights(self, weights: torch.Tensor) -> None:
        """Store ``(Q,)`` rebalancing weights (from :func:`rebalancing_weights`)."""
        if weights.shape != self.class_weights.shape:
            raise ValueError(f"expected ({self.num_bins},) weights, got {tuple(weights.shape)}")
        self.class_weights.copy_(weights.to(self.class_weights))
