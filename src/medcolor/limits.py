"""Size limits on inputs, shared by the Python API, the CLI and the web app.

Every reader checks its file against one :class:`Limits` from the *header*,
before any pixel is decoded, and counts the whole file (frames x pixels), not
only one frame.  Volumes, multi-frame files and DICOM series are read and
colorized frame by frame, so a long series is not refused for its length: the
limits bound what must be held at once (one frame, or a file that can only be
decoded whole) and the total work.

The defaults keep a colorization within about 2.5 GB of peak memory, model
included:

* ``max_frame_pixels`` = 4096 x 4096: one frame's full-resolution buffers
  (gray, L*, upsampled a*b*, RGB) take roughly 100 bytes per pixel;
* ``max_total_pixels`` = 1e9 (e.g. 512 x 512 x 3800 slices): bounds the work
  and the output size of one input;
* ``max_frames`` = 10000 frames;
* ``max_buffer_bytes`` = 768 MiB: the largest decoded size of a file that cannot
  be read frame by frame (a TIFF stack, a NIfTI sliced along axis 0 or 1, a
  deflated DICOM's inflated data, which goes to a temporary file).

Each error is a :class:`LimitError` (an :class:`~medcolor.errors.InputError`)
that names the file, the limit and how to raise it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, UsageError
from .options import limit_wording

__all__ = ["Limits", "LimitError", "DEFAULT_LIMITS"]


class LimitError(InputError):
    """An input over one of the :class:`Limits`; ``limit`` is the field's name (the web answers 413)."""

    def __init__(self, path, problem: str, *, limit: str) -> None:
        self.limit = limit
        super().__init__(path, problem)


@dataclass(frozen=True)
class Limits:
    """Input size limits; ``None`` disables one.  See the module docstring for the defaults' reasons.

    Attributes:
        max_frame_pixels: most pixels (H * W) in one frame.
        max_total_pixels: most pixels in one input unit (frames x H x W).
        max_frames: most frames in one input unit.
        max_buffer_bytes: most decoded bytes held at once for inputs that cannot stream frame by frame.
        options: limit name -> how a user raises it (named in error messages; the command line and
            by default the option names of :data:`medcolor.options.LIMIT_OPTIONS`).
    """

    max_frame_pixels: int | None = 4096 * 4096
    max_total_pixels: int | None = 1_000_000_000
    max_frames: int | None = 10_000
    max_buffer_bytes: int | None = 768 * 1024 * 1024
    options: dict = field(default_factory=lambda: limit_wording(""), compare=False, hash=False)

    def __post_init__(self) -> None:
        for f in ("max_frame_pixels", "max_total_pixels", "max_frames", "max_buffer_bytes"):
            value = getattr(self, f)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                raise UsageError(f"{f} must be a positive integer or None, got {value!r}")

    def replace(self, **changes) -> Limits:
        """A copy with some limits changed (``None`` values in ``changes`` are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def _raise(self, path, what: str, name: str) -> None:
        how = self.options.get(name)
        hint = f"; raise it with {how}" if how else ""
        raise LimitError(path, f"{what}, over the limit {name}={getattr(self, name)}{hint}", limit=name)

    def check(self, path: str | Path | None, *, frames: int, height: int, width: int,
              bytes_per_pixel: float | None = None) -> None:
        """Check an input of ``frames`` frames of ``height`` x ``width`` from its header.

        ``bytes_per_pixel`` is given for inputs that must be decoded whole: their
        decoded size (frames x H x W x bytes) is then held to ``max_buffer_bytes``.
        Raises :class:`LimitError` (or :class:`InputError` for an image without pixels).
        """
        frames, height, width = int(frames), int(height), int(width)
        if height <= 0 or width <= 0 or frames <= 0:
            raise InputError(path, f"image has no pixels ({width}x{height}, {frames} frame(s))")
        per_frame = height * width
        if self.max_frame_pixels is not None and per_frame > self.max_frame_pixels:
            self._raise(path, f"a frame is {width}x{height} = {per_frame} pixels", "max_frame_pixels")
        if self.max_frames is not None and frames > self.max_frames:
            self._raise(path, f"{frames} frames", "max_frames")
        total = frames * per_frame
        if self.max_total_pixels is not None and total > self.max_total_pixels:
            self._raise(path, f"{frames} frames of {width}x{height} = {total} pixels in all", "max_total_pixels")
        if bytes_per_pixel is not None and self.max_buffer_bytes is not None:
            size = int(total * bytes_per_pixel)
            if size > self.max_buffer_bytes:
                self._raise(path, f"decoding it whole takes {size} bytes ({frames} frames of {width}x{height}; "
                                  "this file cannot be read frame by frame)", "max_buffer_bytes")

    def check_bytes(self, path: str | Path | None, size: int, what: str) -> None:
        """Hold a buffer of ``size`` bytes (e.g. inflated data) to ``max_buffer_bytes``."""
        if self.max_buffer_bytes is not None and size > self.max_buffer_bytes:
            self._raise(path, f"{what} is over {size} bytes", "max_buffer_bytes")


#: The limits used when none are given.
DEFAULT_LIMITS = Limits()
