"""Settings of the web app: which model, and the caps that keep one server safe.

One :class:`WebConfig` is built by ``medcolor serve`` from its options (or by a
test) and handed to :func:`medcolor.web.app.create_app`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..limits import DEFAULT_LIMITS, Limits
from ..options import LIMIT_OPTIONS, limit_wording, parse_working_size

__all__ = ["WebConfig"]


@dataclass
class WebConfig:
    """Everything ``create_app`` needs.

    Attributes:
        model: default model, a shipped name (``default``, ``photo`` ...) or a
            ``.safetensors`` path given by the operator (clients may only pick
            names listed by ``GET /api/models``, never a path).
        device: ``auto|cpu|cuda|mps``.
        working_size: default working size (short side, px) when a request gives none;
            ``"auto"``: each model's own (:func:`medcolor.options.parse_working_size`).
        batch_size: frames per forward pass for a DICOM answer.
        max_upload_bytes: largest accepted uploaded file; larger gives HTTP 413.
        max_pixels: largest accepted frame (H*W); larger gives HTTP 413.
        max_total_pixels: most pixels in one upload (frames x H x W); larger gives HTTP 413.
            Lower than the command line's default: a DICOM answer is built in memory.
        max_frames: most frames in one upload; more gives HTTP 413.
        max_buffer_bytes: most decoded bytes held at once for a file that cannot be read
            frame by frame (see :class:`medcolor.limits.Limits`); more gives HTTP 413.
        queue_size: requests allowed to wait while one runs; beyond that HTTP 503.
        workers: inference threads (1 keeps memory flat and the CPU uncontended).
    """

    model: str = "default"
    device: str = "auto"
    working_size: int | str | None = "auto"  # "auto": each model's own (its card; 256 for photos)
    batch_size: int = 8
    max_upload_bytes: int = 64 * 1024 * 1024
    max_pixels: int = DEFAULT_LIMITS.max_frame_pixels
    max_total_pixels: int = 256 * 1024 * 1024
    max_frames: int = 2000
    max_buffer_bytes: int = DEFAULT_LIMITS.max_buffer_bytes
    queue_size: int = 4
    workers: int = 1

    @property
    def max_body_bytes(self) -> int:
        """Cap on a whole multipart body: the file, a hint PNG up to the same size, form fields."""
        return 2 * self.max_upload_bytes + 1024 * 1024

    @property
    def limits(self) -> Limits:
        """The shared input limits these settings describe; messages name the ``medcolor serve`` option."""
        return Limits(max_frame_pixels=self.max_pixels, max_total_pixels=self.max_total_pixels,
                      max_frames=self.max_frames, max_buffer_bytes=self.max_buffer_bytes,
                      options=limit_wording("the server option"))

    def validate(self) -> WebConfig:
        """Raise :class:`UsageError` (one line) on a nonsensical setting; returns ``self``."""
        if self.max_upload_bytes <= 0:
            raise UsageError(f"--max-upload-mb must be positive, got {self.max_upload_bytes / 2**20:g}")
        for o in LIMIT_OPTIONS:
            value = getattr(self, o.name)
            if not isinstance(value, int) or value <= 0:
                raise UsageError(f"{o.flag} must be a positive integer, got {value}")
        if self.queue_size < 0:
            raise UsageError(f"--queue-size must be >= 0, got {self.queue_size}")
        if self.workers < 1:
            raise UsageError(f"workers must be >= 1, got {self.workers}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {self.batch_size}")
        parse_working_size(self.working_size)
        return self
