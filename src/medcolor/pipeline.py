"""The Python API for applying a model: ``colorize`` and ``colorize_gray``.

Steps (the same for photos, X-ray, CT, MR and histology, and the same as the command
line and the web app, which run the same :class:`medcolor.engine.Engine`):

1. the display gray image (values in [0, 1]) is turned into its L*;
2. L* is resized so its short side is the working size (the model's, from its card);
3. the model predicts a*b* in Lab units (and, for models with a bin distribution,
   a confidence map);
4. optional user hints (:mod:`medcolor.hints`), pooled to the working size, steer
   the chroma: models that take hints get them as a second input (learned
   hints), other models' chroma is refined by Levin propagation;
5. the slices of a volume are smoothed along the slice axis (:mod:`medcolor.volume`);
6. the chroma is upsampled and joined with the full-resolution L*
   (:func:`medcolor.recombine.recombine`), so structure is never changed.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .card import DEFAULT_WORKING_SIZE  # working size of a model without a card
from .color import rgb_to_gray_np, to_unit_float
from .device import resolve_device
from .engine import ArraySource, Engine, EngineOptions
from .models.registry import model_capabilities
from .predictor import get_model, make_predictor, working_shape

__all__ = ["colorize", "colorize_gray", "Colorized", "get_model", "working_shape", "as_gray",
           "model_working_size", "DEFAULT_WORKING_SIZE"]


class Colorized(NamedTuple):
    """What ``return_confidence=True`` returns: ``rgb`` uint8 ``(..., H, W, 3)`` and ``confidence``
    float32 ``(..., H, W)`` in [0, 1] (1 - normalised entropy of the predicted colour distribution)."""

    rgb: np.ndarray
    confidence: np.ndarray


def model_working_size(net: nn.Module) -> int | None:
    """The working size a model was trained for (its card's); ``None`` = native size."""
    return model_capabilities(net).working_size


def as_gray(image: np.ndarray) -> np.ndarray:
    """Any in-memory image -> float32 display gray ``(H, W)`` or ``(N, H, W)`` in [0, 1].

    uint8 is divided by 255, uint16 by 65535, floats are clipped to [0, 1]; an RGB(A)
    array ``(H, W, 3|4)`` is reduced to the gray level with the same L*.
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] > 4:
        arr = rgb_to_gray_np(arr[..., :3])  # integer dtypes are scaled by their maximum
    else:
        arr = to_unit_float(arr)
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected a (H, W) or (N, H, W) gray image, got shape {arr.shape}")
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def _collect(engine: Engine, src, hints, single: bool, return_confidence: bool):
    """Run ``engine`` over ``src`` into arrays: RGB ``(N, H, W, 3)`` (and confidence ``(N, H, W)``)."""
    n, h, w = src.meta.shape
    prepared = engine.prepare(src.meta, hints)  # the rules, before any work
    rgb = np.empty((n, h, w, 3), dtype=np.uint8)
    conf = np.empty((n, h, w), dtype=np.float32) if return_confidence else None
    for k, frame in enumerate(engine.run(src, prepared=prepared)):
        rgb[k] = frame.rgb
        if conf is not None:
            conf[k] = frame.confidence
    if single:
        rgb, conf = rgb[0], (conf[0] if conf is not None else None)
    return Colorized(rgb, conf) if return_confidence else rgb


def colorize_gray(gray: np.ndarray, model: str | os.PathLike | nn.Module = "default",
                  working_size: int | str | None = "auto", device: str | torch.device = "auto",
                  batch_size: int = 8, hints=None, hint_method: str = "auto", return_confidence: bool = False):
    """Colorize display gray values in [0, 1].

    Args:
        gray: ``(H, W)`` or ``(N, H, W)`` float in [0, 1] (uint8/uint16 are scaled).  A stack
            of frames is colorized frame by frame (no slice smoothing: use :func:`colorize`
            on a volume file for that).
        model: a shipped name (``default``, ``photo`` ...), a path, a loaded module or a
            :class:`~medcolor.predictor.Predictor`.
        working_size: short side the network sees (:func:`medcolor.options.parse_working_size`);
            ``None``/``"native"`` runs at native size; ``"auto"`` uses the size the model was
            trained for (its card; 256 without one).
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        batch_size: frames per forward pass.
        hints: optional user hints for a single 2-D image: a hints image (path or uint8
            array), ``(rgb, mask)`` or :class:`~medcolor.hints.UserHints` (see
            :func:`medcolor.hints.parse_hints`).
        hint_method: ``auto`` (Levin refinement), ``learned`` (the model's own hint input) or ``levin``.
        return_confidence: also return the model's confidence map (:class:`Colorized`); a model
            without one raises :class:`~medcolor.errors.UsageError`.

    Returns:
        uint8 RGB ``(H, W, 3)`` for 2-D input, ``(N, H, W, 3)`` for a stack (or a :class:`Colorized`);
        the output's L* equals the input's L* within 1.0 at every pixel.
    """
    g = as_gray(gray)
    single = g.ndim == 2
    dev = resolve_device(device)
    predictor = make_predictor(model, device=dev, working_size=working_size, hint_method=hint_method)
    engine = Engine(predictor, EngineOptions(batch_size=batch_size, smooth=False, confidence=return_confidence),
                    dev)
    return _collect(engine, ArraySource(g[None] if single else g), hints, single, return_confidence)


def colorize(image, model: str | os.PathLike | nn.Module = "default", working_size: int | str | None = "auto",
             device: str | torch.device = "auto", window=None, axis: int | None = None,
             hints=None, batch_size: int = 8, hint_method: str = "auto", smooth: bool = True,
             return_confidence: bool = False):
    """Colorize an image file (PNG/JPEG/TIFF/BMP, DICOM, NIfTI) or an in-memory array.

    Files are read with :func:`medcolor.io.open_image` (``window`` and ``axis`` apply to
    DICOM and NIfTI).  Returns uint8 RGB ``(H, W, 3)``, or ``(N, H, W, 3)`` for
    multi-frame DICOM and volumes; with ``return_confidence`` a :class:`Colorized`
    ``(rgb, confidence)``.  ``working_size``, ``hints``, ``hint_method``: see :func:`colorize_gray`.

    ``smooth``: the slices of a NIfTI volume or DICOM series get colour that is
    consistent from slice to slice (:mod:`medcolor.volume`); False colours each slice
    on its own.  ``model="ct-tissue"`` colours CT from its Hounsfield units
    (:mod:`medcolor.ct_tissue`; files only, DICOM CT or NIfTI in HU).
    """
    dev = resolve_device(device)
    predictor = make_predictor(model, device=dev, working_size=working_size, hint_method=hint_method)
    engine = Engine(predictor, EngineOptions(batch_size=batch_size, smooth=smooth, confidence=return_confidence),
                    dev)
    if isinstance(image, (str, os.PathLike)) or hasattr(image, "paths"):  # a file or a DicomSeries
        from .io import open_image

        with open_image(image, window=window, axis=axis) as src:
            return _collect(engine, src, hints, src.meta.frames == 1, return_confidence)
    g = as_gray(image)
    return _collect(engine, ArraySource(g[None] if g.ndim == 2 else g), hints, g.ndim == 2, return_confidence)
