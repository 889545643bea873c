"""Baselines that every model is compared against, behind one calling convention.

A *method* is a callable ``method(sample) -> uint8 (H, W, 3)`` with a ``name``;
it receives a :class:`~medcolor.evaluate.protocol.Sample` but may use only
``sample.gray`` (the input), except where a baseline's protocol explicitly
reveals ground-truth information (Levin's hints), stated below.

* ``zero-chroma``: the gray input itself as RGB (a*b* = 0).  Always reported.
* ``levin``: Levin, Lischinski & Weiss 2004 with automatic hints, following the
  hint sweeps of Zhang et al. (SIGGRAPH 2017): ``HINT_DENSITY`` of the pixels,
  drawn uniformly at random without replacement (seeded by ``seed`` and the file
  name), each hint is the ground-truth colour of its pixel.
* ``welsh`` / ``reinhard``: colour transfer from a reference image.  Reference
  rule: the *other* ground-truth image of the set whose gray-level histogram is
  closest (1-D Wasserstein distance between the 256-bin histograms of the
  inputs); never the image itself.  Reinhard's source is the gray input as RGB.
* ``lut``: the DICOM hot-iron pseudo-colour table applied to the gray input,
  the clinical baseline.

The classic algorithms live in :mod:`medcolor.classic`, imported only when a
classic baseline is requested.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from .protocol import Sample

__all__ = ["HINT_DENSITY", "LUT_NAME", "ZeroChroma", "LevinHints", "WelshTransfer", "ReinhardTransfer",
           "LutBaseline", "closest_references", "sample_hints", "build_baselines", "baseline_notes"]

HINT_DENSITY = 0.01
LUT_NAME = "hot-iron"


def _classic(func: str):
    """``medcolor.classic.<func>``, imported when a baseline first needs it."""
    from .. import classic

    return getattr(classic, func)


@dataclass
class ZeroChroma:
    """Output = the gray input itself (a*b* = 0)."""

    name: str = "zero-chroma"

    def __call__(self, sample: Sample) -> np.ndarray:
        return sample.gray_rgb


def sample_hints(sample: Sample, density: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random hint pixels carrying the ground-truth colour.

    Returns ``(hints_rgb uint8 (H, W, 3), hints_mask bool (H, W))`` with
    ``max(1, round(density * H * W))`` hinted pixels.  The draw depends only on
    ``seed`` and the file name, so it does not change when other files are added.
    """
    h, w = sample.gray.shape
    n = max(1, round(density * h * w))
    rng = np.random.default_rng([seed, zlib.crc32(sample.name.encode())])
    idx = rng.choice(h * w, size=n, replace=False)
    mask = np.zeros(h * w, dtype=bool)
    mask[idx] = True
    mask = mask.reshape(h, w)
    hints = np.where(mask[..., None], sample.gt, 0).astype(np.uint8)
    return hints, mask


@dataclass
class LevinHints:
    """Levin et al. 2004 optimisation from automatic ground-truth hints."""

    density: float = HINT_DENSITY
    seed: int = 0
    name: str = "levin"

    def __post_init__(self) -> None:
        self._fn = _classic("levin_colorize")

    def __call__(self, sample: Sample) -> np.ndarray:
        hints, mask = sample_hints(sample, self.density, self.seed)
        return self._fn(sample.gray, hints, mask)


def _cdf(gray: np.ndarray) -> np.ndarray:
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    return np.cumsum(hist / hist.sum())


def closest_references(samples: list[Sample]) -> dict[str, Sample]:
    """For each sample, the other sample whose gray histogram is closest.

    Distance: 1-D Wasserstein (earth mover's) distance between the gray-level
    distributions, ``sum |CDF_a - CDF_b|`` over the 256 levels; ties go to the
    first file in name order.  Needs at least two samples.
    """
    if len(samples) < 2:
        raise UsageError("the welsh and reinhard baselines need at least 2 ground-truth images "
                         "(the reference is another image of the set)")
    cdfs = np.stack([_cdf(s.gray) for s in samples])  # (N, 256)
    dist = np.abs(cdfs[:, None, :] - cdfs[None, :, :]).sum(-1)  # (N, N)
    np.fill_diagonal(dist, np.inf)  # never the image itself
    return {s.name: samples[int(np.argmin(dist[i]))] for i, s in enumerate(samples)}


@dataclass
class _ReferenceTransfer:
    """A classic colour transfer from the closest other ground truth (``references`` by sample name)."""

    references: dict[str, Sample]
    function = ""  # the medcolor.classic function
    source = "gray"  # the Sample field it transfers onto

    def __post_init__(self) -> None:
        self._fn = _classic(self.function)

    def __call__(self, sample: Sample) -> np.ndarray:
        return self._fn(getattr(sample, self.source), self.references[sample.name].gt)


@dataclass
class WelshTransfer(_ReferenceTransfer):
    """Welsh et al. 2002 colour transfer from the closest other ground truth."""

    name: str = "welsh"
    function = "welsh_transfer"


@dataclass
class ReinhardTransfer(_ReferenceTransfer):
    """Reinhard et al. 2001 statistics transfer; source = the gray input as RGB."""

    name: str = "reinhard"
    function = "reinhard_transfer"
    source = "gray_rgb"


@dataclass
class LutBaseline:
    """A pseudo-colour lookup table applied to the gray input."""

    lut: str = LUT_NAME
    name: str = "lut"

    def __post_init__(self) -> None:
        self._fn = _classic("apply_lut")

    def __call__(self, sample: Sample) -> np.ndarray:
        return self._fn(sample.gray, self.lut)


def build_baselines(names: list[str], samples: list[Sample], seed: int = 0) -> list:
    """The baseline methods called ``names`` (see the module docstring), in that order."""
    refs = closest_references(samples) if {"welsh", "reinhard"} & set(names) else {}
    makers = {
        "zero-chroma": lambda: ZeroChroma(),
        "levin": lambda: LevinHints(seed=seed),
        "welsh": lambda: WelshTransfer(refs),
        "reinhard": lambda: ReinhardTransfer(refs),
        "lut": lambda: LutBaseline(),
    }
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise UsageError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(makers)}")
    return [makers[n]() for n in names]


def baseline_notes(names: list[str], seed: int, samples: list[Sample]) -> list[str]:
    """One line per requested baseline stating its protocol (for the reports)."""
    notes = {
        "zero-chroma": "zero-chroma: the gray input itself (a* = b* = 0).",
        "levin": (f"levin: Levin et al. 2004 from automatic hints, {HINT_DENSITY:.0%} of the pixels drawn "
                  f"uniformly at random (seed {seed} and the file name), each the ground-truth colour "
                  "of its pixel (SIGGRAPH 2017 hint-sweep convention). Uses ground-truth information."),
        "welsh": "welsh: Welsh et al. 2002 transfer from the reference image (rule below).",
        "reinhard": "reinhard: Reinhard et al. 2001 lαβ statistics transfer, source = the gray input as RGB, "
                    "from the reference image (rule below).",
        "lut": f"lut: DICOM {LUT_NAME} pseudo-colour table applied to the gray input.",
    }
    lines = [notes[n] for n in names if n in notes]
    if {"welsh", "reinhard"} & set(names):
        lines.append("Reference rule (welsh, reinhard): the other ground-truth image of the set with the closest "
                     "gray histogram (1-D Wasserstein distance), never the image itself.")
        refs = closest_references(samples)
        lines.append("References: " + "; ".join(f"{k} ← {v.name}" for k, v in refs.items()))
    return lines
