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

Colorization runs through the same :class:`medcolor.engine.Engine` as the
Python API and the command line, so hints, slice smoothing, ct-tissue and
confidence behave the same.  For a PNG answer only the *preview frame* is
produced (the first frame of a multi-frame DICOM, the middle slice of a NIfTI
volume), from the frames its smoothing window reads; a DICOM answer
(``format=dcm``) carries every frame, colorized in batches into the output file.
A confidence answer is the preview frame's confidence map as a gray PNG.
"""
from __future__ import annotations

import io as _bytesio
import logging
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from torch import nn

from ..ct_tissue import NAME as CT_TISSUE
from ..errors import InputError, MedcolorError, UnknownModelError, UsageError
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
    working_size: int | None = None  # short side the network sees; None = WebConfig.working_size
    fmt: str = "png"  # "png" | "dcm"
    hints: bytes | None = None  # PNG (RGBA) the size of the preview frame; painted pixels are hints
    hint_method: str = "auto"  # one of medcolor.options.HINT_METHODS (medcolor.hints.resolve_hint_method)
    confidence: bool = False  # answer the preview frame's confidence map (gray PNG) instead of the colours


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

    def engine(self, job: ColorizeJob):
        """The :class:`~medcolor.engine.Engine` for a job: its model (or ct-tissue), working size, hint method."""
        from ..engine import Engine, EngineOptions
        from ..predictor import make_predictor

        name, net = self.get_model(job.model)
        predictor = make_predictor(CT_TISSUE if net is None else net, device=self.device, name=name,
                                   working_size=job.working_size or self.config.working_size,
                                   hint_method=job.hint_method)
        return Engine(predictor, EngineOptions(batch_size=self.config.batch_size, confidence=job.confidence),
                      self.device)

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
        with self._public_errors(job, path):
            return mio.open_image(path, window=job.window, limits=self.config.limits), fmt

    # ---------------------------------------------------------------- jobs
    def preview(self, job: ColorizeJob) -> JobResult:
        """The gray preview frame as PNG (after windowing), as the network will see it."""
        from ..io.images import encode_png

        with tempfile.TemporaryDirectory(prefix="medcolor-web-") as tmp:
            src, fmt = self._open_upload(job, Path(tmp))
            with src:
                idx = _preview_index(len(src), fmt)
                with self._public_errors(job, src.meta.path):
                    frame = next(src.frames(start=idx, stop=idx + 1))  # (H, W) in [0, 1]
                shape = src.meta.shape
        gray = np.round(frame * 255).astype(np.uint8)  # (H, W) display gray
        return JobResult(encode_png(gray), "image/png", self._headers(fmt, shape, idx))

    def colorize(self, job: ColorizeJob) -> JobResult:
        """Colorize the upload: PNG of the preview frame, a DICOM with every frame, or (``job.confidence``)
        the preview frame's confidence map as a gray PNG."""
        from .. import io as mio
        from ..io.images import encode_png

        if job.fmt not in ("png", "dcm"):
            raise BadRequestError(f"format must be png or dcm, got {job.fmt!r}")
        if job.confidence and job.fmt != "png":
            raise BadRequestError("a confidence map is answered as PNG; use format=png")
        engine = self.engine(job)
        name = engine.predictor.name
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="medcolor-web-") as tmp:
            src, fmt = self._open_upload(job, Path(tmp))
            with src:
                shape = src.meta.shape  # (F, H, W)
                idx = _preview_index(shape[0], fmt)
                headers = self._headers(fmt, shape, idx, model=name)
                if job.fmt == "dcm" and fmt != "dicom":
                    raise BadRequestError(f"format=dcm needs a DICOM upload; {job.filename} is {fmt}")
                hints = _decode_hints(job.hints, shape[-2:]) if job.hints else None
                with self._public_errors(job, src.meta.path):
                    prepared = engine.prepare(src.meta, hints)  # the engine's rules, one line each
                    if hints is not None:
                        headers["X-Medcolor-Hint-Method"] = engine.predictor.check_hints()
                    if job.fmt == "dcm":
                        out = Path(tmp) / "result.dcm"
                        with mio.open_writer([out], src.meta, fmt="dcm", model_name=name) as writer:
                            for frame in engine.run(src, prepared=prepared):
                                writer.add(frame.rgb)
                        body, media = out.read_bytes(), "application/dicom"
                    else:
                        frame = next(engine.run(src, prepared=prepared, frame=idx))
                        if job.confidence:
                            gray = np.round(frame.confidence * 255).astype(np.uint8)  # (H, W), 255 = sure
                            body = encode_png(gray, {"Software": "medcolor", "medcolor-model": name,
                                                     "medcolor-content": "confidence"})
                        else:
                            body = encode_png(frame.rgb, {"Software": "medcolor", "medcolor-model": name})
                        media = "image/png"
        headers["X-Medcolor-Seconds"] = f"{time.perf_counter() - t0:.3f}"
        log.info("colorized %s (%s, %s frames) with %s in %s s", job.filename, fmt, shape[0], name,
                 headers["X-Medcolor-Seconds"])
        return JobResult(body, media, headers)

    @contextmanager
    def _public_errors(self, job: ColorizeJob, path):
        """Reader and rule errors with the server's temporary path replaced by the client's file name."""
        try:
            yield
        except LimitError as exc:
            raise PayloadTooLargeError(self._public(str(exc), path, job.filename)) from None
        except UsageError as exc:
            raise BadRequestError(self._public(str(exc), path, job.filename)) from None
        except InputError as exc:
            raise InputError(None, self._public(str(exc), path, job.filename)) from None

    @staticmethod
    def _headers(fmt: str, shape: tuple, idx: int, model: str | None = None) -> dict:
        headers = {"X-Medcolor-Format": fmt, "X-Medcolor-Frames": str(shape[0]),
                   "X-Medcolor-Frame": str(idx), "X-Medcolor-Width": str(shape[-1]),
                   "X-Medcolor-Height": str(shape[-2])}
        if model:
            headers["X-Medcolor-Model"] = model
        return headers
