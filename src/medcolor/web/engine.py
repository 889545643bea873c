"""What one web request does with an upload: check, decode, colorize, encode.

Everything here is blocking and runs on a worker thread of
:class:`medcolor.web.worker.InferenceQueue`, never in the event loop.

Uploaded bytes are written to a :class:`tempfile.TemporaryDirectory` only
because the readers take paths; the directory and everything in it is deleted
before the response is returned, so nothing an upload contained stays on disk.
Messages name the client's file, never a path on the server.

Limits are the shared :class:`~medcolor.limits.Limits` (see
:attr:`WebConfig.limits`), checked by the readers from the headers before any
pixel is decoded: an image over them is answered 413, including decompression
bombs whose pixels would never fit.

Frames: for a PNG answer only one frame is decoded and colorized, the *preview
frame*: the first frame of a multi-frame DICOM, the middle slice of a NIfTI
volume.  A DICOM answer (``format=dcm``) carries every frame, colorized one at a
time into the output file.
"""
from __future__ import annotations

import io as _bytesio
import logging
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from torch import nn

from ..ct_tissue import NAME as CT_TISSUE
from ..errors import InputError, MedcolorError, UnknownModelError
from ..limits import LimitError
from .config import WebConfig

__all__ = ["Engine", "ColorizeJob", "JobResult", "UnsupportedMediaError", "PayloadTooLargeError",
           "BadRequestError"]

log = logging.getLogger("medcolor.web")


class UnsupportedMediaError(MedcolorError):
    """The upload's content is not an image format medcolor reads (HTTP 415)."""


class PayloadTooLargeError(MedcolorError):
    """The upload exceeds the byte cap or an image limit (HTTP 413)."""


class BadRequestError(MedcolorError):
    """A parameter that does not fit this upload, e.g. ``format=dcm`` for a PNG (HTTP 400)."""


@dataclass
class ColorizeJob:
    """One request.  ``data`` and ``hints`` are the raw uploaded bytes."""

    data: bytes
    filename: str = "upload"
    model: str | None = None  # a name from Engine.model_names(); None = the server default
    window: str | None = None  # preset name or "center,width"; DICOM/NIfTI only
    size: int | None = None  # working size (short side); None = WebConfig.size
    fmt: str = "png"  # "png" | "dcm"
    hints: bytes | None = None  # PNG (RGBA) the size of the preview frame; painted pixels are hints
    hint_method: str = "auto"  # "auto" | "learned" | "levin" (medcolor.hints.resolve_hint_method)


@dataclass
class JobResult:
    body: bytes
    media_type: str
    headers: dict


def _preview_index(n_frames: int, input_format: str) -> int:
    # a volume's first slice is usually empty air; its middle slice shows anatomy
    return n_frames // 2 if input_format == "nifti" else 0


def _upload_name(data: bytes, fmt: str) -> str:
    """The temporary file's name: the detected type, never the client's name (``.nii`` or ``.nii.gz`` by content)."""
    if fmt == "nifti":
        return "upload.nii.gz" if data[:2] == b"\x1f\x8b" else "upload.nii"
    return f"upload.{fmt}"


def _decode_hints(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """Hint PNG bytes -> (H, W, 4) uint8 RGBA; painted pixels have alpha > 0.

    The size is checked from the header before decoding, so a huge or
    bomb-like hints image costs nothing; a truncated one is a 422, not a 500.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_bytesio.BytesIO(data)) as im:
                if im.format != "PNG":
                    raise UnsupportedMediaError(f"hints: expected a PNG, got {im.format}")
                if im.size != (shape[1], shape[0]):
                    raise BadRequestError(f"hints: PNG is {im.size[0]}x{im.size[1]} but the image is "
                                          f"{shape[1]}x{shape[0]}; paint hints at the image's size")
                return np.asarray(im.convert("RGBA"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLargeError("hints: the PNG is too large to decode safely") from None
    except UnidentifiedImageError:
        raise UnsupportedMediaError("hints: not a PNG image") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for truncated or corrupt data
        raise InputError("hints", f"corrupt or truncated PNG ({exc})") from None


class Engine:
    """Holds the models and turns :class:`ColorizeJob` into :class:`JobResult` (blocking).

    Args:
        config: the server's settings.
        models: optional already-built modules by name, offered besides the
            shipped models (tests inject deterministic models this way).
    """

    def __init__(self, config: WebConfig, models: Mapping[str, nn.Module] | None = None) -> None:
        from ..device import resolve_device

        self.config = config
        self.device = resolve_device(config.device)
        self._injected = dict(models or {})
        self._loaded: dict[str, nn.Module] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- models
    def _operator_label(self) -> str:
        """Name shown for the ``--model`` the operator chose (its file stem for a path)."""
        from ..weights import ALIASES, list_pretrained

        spec = self.config.model
        if spec in self._injected or spec in ALIASES or spec in list_pretrained():
            return spec
        return Path(spec).name.removesuffix(".safetensors").removesuffix(".json")

    def model_names(self) -> list[str]:
        """Every model a client may ask for: the server default first, then shipped and injected ones."""
        from ..weights import ALIASES, PRETRAINED_DIR, list_pretrained

        names = [self._operator_label()]
        names += [a for a, target in ALIASES.items() if (PRETRAINED_DIR / f"{target}.safetensors").is_file()]
        names += list_pretrained() + [CT_TISSUE] + list(self._injected)  # ct-tissue: colour from HU, no network
        return list(dict.fromkeys(names))  # de-duplicated, order kept

    def default_model(self) -> str:
        return self._operator_label()

    def get_model(self, name: str | None) -> tuple[str, nn.Module | None]:
        """The loaded module for a client-given name (never a path); cached after first use.

        ``ct-tissue`` (:mod:`medcolor.ct_tissue`) has no module: ``(name, None)``.
        """
        name = name or self.default_model()
        if name not in self.model_names():
            raise UnknownModelError(f"unknown model {name!r}; choose one of {', '.join(self.model_names())}")
        if name == CT_TISSUE and name not in self._injected:
            return name, None
        with self._lock:  # one load at a time; later calls hit the cache
            if name not in self._loaded:
                if name in self._injected:
                    self._loaded[name] = self._injected[name].to(self.device).eval()
                else:
                    from ..weights import load_model

                    spec = self.config.model if name == self._operator_label() else name
                    self._loaded[name] = load_model(spec, device=self.device)
            return name, self._loaded[name]

    def load_default(self) -> str:
        """Load the default model now (the CLI does this so a bad ``--model`` fails at start)."""
        return self.get_model(None)[0]

    # ---------------------------------------------------------------- decoding
    @staticmethod
    def _public(message: str, path: str | Path, filename: str) -> str:
        """A reader's message with the server's temporary path replaced by the client's file name."""
        path = Path(path)
        return message.replace(str(path), filename).replace(str(path.parent), "(upload)")

    def _open_upload(self, job: ColorizeJob, tmp: Path):
        """Write the bytes under ``tmp``, check the type by content, open (headers only) -> ``(source, format)``.

        Raises 413 (:class:`PayloadTooLargeError`) for an upload or image over the
        limits, 415 for a type medcolor does not read, 422 for a bad file.
        """
        from .. import io as mio

        if len(job.data) > self.config.max_upload_bytes:
            raise PayloadTooLargeError(f"{job.filename}: upload is {len(job.data)} bytes; "
                                       f"the limit is {self.config.max_upload_bytes}")
        if not job.data:
            raise InputError(job.filename, "the uploaded file is empty")
        fmt = mio.detect_format(job.data)
        if fmt is None:
            raise UnsupportedMediaError(f"{job.filename}: not an image medcolor reads "
                                        "(PNG, JPEG, TIFF, BMP, DICOM or NIfTI, checked by content)")
        path = tmp / _upload_name(job.data, fmt)
        path.write_bytes(job.data)
        try:
            return mio.open_image(path, window=job.window, limits=self.config.limits), fmt
        except LimitError as exc:
            raise PayloadTooLargeError(self._public(str(exc), path, job.filename)) from None
        except InputError as exc:
            raise InputError(None, self._public(str(exc), path, job.filename)) from None

    def _frames(self, job: ColorizeJob, src, path_hint: Path, start: int, stop: int, *, with_hu: bool = False):
        """Display frames ``start:stop`` of an opened upload (``(display, hu)`` pairs ``with_hu``), with
        reader errors made public (one line, 4xx)."""
        try:
            yield from (src.frames_with_hu(start=start, stop=stop) if with_hu else src.frames(start=start, stop=stop))
        except LimitError as exc:
            raise PayloadTooLargeError(self._public(str(exc), path_hint, job.filename)) from None
        except InputError as exc:
            raise InputError(None, self._public(str(exc), path_hint, job.filename)) from None

    # ---------------------------------------------------------------- jobs
    def preview(self, job: ColorizeJob) -> JobResult:
        """The gray preview frame as PNG (after windowing), as the network will see it."""
        from ..io.images import encode_png

        with tempfile.TemporaryDirectory(prefix="medcolor-web-") as tmp:
            src, fmt = self._open_upload(job, Path(tmp))
            with src:
                idx = _preview_index(len(src), fmt)
                frame = next(self._frames(job, src, src.meta.path, idx, idx + 1))  # (H, W) in [0, 1]
                shape = src.meta.shape
        gray = np.round(frame * 255).astype(np.uint8)  # (H, W) display gray
        return JobResult(encode_png(gray), "image/png", self._headers(fmt, shape, idx))

    def colorize(self, job: ColorizeJob) -> JobResult:
        """Colorize the upload; PNG of the preview frame, or a DICOM with every frame."""
        from .. import io as mio
        from ..io.images import encode_png
        from ..pipeline import colorize_gray

        if job.fmt not in ("png", "dcm"):
            raise BadRequestError(f"format must be png or dcm, got {job.fmt!r}")
        name, net = self.get_model(job.model)
        size = job.size or self.config.size or "auto"  # "auto": the model's trained working size
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="medcolor-web-") as tmp:
            src, fmt = self._open_upload(job, Path(tmp))
            with src:
                shape = src.meta.shape  # (F, H, W)
                idx = _preview_index(shape[0], fmt)
                hints = _decode_hints(job.hints, shape[-2:]) if job.hints else None
                headers = self._headers(fmt, shape, idx, model=name)
                if net is None:  # ct-tissue: chroma from each pixel's HU, lightness from the window
                    from ..ct_tissue import colorize_hu, require_hu

                    if hints is not None:
                        raise BadRequestError("hints do not apply to ct-tissue (its colour comes from HU)")
                    try:
                        require_hu(src.meta)
                    except InputError as exc:
                        raise InputError(None, self._public(str(exc), src.meta.path, job.filename)) from None

                def paint(frame):  # (H, W) display, or (display, hu) for ct-tissue -> (H, W, 3) uint8
                    if net is None:
                        return colorize_hu(*frame)
                    return colorize_gray(frame, model=net, size=size, device=self.device, hints=hints,
                                         hint_method=job.hint_method)

                if hints is not None:
                    from ..hints import resolve_hint_method

                    headers["X-Medcolor-Hint-Method"] = resolve_hint_method(net, job.hint_method)
                if job.fmt == "dcm":
                    if fmt != "dicom":
                        raise BadRequestError(f"format=dcm needs a DICOM upload; {job.filename} is {fmt}")
                    if shape[0] != 1:  # hints are painted on one frame; a stack is colorized without them
                        hints = None
                    out = Path(tmp) / "result.dcm"
                    with mio.open_writer([out], src.meta, fmt="dcm", model_name=name) as writer:
                        for frame in self._frames(job, src, src.meta.path, 0, shape[0], with_hu=net is None):
                            writer.add(paint(frame))  # (H, W, 3)
                    body, media = out.read_bytes(), "application/dicom"
                else:
                    rgb = paint(next(self._frames(job, src, src.meta.path, idx, idx + 1, with_hu=net is None)))
                    body = encode_png(rgb, {"Software": "medcolor", "medcolor-model": name})
                    media = "image/png"
        headers["X-Medcolor-Seconds"] = f"{time.perf_counter() - t0:.3f}"
        log.info("colorized %s (%s, %s frames) with %s in %s s", job.filename, fmt, shape[0], name,
                 headers["X-Medcolor-Seconds"])
        return JobResult(body, media, headers)

    @staticmethod
    def _headers(fmt: str, shape: tuple, idx: int, model: str | None = None) -> dict:
        headers = {"X-Medcolor-Format": fmt, "X-Medcolor-Frames": str(shape[0]),
                   "X-Medcolor-Frame": str(idx), "X-Medcolor-Width": str(shape[-1]),
                   "X-Medcolor-Height": str(shape[-2])}
        if model:
            headers["X-Medcolor-Model"] = model
        return headers
