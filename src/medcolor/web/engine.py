"""What one web request does with an upload: check, decode, colorize, encode.

Everything here is blocking and runs on a worker thread of
:class:`medcolor.web.worker.InferenceQueue`, never in the event loop.

Uploaded bytes are written to a :class:`tempfile.TemporaryDirectory` only
because the readers take paths; the directory and everything in it is deleted
before the response is returned, so nothing an upload contained stays on disk.

Frames: for a PNG answer only one frame is colorized, the *preview frame*: the
first frame of a multi-frame DICOM, the middle slice of a NIfTI volume.  A DICOM
answer (``format=dcm``) carries every frame, colorized.
"""
from __future__ import annotations

import io as _bytesio
import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from torch import nn

from ..errors import InputError, MedcolorError, UnknownModelError
from .config import WebConfig

__all__ = ["Engine", "ColorizeJob", "JobResult", "UnsupportedMediaError", "PayloadTooLargeError",
           "BadRequestError", "hints_available"]

log = logging.getLogger("medcolor.web")


class UnsupportedMediaError(MedcolorError):
    """The upload's content is not an image format medcolor reads (HTTP 415)."""


class PayloadTooLargeError(MedcolorError):
    """The upload exceeds the byte or pixel cap (HTTP 413)."""


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


@dataclass
class JobResult:
    body: bytes
    media_type: str
    headers: dict


def hints_available() -> bool:
    """True when :mod:`medcolor.classic.hints` is installed (hint painting works)."""
    import importlib.util

    try:
        return importlib.util.find_spec("medcolor.classic.hints") is not None
    except ImportError:
        return False


def _preview_index(n_frames: int, input_format: str) -> int:
    # a volume's first slice is usually empty air; its middle slice shows anatomy
    return n_frames // 2 if input_format == "nifti" else 0


def _encode_png(rgb: np.ndarray, text: dict | None = None) -> bytes:
    """(H, W) or (H, W, 3) uint8 -> PNG bytes."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    buf = _bytesio.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", pnginfo=info, compress_level=1)
    return buf.getvalue()


def _decode_hints(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """Hint PNG bytes -> (H, W, 4) uint8 RGBA; painted pixels have alpha > 0."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(_bytesio.BytesIO(data)) as im:
            if im.format != "PNG":
                raise UnsupportedMediaError(f"hints: expected a PNG, got {im.format}")
            if im.size != (shape[1], shape[0]):
                raise BadRequestError(f"hints: PNG is {im.size[0]}x{im.size[1]} but the image is "
                                      f"{shape[1]}x{shape[0]}; paint hints at the image's size")
            return np.asarray(im.convert("RGBA"))
    except UnidentifiedImageError:
        raise UnsupportedMediaError("hints: not a PNG image") from None


def _frame_pixels(path: Path, fmt: str) -> int | None:
    """Pixels per frame from the file header alone, before any decoding (None if unknown).

    Checking the cap here means a small file that would decompress to a huge
    image (a "decompression bomb") is refused without allocating it.
    """
    try:
        if fmt == "dicom":
            import pydicom

            ds = pydicom.dcmread(path, stop_before_pixels=True)
            return int(ds.Rows) * int(ds.Columns)
        if fmt == "nifti":
            import nibabel

            dims = sorted(int(d) for d in nibabel.load(path).shape[:3])
            return dims[-1] * dims[-2] if len(dims) >= 2 else None  # the largest possible slice
        from PIL import Image

        with Image.open(path) as im:  # lazy: reads the header only
            return im.size[0] * im.size[1]
    except Exception:  # unreadable header: the reader reports the problem properly
        return None


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
        names += list_pretrained() + list(self._injected)
        return list(dict.fromkeys(names))  # de-duplicated, order kept

    def default_model(self) -> str:
        return self._operator_label()

    def get_model(self, name: str | None) -> tuple[str, nn.Module]:
        """The loaded module for a client-given name (never a path); cached after first use."""
        name = name or self.default_model()
        if name not in self.model_names():
            raise UnknownModelError(f"unknown model {name!r}; choose one of {', '.join(self.model_names())}")
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
    def _read_upload(self, job: ColorizeJob, tmp: Path) -> tuple[np.ndarray, dict, str]:
        """Write the bytes under ``tmp``, check type by content, decode -> ((F, H, W) float [0, 1], meta, format)."""
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
        # the readers take paths; the name carries the detected type, never the client's name
        path = tmp / f"upload.{ 'nii.gz' if fmt == 'nifti' else fmt}"
        path.write_bytes(job.data)
        self._check_pixels(job.filename, _frame_pixels(path, fmt))
        try:
            frames, meta = mio.read(path, window=job.window, max_pixels=self.config.max_pixels)
        except InputError as exc:
            # messages name our temp file; the client knows its file by its own name
            raise type(exc)(job.filename, exc.problem) from None
        self._check_pixels(job.filename, int(frames.shape[-1] * frames.shape[-2]))
        return frames, meta, fmt

    def _check_pixels(self, filename: str, pixels: int | None) -> None:
        if pixels is not None and pixels > self.config.max_pixels:
            raise PayloadTooLargeError(f"{filename}: {pixels} pixels per frame; "
                                       f"the limit is {self.config.max_pixels}")

    # ---------------------------------------------------------------- jobs
    def preview(self, job: ColorizeJob) -> JobResult:
        """The gray preview frame as PNG (after windowing), as the network will see it."""
        with tempfile.TemporaryDirectory(prefix="medcolor-web-") as tmp:
            frames, _meta, fmt = self._read_upload(job, Path(tmp))
        idx = _preview_index(frames.shape[0], fmt)
        gray = np.round(frames[idx] * 255).astype(np.uint8)  # (H, W) display gray
        return JobResult(_encode_png(gray), "image/png", self._headers(fmt, frames.shape, idx))

    def colorize(self, job: ColorizeJob) -> JobResult:
        """Colorize the upload; PNG of the preview frame, or a DICOM with every frame."""
        from .. import io as mio
        from ..pipeline import colorize_gray

        if job.fmt not in ("png", "dcm"):
            raise BadRequestError(f"format must be png or dcm, got {job.fmt!r}")
        name, net = self.get_model(job.model)
        size = job.size or self.config.size or "auto"  # "auto": the model's trained working size
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="medcolor-web-") as tmp:
            frames, meta, fmt = self._read_upload(job, Path(tmp))
            idx = _preview_index(frames.shape[0], fmt)
            hints = None
            if job.hints:
                if not hints_available():
                    raise BadRequestError("hints: this medcolor has no hint support (medcolor.classic.hints)")
                hints = _decode_hints(job.hints, frames.shape[-2:])
            headers = self._headers(fmt, frames.shape, idx, model=name)
            if job.fmt == "dcm":
                if fmt != "dicom":
                    raise BadRequestError(f"format=dcm needs a DICOM upload; {job.filename} is {fmt}")
                if hints is not None and frames.shape[0] == 1:
                    rgb = colorize_gray(frames[0], model=net, size=size, device=self.device, hints=hints)[None]
                else:  # hints are painted on one frame; a stack is colorized without them
                    rgb = colorize_gray(frames, model=net, size=size, device=self.device)
                out = Path(tmp) / "result.dcm"
                mio.write(out, rgb, meta, fmt="dcm", model_name=name)  # (F, H, W, 3) uint8
                body, media = out.read_bytes(), "application/dicom"
            else:
                rgb = colorize_gray(frames[idx], model=net, size=size, device=self.device, hints=hints)
                body, media = _encode_png(rgb, {"Software": "medcolor", "medcolor-model": name}), "image/png"
        headers["X-Medcolor-Seconds"] = f"{time.perf_counter() - t0:.3f}"
        log.info("colorized %s (%s, %s frames) with %s in %s s", job.filename, fmt, frames.shape[0], name,
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
