"""Predictors: what turns a batch of frames' lightness into chroma (and, where it can, a confidence).

A :class:`Predictor` is the one interface the colorization engine
(:mod:`medcolor.engine`) calls.  It declares what it can do and maps full-resolution
L* to a*b* at any resolution (the engine upsamples and recombines)::

    NetworkPredictor(net)     a network (learned hints or Levin refinement; confidence where the
                              model predicts a bin distribution)
    CtTissuePredictor()       ct-tissue: chroma from each pixel's Hounsfield units (no network)

:func:`make_predictor` turns what a user names (``"default"``, a path, a loaded module,
``"ct-tissue"``) into one; it is the only place that knows ``ct-tissue`` is not a network.
A backend (e.g. ONNX Runtime) implements the same small interface.
"""
from __future__ import annotations

import abc
import os
from functools import lru_cache
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UsageError
from .models.registry import Capabilities, model_capabilities
from .options import MAX_WORKING_SIZE, parse_hint_method, parse_working_size

__all__ = ["Prediction", "Predictor", "NetworkPredictor", "CtTissuePredictor", "make_predictor", "get_model",
           "working_shape", "MAX_ASPECT", "MAX_NATIVE_SIDE"]


# Bounds of the working shape, so that memory never depends on an extreme aspect ratio:
# with a working size, the long side is at most MAX_ASPECT x the short side (a 1x1000
# strip is predicted at 256x2048, not 256x256000, and its chroma stretched back);
# at native size (no working size) neither side exceeds MAX_NATIVE_SIDE.
MAX_ASPECT = 8
MAX_NATIVE_SIDE = MAX_WORKING_SIZE


def working_shape(h: int, w: int, size: int | None) -> tuple[int, int]:
    """The (h, w) at which the network sees an ``h`` x ``w`` image.

    With ``size``: the short side becomes ``size`` and the aspect ratio is kept
    up to ``MAX_ASPECT``:1; a longer side is clamped to ``MAX_ASPECT * size``.
    Without (``None``/0, native size): unchanged, except that an image with a side
    over ``MAX_NATIVE_SIDE`` is scaled down (aspect kept) to fit.  Both sides are >= 1.
    """
    if not size:
        scale = min(1.0, MAX_NATIVE_SIDE / max(h, w))
        return max(1, round(h * scale)), max(1, round(w * scale))
    scale = size / min(h, w)
    cap = MAX_ASPECT * size
    return min(cap, max(1, round(h * scale))), min(cap, max(1, round(w * scale)))


class Prediction(NamedTuple):
    """``ab`` ``(B, 2, h, w)`` a*b* in Lab units; ``confidence`` ``(B, 1, h', w')`` in [0, 1] or None."""

    ab: torch.Tensor
    confidence: torch.Tensor | None = None


class Predictor(abc.ABC):
    """Maps frames' L* to chroma.

    Attributes:
        name: named in outputs and messages.
        needs_hu: :meth:`predict` needs each frame's Hounsfield units.
        has_confidence: :meth:`predict` returns a confidence map.
    """

    name: str = "predictor"
    needs_hu: bool = False
    has_confidence: bool = False

    @abc.abstractmethod
    def predict(self, L: torch.Tensor, *, hu: torch.Tensor | None = None, hints=None) -> Prediction:
        """``L`` ``(B, 1, H, W)`` full-resolution L* in [0, 100] -> :class:`Prediction`.

        ``hu``: ``(B, 1, H, W)`` Hounsfield units when :attr:`needs_hu`; ``hints``: a
        :class:`~medcolor.hints.UserHints` at ``(H, W)`` for a one-frame batch.
        """

    def no_confidence(self) -> str:
        """The one line that refuses a confidence map from a predictor that has none."""
        return f"{self.name} has no confidence: it predicts one colour per pixel, not a colour distribution"

    def check_hints(self) -> str:
        """Raise :class:`UsageError` unless hints can steer this predictor; returns how they act."""
        raise UsageError(f"hints do not apply to {self.name} (its colour does not come from a network)")


class NetworkPredictor(Predictor):
    """A colorization network at its working size, with user hints (learned or Levin) and confidence.

    Args:
        net: a loaded module in eval mode (see :func:`get_model`).
        working_size: short side the network sees; ``"auto"``: the model's own; None: native.
        hint_method: ``auto``/``learned``/``levin`` (:func:`medcolor.hints.resolve_hint_method`).
        name: named in outputs (default: the model's own name).
        backend: ``torch``, ``onnx`` or ``auto`` (the faster of PyTorch and ONNX Runtime, when they
            agree: :func:`medcolor.backend.select_backend`) for automatic predictions; hints use PyTorch.
        batch_size: frames per forward pass the backend is timed with.
    """

    def __init__(self, net: nn.Module, *, working_size="auto", hint_method: str = "auto",
                 name: str | None = None, backend: str = "torch", batch_size: int = 8) -> None:
        self.net = net
        self.capabilities: Capabilities = model_capabilities(net)
        size = parse_working_size(working_size)
        self.working_size = self.capabilities.working_size if size == "auto" else size
        self.requested_hint_method = parse_hint_method(hint_method)
        self.name = name or _model_name(net)
        self.has_confidence = self.capabilities.confidence
        self.backend = None  # automatic predictions through PyTorch
        if backend != "torch":  # ONNX Runtime when it agrees with PyTorch (and, for "auto", is faster)
            from .backend import select_backend

            side = self.working_size or 256
            self.backend = select_backend(net, prefer=backend, example_shape=(batch_size, 1, side, side))

    def check_hints(self) -> str:
        return self.hint_method

    @property
    def hint_method(self) -> str:
        """``learned`` or ``levin``: how hints act on this network (:class:`UsageError` if it cannot)."""
        from .hints import resolve_hint_method

        return resolve_hint_method(self.capabilities, self.requested_hint_method, name=self.name)

    def working_lightness(self, L: torch.Tensor) -> torch.Tensor:
        """``(N, 1, H, W)`` L* -> ``(N, 1, h, w)`` L* in [0, 100] at the working shape."""
        hw = working_shape(*L.shape[-2:], self.working_size)
        small = L if hw == tuple(L.shape[-2:]) else F.interpolate(L, size=hw, mode="bilinear",
                                                                   antialias=True, align_corners=False)
        return small.clamp(0, 100)

    def _run(self, small: torch.Tensor, hint_map: torch.Tensor | None) -> Prediction:
        if self.backend is not None and hint_map is None:
            ab, conf = self.backend.predict(small)
            return Prediction(ab.float(), None if conf is None else conf.float())
        if self.capabilities.confidence:
            ab, conf = self.net.predict(small, hint_map)
            return Prediction(ab.float(), conf.float())
        ab = self.net(small) if hint_map is None else self.net(small, hint_map)
        return Prediction(ab.float())

    def predict(self, L: torch.Tensor, *, hu=None, hints=None) -> Prediction:
        small = self.working_lightness(L)
        with torch.inference_mode():
            if hints is None:
                return self._run(small, None)
            hint_map = hints.hint_map(tuple(small.shape[-2:])).to(small)  # (1, 3, h, w)
            method = self.hint_method
            if method == "learned":
                return self._run(small, hint_map)
            from .hints import levin_refine

            first = self._run(small, hint_map if method == "learned+levin" else None)
            return Prediction(levin_refine(small, first.ab, hint_map), first.confidence)


class CtTissuePredictor(Predictor):
    """``ct-tissue``: chroma from each pixel's Hounsfield units (:mod:`medcolor.ct_tissue`), no network."""

    needs_hu = True

    def __init__(self) -> None:
        from .ct_tissue import NAME

        self.name = NAME

    def predict(self, L: torch.Tensor, *, hu=None, hints=None) -> Prediction:
        from .ct_tissue import hu_to_ab

        if hu is None:
            raise ValueError("ct-tissue needs each frame's Hounsfield units")
        return Prediction(hu_to_ab(hu))


def _model_name(net: nn.Module) -> str:
    return str(getattr(net, "medcolor_name", None) or type(net).__name__)


@lru_cache(maxsize=8)
def _cached_model(spec: str, device: str) -> nn.Module:
    from .weights import load_model

    return load_model(spec, device=device)


def get_model(model: str | os.PathLike | nn.Module, device: torch.device) -> nn.Module:
    """A loaded model in eval mode on ``device``; names and paths are cached."""
    if isinstance(model, nn.Module):
        return model.to(device).eval()
    return _cached_model(str(model), str(device))


def make_predictor(model, *, device: torch.device, working_size="auto", hint_method: str = "auto",
                   name: str | None = None, backend: str = "torch", batch_size: int = 8) -> Predictor:
    """The predictor for what a user names: ``"ct-tissue"``, a shipped name, a path or a loaded module.

    A :class:`Predictor` is returned as it is.  ``working_size`` and ``hint_method`` apply to networks;
    given to ct-tissue they are ignored (it works at full resolution and refuses hints).
    """
    from .ct_tissue import is_ct_tissue

    if isinstance(model, Predictor):
        return model
    if is_ct_tissue(model):
        return CtTissuePredictor()
    return NetworkPredictor(get_model(model, device), working_size=working_size, hint_method=hint_method,
                            name=name, backend=backend, batch_size=batch_size)

