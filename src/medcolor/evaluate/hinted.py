"""Evaluation with simulated user hints (``medcolor evaluate --hints N[,N...]``).

The protocol of Zhang et al. 2017 ("Real-Time User-Guided Image Colorization
with Learned Deep Priors", Fig. 6): each image gets N hint points drawn
uniformly at random, each a 5x5 patch given the patch's mean ground-truth
a*b* (:func:`medcolor.hints.simulate_hints`).  The draw depends only on the
seed, the file name and N, so every method sees the same points and adding
files does not change them.

For each model and each N > 0 two methods are scored:

* ``MODEL +N learned``: the network's own hint input (models whose
  capabilities say ``hints`` only);
* ``MODEL +N levin``: the model's automatic chroma refined by Levin propagation
  of the hint corrections (:func:`medcolor.hints.levin_refine`), the baseline;
* ``MODEL +N learned+levin``: the learned colours, then Levin refinement.

N = 0 is the model's automatic result, its own row.  Both methods go through
:func:`medcolor.colorize_gray` (hints pooled to the working size), exactly as
``medcolor colorize --hints`` and the web page use them.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from .protocol import Sample
from .runner import ModelMethod

__all__ = ["HINT_PATCH", "HintedModelMethod", "hinted_methods", "simulated_hints", "hints_note"]

HINT_PATCH = 5  # side of each simulated hint patch, pixels


def simulated_hints(sample: Sample, points: int, seed: int):
    """The :class:`~medcolor.hints.UserHints` of ``points`` 5x5 patches for one ground-truth image."""
    from ..color import rgb_to_lab_np
    from ..hints import UserHints, simulate_hints

    ab = rgb_to_lab_np(sample.gt.astype(np.float64) / 255.0)[..., 1:]  # (H, W, 2) true a*b*
    ab_t = torch.from_numpy(np.ascontiguousarray(ab.transpose(2, 0, 1), dtype=np.float32))[None]
    gen = torch.Generator().manual_seed(zlib.crc32(f"{seed}/{points}/{sample.name}".encode()))
    return UserHints.from_map(simulate_hints(ab_t, points, patch=HINT_PATCH, generator=gen)[0])


@dataclass
class HintedModelMethod:
    """A loaded model colorizing with ``points`` simulated hints, the ``learned`` or ``levin`` way."""

    model: ModelMethod
    points: int
    method: str  # "learned" | "levin" | "learned+levin"
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.model.name} +{self.points} {self.method}"

    @property
    def working_size(self):
        return self.model.working_size

    def warmup(self, sample: Sample) -> None:
        self(sample)

    def __call__(self, sample: Sample) -> np.ndarray:
        from ..pipeline import colorize_gray

        gray = sample.gray.astype(np.float32) / 255.0  # (H, W) display gray in [0, 1]
        return colorize_gray(gray, model=self.model.model, working_size=self.model.working_size,
                             device=self.model.torch_device, hints=simulated_hints(sample, self.points, self.seed),
                             hint_method=self.method)


def hinted_methods(models: list[ModelMethod], points: list[int], seed: int = 0) -> list[HintedModelMethod]:
    """For each model and each N > 0 in ``points``: the learned method (if the model takes hints), then Levin."""
    from ..models.registry import model_capabilities

    out = []
    for m in models:
        for n in sorted({int(p) for p in points if int(p) > 0}):
            kinds = ("learned", "levin", "learned+levin") if model_capabilities(m.model).hints else ("levin",)
            out += [HintedModelMethod(m, n, kind, seed) for kind in kinds]
    return out


def hints_note(points: list[int], seed: int) -> str:
    """One report line stating the hint protocol."""
    ns = ", ".join(str(p) for p in sorted({int(p) for p in points}))
    return (f"Hints: N ∈ {{{ns}}} points per image drawn uniformly (seed {seed}, the file name and N), each a "
            f"{HINT_PATCH}×{HINT_PATCH} patch given its mean ground-truth a*b* (Zhang et al. 2017). "
            "'MODEL +N learned': the model's own hint input; 'MODEL +N levin': its automatic colours refined by "
            "Levin propagation of the corrections; 'MODEL +N learned+levin': the learned colours, then Levin. "
            "N = 0 is the model's own row. Uses ground-truth information.")
