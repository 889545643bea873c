"""Classic (non-deep) colorization methods and user colour hints.

* :func:`levin_colorize` -- scribble propagation, Levin, Lischinski & Weiss 2004;
* :func:`welsh_transfer` -- colour transfer from a reference, Welsh et al. 2002;
* :func:`reinhard_transfer` -- l-alpha-beta statistics transfer, Reinhard et al. 2001;
* :func:`apply_lut` / :func:`list_luts` -- DICOM well-known pseudo-colour palettes
  and matplotlib colormaps;
* :func:`refine_ab` -- Levin refinement of a network's chroma with user hints
  (hints images are read by :func:`medcolor.hints.load_hints`).

See ``docs/classic.md``.
"""
from __future__ import annotations

from .hints import refine_ab
from .levin import SolverOptions, levin_colorize, levin_propagate
from .luts import apply_lut, list_luts
from .reinhard import reinhard_transfer
from .welsh import welsh_transfer

__all__ = ["levin_colorize", "levin_propagate", "SolverOptions", "welsh_transfer", "reinhard_transfer",
           "apply_lut", "list_luts", "refine_ab"]
