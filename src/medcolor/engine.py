"""The one colorization engine: source -> predictor -> chroma hooks -> frames for a writer.

Every way of colorizing (``medcolor.colorize``, :func:`medcolor.batch.colorize_unit` behind
``medcolor colorize``, and the web app) runs through :class:`Engine`, so each behaviour is
decided here, once:

* the rules (:meth:`Engine.prepare`): hints apply to a one-frame input and to a predictor
  they can steer; a confidence map needs a predictor that has one; ``ct-tissue`` needs
  Hounsfield units; the slices of a NIfTI volume or DICOM series are smoothed
  (:func:`medcolor.volume.volume_hook`) unless switched off;
* the flow (:meth:`Engine.run`): frames are read in order, ``batch_size`` at a time, and
  predicted in one forward pass per batch (display gray -> L* -> :class:`~medcolor.predictor.Predictor`);
  each frame's chroma (and confidence) passes through the :class:`ChromaHook`, then is joined
  with the full-resolution L* (:func:`medcolor.recombine.recombine`: the structure is never
  changed) and yielded as a :class:`ColorFrame`.

Memory holds one batch plus what a hook holds back, never a whole volume.  With
``frame=k`` only frame ``k`` is produced, from the frames its hook reads (a smoothed slice of
a volume is the same as in the whole volume's output).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from .errors import UsageError
from .predictor import Predictor

__all__ = ["ChromaFrame", "ChromaHook", "ColorFrame", "EngineOptions", "Engine", "ArraySource"]


class ChromaFrame(NamedTuple):
    """One frame between the predictor and the recombination (CPU tensors).

    ``L`` ``(1, 1, H, W)`` full-resolution L* in [0, 100]; ``ab`` ``(1, 2, h, w)`` a*b* in Lab
    units; ``confidence`` ``(1, 1, h', w')`` in [0, 1], or None when not asked for.
    """

    L: torch.Tensor
    ab: torch.Tensor
    confidence: torch.Tensor | None = None


class ChromaHook(Protocol):
    """Post-processes the chroma (and confidence) of consecutive frames of one input, e.g. slice smoothing.

    ``push`` receives :class:`ChromaFrame` in order and returns the frames now ready, in order
    (``L`` unchanged; ``ab`` and ``confidence`` at any resolution); it may hold frames back.
    ``flush`` returns those still held at the end.  Every pushed frame comes out exactly once.
    ``context``: how many frames on each side decide a frame's output.
    """

    context: int

    def push(self, frame: ChromaFrame) -> list[ChromaFrame]: ...

    def flush(self) -> list[ChromaFrame]: ...


class ColorFrame(NamedTuple):
    """One finished frame: ``rgb`` ``(H, W, 3)`` uint8; ``confidence`` ``(H, W)`` float32 in [0, 1] or None."""

    rgb: np.ndarray
    confidence: np.ndarray | None = None


@dataclass(frozen=True)
class EngineOptions:
    """How the engine runs.

    Attributes:
        batch_size: frames per forward pass (memory grows with it).
        smooth: smooth the colour (and confidence) of a volume's slices along the slice axis.
        confidence: produce each frame's confidence map (the predictor must have one).
        hook: ``meta -> ChromaHook or None`` replacing the smoothing decision (for experiments).
    """

    batch_size: int = 8
    smooth: bool = True
    confidence: bool = False
    hook: Callable[[object], ChromaHook | None] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise UsageError(f"batch size must be a whole number >= 1, got {self.batch_size!r}")


@dataclass(frozen=True)
class ArrayMeta:
    """What the engine needs to know of an in-memory input (the fields it shares with ImageMeta)."""

    shape: tuple[int, int, int]
    kind: str = "array"
    path: str | None = None
    hu_available: bool = False

    @property
    def frames(self) -> int:
        return self.shape[0]


class ArraySource:
    """In-memory display gray ``(F, H, W)`` float32 in [0, 1], read like an opened file."""

    def __init__(self, gray: np.ndarray) -> None:
        self.gray = gray
        self.meta = ArrayMeta(tuple(gray.shape))

    def __len__(self) -> int:
        return self.gray.shape[0]

    def frames(self, *, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        yield from self.gray[start:stop]


class _Prepared(NamedTuple):
    hints: object  # UserHints or None
    hook: ChromaHook | None


class Engine:
    """Colorizes opened inputs with one predictor (see the module docstring).

    Args:
        predictor: a :class:`~medcolor.predictor.Predictor` (see :func:`medcolor.predictor.make_predictor`).
        options: :class:`EngineOptions`.
        device: where frames are predicted (the predictor's device).
    """

    def __init__(self, predictor: Predictor, options: EngineOptions | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.predictor = predictor
        self.options = options or EngineOptions()
        self.device = torch.device(device)
        if self.options.confidence and not predictor.has_confidence:
            raise UsageError(predictor.no_confidence())

    # ------------------------------------------------------------------ rules
    def prepare(self, meta, hints=None) -> _Prepared:
        """Check an input against the rules (before anything is written); parsed hints and the hook.

        Raises :class:`UsageError` for hints on several frames or on a predictor they cannot steer,
        :class:`~medcolor.errors.InputError` (naming the file) for ct-tissue on an input without HU.
        """
        if self.predictor.needs_hu:
            if isinstance(meta, ArrayMeta):
                raise UsageError(f"{self.predictor.name} colours Hounsfield units: give it a DICOM CT or NIfTI file, "
                                 "not an array (for arrays of HU use medcolor.ct_tissue.colorize_hu)")
            from .ct_tissue import require_hu

            require_hu(meta)
        if hints is not None:
            if meta.frames != 1:
                where = f"{meta.path}: " if meta.path else ""
                raise UsageError(f"{where}hints apply to a one-frame image, this has {meta.frames} frames")
            self.predictor.check_hints()
            from .hints import parse_hints

            hints = parse_hints(hints, meta.shape[-2:])
        if self.options.hook is not None:
            hook = self.options.hook(meta)
        elif self.options.smooth:
            from .volume import volume_hook

            hook = volume_hook(meta)
        else:
            hook = None
        return _Prepared(hints, hook)

    # ------------------------------------------------------------------ flow
    def run(self, src, *, hints=None, frame: int | None = None, prepared: _Prepared | None = None
            ) -> Iterator[ColorFrame]:
        """Colorize an opened source (:class:`~medcolor.io.ImageSource` or :class:`ArraySource`) in frame order.

        ``frame``: produce only that frame.  ``prepared``: the result of :meth:`prepare` when the
        caller checked the input before opening its outputs.
        """
        meta = src.meta
        prep = prepared or self.prepare(meta, hints)
        n = meta.frames
        start, stop = 0, n
        if frame is not None:
            if not 0 <= frame < n:
                raise UsageError(f"frame {frame} is out of range: the input has {n} frame(s)")
            context = prep.hook.context if prep.hook is not None else 0
            start, stop = max(0, frame - context), min(n, frame + context + 1)
        index = start
        for chroma in self._chroma(src, start, stop, prep):
            if frame is None or index == frame:
                yield self._finish(chroma)
            index += 1

    def _batches(self, src, start: int, stop: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """``(display (B, H, W), hu (B, H, W) or None)``, ``batch_size`` frames at a time."""
        with_hu = self.predictor.needs_hu
        pairs = (src.frames_with_hu(start=start, stop=stop) if with_hu
                 else ((g, None) for g in src.frames(start=start, stop=stop)))
        gray, hu = [], []
        for g, h in pairs:
            gray.append(g)
            hu.append(h)
            if len(gray) == self.options.batch_size:
                yield np.stack(gray), (np.stack(hu) if with_hu else None)
                gray, hu = [], []
        if gray:
            yield np.stack(gray), (np.stack(hu) if with_hu else None)

    def _chroma(self, src, start: int, stop: int, prep: _Prepared) -> Iterator[ChromaFrame]:
        from .color import gray_to_lightness

        hook = prep.hook
        for gray, hu in self._batches(src, start, stop):
            L = gray_to_lightness(torch.from_numpy(np.clip(gray, 0.0, 1.0))[:, None].to(self.device).float())
            hu_t = torch.from_numpy(hu)[:, None].to(self.device) if hu is not None else None
            with torch.inference_mode():
                pred = self.predictor.predict(L, hu=hu_t, hints=prep.hints)
            L, ab = L.cpu(), pred.ab.float().cpu()
            conf = pred.confidence.float().cpu() if self.options.confidence else None
            for i in range(L.shape[0]):  # per frame keeps the full-resolution buffers small
                one = ChromaFrame(L[i:i + 1], ab[i:i + 1], None if conf is None else conf[i:i + 1])
                yield from (hook.push(one) if hook is not None else (one,))
        if hook is not None:
            yield from hook.flush()

    @staticmethod
    def _finish(chroma: ChromaFrame) -> ColorFrame:
        from .recombine import recombine

        rgb = recombine(chroma.L, chroma.ab)[0]
        if chroma.confidence is None:
            return ColorFrame(rgb)
        conf = chroma.confidence
        if tuple(conf.shape[-2:]) != tuple(chroma.L.shape[-2:]):
            conf = F.interpolate(conf, size=tuple(chroma.L.shape[-2:]), mode="bilinear", align_corners=False)
        return ColorFrame(rgb, conf[0, 0].clamp(0, 1).numpy().astype(np.float32))
