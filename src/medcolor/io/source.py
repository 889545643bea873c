"""The reader interface: an opened input unit that yields its frames one at a time.

:func:`medcolor.io.open_image` reads only the headers, checks the
:class:`~medcolor.limits.Limits` and returns an :class:`ImageSource`.  Its
:meth:`~ImageSource.frames` then decodes one frame at a time, so a 1500-slice
volume or a 1200-frame DICOM is never held whole::

    with open_image("ct.nii.gz", window="brain") as src:
        print(src.meta.shape, src.meta.hu_available)
        for gray in src.frames():            # (H, W) float32 display values in [0, 1]
            ...
        for hu in src.frames(values="hu"):   # (H, W) float32 Hounsfield units
            ...

Display values need one mapping for the whole unit (a window, the file's VOI,
or percentiles): when it needs statistics, up to :data:`STAT_FRAMES` evenly
spaced frames are sampled first, so every frame shares the same mapping.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..errors import InputError, UsageError
from .meta import ImageMeta
from .windowing import ROBUST_PERCENTILES, apply_window, range_as_window, scale_range

__all__ = ["ImageSource", "ArraySource", "VALUES", "STAT_FRAMES", "STAT_SAMPLES"]

#: What :meth:`ImageSource.frames` can yield.
VALUES = ("display", "hu")
#: Frames sampled (evenly spaced) to fix a percentile display range for a whole unit.
STAT_FRAMES = 32
#: Pixel values sampled in all for the percentiles.
STAT_SAMPLES = 2_000_000


class ImageSource:
    """An opened input unit.  Subclasses implement :meth:`_iter_raw` and :meth:`_display`.

    ``meta`` (:class:`~medcolor.io.meta.ImageMeta`) is complete as far as the
    headers go when the source is opened; ``meta.window`` and ``meta.scaling``
    are set once the display mapping is resolved (before the first display frame).
    """

    #: True when raw values may be NaN/inf (float data): the display step then checks a sample first.
    may_be_nan = False

    def __init__(self, meta: ImageMeta, *, window: tuple[float, float] | None = None) -> None:
        self.meta = meta
        self.window = window
        self._resolved = False
        self._range: tuple[float, float] | None = None

    # ----------------------------------------------------------------- public
    def __len__(self) -> int:
        return self.meta.frames

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release files held open (sources hold none between calls; kept for the context manager)."""

    def frames(self, values: str = "display", *, start: int = 0, stop: int | None = None
               ) -> Iterator[np.ndarray]:
        """Yield frames ``start..stop-1`` one at a time as ``(H, W)`` float32.

        ``values="display"``: display gray in [0, 1] (window / VOI / percentiles applied,
        MONOCHROME1 inverted).  ``values="hu"``: Hounsfield units (only when
        ``meta.hu_available``; otherwise :class:`~medcolor.errors.InputError`).
        """
        if values not in VALUES:
            raise UsageError(f"values must be one of {', '.join(VALUES)}, got {values!r}")
        n = self.meta.frames
        stop = n if stop is None else min(int(stop), n)
        indices = range(max(0, int(start)), stop)
        if values == "hu":
            self._require_hu()
            for k, raw in zip(indices, self._iter_raw(indices)):
                yield np.asarray(raw, dtype=np.float32)
            return
        self.resolve_display()
        for k, raw in zip(indices, self._iter_raw(indices)):
            yield self._display(raw, k)

    def frames_with_hu(self, *, start: int = 0, stop: int | None = None
                       ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(display, hu)`` ``(H, W)`` float32 pairs, decoding each frame once (needs ``hu_available``)."""
        self._require_hu()
        self.resolve_display()
        n = self.meta.frames
        indices = range(max(0, int(start)), n if stop is None else min(int(stop), n))
        for k, raw in zip(indices, self._iter_raw(indices)):
            yield self._display(raw, k), np.asarray(raw, dtype=np.float32)

    def _require_hu(self) -> None:
        if not self.meta.hu_available:
            raise InputError(self.meta.path, f"has no Hounsfield units ({self._what()}); "
                                             "HU need a DICOM CT or a NIfTI volume")

    def read(self, values: str = "display") -> np.ndarray:
        """All frames at once: ``(F, H, W)`` float32 (bounded by the limits the source was opened with)."""
        _, h, w = self.meta.shape
        out = np.empty(self.meta.shape, dtype=np.float32)
        for k, frame in enumerate(self.frames(values)):
            if frame.shape != (h, w):
                raise InputError(self.meta.source_paths[min(k, len(self.meta.source_paths) - 1)],
                                 f"frame {k} is {frame.shape[1]}x{frame.shape[0]}, expected {w}x{h}")
            out[k] = frame
        return out

    def resolve_display(self) -> None:
        """Fix the display mapping for the whole unit (idempotent); fills ``meta.window``/``scaling``."""
        if not self._resolved:
            self._resolve()
            self._resolved = True

    # ------------------------------------------------------- for subclasses
    def _iter_raw(self, indices: range) -> Iterator[np.ndarray]:
        """Raw values of the frames ``indices`` (HU / rescaled / stored values), ``(H, W)`` each."""
        raise NotImplementedError

    def _display(self, raw: np.ndarray, k: int) -> np.ndarray:
        """Raw frame ``k`` -> display float32 ``(H, W)`` in [0, 1]."""
        raise NotImplementedError

    def _resolve(self) -> None:
        """Default: the user's window, else percentiles over sampled frames."""
        if self.window is not None:
            self._set_window(self.window, "window")
            if self.may_be_nan:
                self._check_finite(self._sample())
        else:
            self._set_percentiles()

    def _what(self) -> str:
        m = self.meta
        if m.format == "dicom":
            return f"DICOM modality {m.modality or 'unknown'}"
        return f"{(m.codec or m.format).upper()} image"

    def _set_window(self, window, how: str) -> None:
        self.meta.window = (float(window[0]), float(window[1]))
        self.meta.scaling = how

    def _sample(self) -> np.ndarray:
        """Raw values of up to :data:`STAT_FRAMES` evenly spaced frames, strided to :data:`STAT_SAMPLES`."""
        n = self.meta.frames
        picks = sorted(set(np.linspace(0, n - 1, min(n, STAT_FRAMES)).round().astype(int).tolist()))
        h, w = self.meta.shape[1:]
        total = len(picks) * h * w
        step = total // STAT_SAMPLES + 1 if total > STAT_SAMPLES else 1  # a regular stride, as robust_range
        parts = [np.asarray(raw).reshape(-1)[::step] for raw in self._iter_picks(picks)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def _iter_picks(self, picks: list[int]) -> Iterator[np.ndarray]:
        """Raw frames at sorted ``picks``; the default decodes the span and keeps the picks."""
        wanted = set(picks)
        for k, raw in zip(range(picks[0], picks[-1] + 1), self._iter_raw(range(picks[0], picks[-1] + 1))):
            if k in wanted:
                yield raw

    def _check_finite(self, values: np.ndarray) -> np.ndarray:
        """The finite ``values``; :class:`InputError` when there are none (all NaN/inf)."""
        if values.dtype.kind != "f":
            return values
        finite = values[np.isfinite(values)]
        if values.size and not finite.size:
            raise InputError(self.meta.path, "every pixel value is NaN or infinite: nothing to show")
        return finite

    def _set_percentiles(self) -> None:
        values = self._check_finite(self._sample())
        if not values.size:
            self._range, self.meta.scaling = (0.0, 1.0), "percentile"
            return
        lo, hi = (float(v) for v in np.percentile(values, ROBUST_PERCENTILES))
        if hi <= lo:
            lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            self.meta.warn(f"constant image: every pixel is {lo:g}, so the output is one flat colour")
        self._range = (lo, hi)
        self.meta.window, self.meta.scaling = range_as_window(lo, hi), "percentile"

    def _percentile_display(self, raw: np.ndarray) -> np.ndarray:
        return scale_range(raw, *self._range)

    def _window_display(self, raw: np.ndarray, center: float, width: float, function: str = "LINEAR"
                        ) -> np.ndarray:
        return np.nan_to_num(apply_window(raw, center, width, function), nan=0.0, copy=False)


class ArraySource(ImageSource):
    """A source decoded whole on first use (2-D images and TIFF stacks; small by the limits).

    ``decode()`` returns ``(F, H, W)`` float32 display values and may update the
    meta (bits, window, scaling, warnings) when it runs.
    """

    def __init__(self, meta: ImageMeta, decode: Callable[[], np.ndarray]) -> None:
        super().__init__(meta)
        self._decode = decode
        self._array: np.ndarray | None = None

    def _load(self) -> np.ndarray:
        if self._array is None:
            self._array = self._decode()
            self.meta.set_shape(self._array.shape)
        return self._array

    def resolve_display(self) -> None:
        self._load()
        self._resolved = True

    def _iter_raw(self, indices: range) -> Iterator[np.ndarray]:
        array = self._load()
        for k in indices:
            yield array[k]

    def _display(self, raw: np.ndarray, k: int) -> np.ndarray:
        return raw

    def read(self, values: str = "display") -> np.ndarray:
        if values == "display":
            return self._load()
        return super().read(values)
