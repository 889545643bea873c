"""The FastAPI application: the page, the JSON/HTTP API and self-contained API docs.

Routes::

    GET  /                 the page (static/index.html; no external CDN)
    GET  /static/...       its script and style
    GET  /docs             API docs rendered from /openapi.json by a small local page
    GET  /openapi.json     the OpenAPI schema
    GET  /api/health       status, limits and queue depth
    GET  /api/models       the models a client may choose
    GET  /api/windows      the window presets for DICOM/NIfTI
    POST /api/preview      multipart file [+ window] -> the gray preview frame as PNG
    POST /api/colorize     multipart file [+ model, window, working_size, format, hints, hint_method, confidence]
                           -> PNG or DICOM

Every error is a JSON body ``{"error": "..."}``.  User errors are 4xx: 413 for an
upload or image over the limits (checked from the headers, so a decompression
bomb is refused before decoding), 415 for an unsupported type, 400/422 for a bad
parameter or file.  503 when the inference queue is full; 500 only for a fault of
the server itself, whose message names the client's file, never a server path.
No request can stop the server.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, Mapping

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from torch import nn

from .. import __version__
from ..errors import InputError, MedcolorError, UnknownModelError, UsageError
from ..limits import LimitError
from ..options import HINT_METHOD_HELP, HINT_METHODS, LIMIT_OPTIONS, MAX_WORKING_SIZE, MIN_WORKING_SIZE, WINDOW_HELP
from .config import WebConfig
from .engine import BadRequestError, ColorizeJob, Engine, PayloadTooLargeError, UnsupportedMediaError
from .limits import BodySizeLimit, error_response
from .worker import InferenceQueue, QueueFullError

__all__ = ["create_app", "STATIC_DIR"]

log = logging.getLogger("medcolor.web")
STATIC_DIR = Path(__file__).with_name("static")

# Most specific first: the first isinstance match decides the status.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (QueueFullError, 503),
    (PayloadTooLargeError, 413),
    (LimitError, 413),
    (UnsupportedMediaError, 415),
    (UnknownModelError, 400),
    (BadRequestError, 400),
    (UsageError, 400),
    (InputError, 422),
    (MedcolorError, 422),
)


def _status_of(exc: Exception) -> int:
    return next(code for cls, code in _STATUS if isinstance(exc, cls))


def _validation_message(exc: RequestValidationError) -> str:
    """FastAPI's list of errors -> one line such as ``size: Input should be ...``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def create_app(config: WebConfig | None = None, models: Mapping[str, nn.Module] | None = None) -> FastAPI:
    """Build the app.

    Args:
        config: caps, queue and default model (defaults to :class:`WebConfig`).
        models: extra already-built models by name, offered to clients besides
            the shipped ones (used by tests for deterministic models).

    The :class:`~medcolor.web.engine.Engine` is ``app.state.engine`` and the
    :class:`~medcolor.web.worker.InferenceQueue` is ``app.state.queue``.
    """
    config = (config or WebConfig()).validate()
    engine = Engine(config, models)
    queue = InferenceQueue(config.workers, config.queue_size)

    app = FastAPI(title="medcolor", version=__version__,
                  description="Colorize grayscale images (photos, X-ray, CT, MR, histology) locally. "
                              "Errors are JSON `{\"error\": \"...\"}`.",
                  docs_url=None, redoc_url=None)  # /docs is served locally below: no CDN
    app.state.engine, app.state.queue, app.state.config = engine, queue, config
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    app.router.add_event_handler("shutdown", queue.close)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    async def _run(fn, job: ColorizeJob) -> Response:
        try:
            result = await queue.run(fn, job)
        except MedcolorError as exc:
            headers = {"Retry-After": "2"} if isinstance(exc, QueueFullError) else None
            return error_response(_status_of(exc), str(exc), headers)
        except Exception:  # a bug must cost one request, never the server
            log.exception("internal error while processing %s", job.filename)
            return error_response(500, f"{job.filename}: internal error while processing the image")
        return Response(result.body, media_type=result.media_type, headers=result.headers)

    async def _job(file: UploadFile, hints: UploadFile | None = None, **params) -> ColorizeJob:
        name = Path(file.filename or "upload").name
        if file.size is not None and file.size > config.max_upload_bytes:
            raise PayloadTooLargeError(f"{name}: upload is {file.size} bytes; "
                                       f"the limit is {config.max_upload_bytes}")
        data = await file.read()
        hint_bytes = await hints.read() if hints is not None and hints.filename is not None else None
        return ColorizeJob(data=data, filename=name, hints=hint_bytes or None, **params)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.html", media_type="text/html")

    @app.get("/api/health", summary="Server status, limits and queue depth")
    async def health() -> dict:
        return {"status": "ok", "version": __version__, "device": str(engine.device),
                "default_model": engine.default_model(),
                "limits": {"max_upload_bytes": config.max_upload_bytes,
                           **{o.name: getattr(config, o.name) for o in LIMIT_OPTIONS},
                           "working_size": config.working_size, "min_working_size": MIN_WORKING_SIZE,
                           "max_working_size": MAX_WORKING_SIZE},
                "queue": queue.stats()}

    @app.get("/api/models", summary="Models a client may choose")
    async def models_() -> dict:
        return {"default": engine.default_model(), "models": engine.model_names()}

    @app.get("/api/windows", summary="Window presets for DICOM and NIfTI (CT in Hounsfield units)")
    async def windows() -> dict:
        from ..io import WINDOW_PRESETS

        return {"presets": {k: {"center": c, "width": w} for k, (c, w) in WINDOW_PRESETS.items()}}

    @app.post("/api/preview", summary="The gray frame the network will see, as PNG",
              responses={200: {"content": {"image/png": {}}}, 413: {}, 415: {}, 422: {}, 503: {}})
    async def preview(file: UploadFile = File(..., description="PNG/JPEG/TIFF/BMP/DICOM/NIfTI"),
                      window: str | None = Form(None, description=WINDOW_HELP)
                      ) -> Response:
        try:
            job = await _job(file, window=window or None)
        except MedcolorError as exc:
            return error_response(_status_of(exc), str(exc))
        return await _run(engine.preview, job)

    @app.post("/api/colorize", summary="Colorize an image",
              description="Returns the preview frame as PNG, or with format=dcm (DICOM input only) "
                          "a colour DICOM with every frame, or with confidence=true the preview frame's "
                          "confidence map as a gray PNG (255 = the model is sure of the colour; not a "
                          "probability of being right).",
              responses={200: {"content": {"image/png": {}, "application/dicom": {}}},
                         400: {}, 413: {}, 415: {}, 422: {}, 503: {}})
    async def colorize(file: UploadFile = File(..., description="PNG/JPEG/TIFF/BMP/DICOM/NIfTI"),
                       model: str | None = Form(None, description="a name from GET /api/models"),
                       window: str | None = Form(None, description=WINDOW_HELP),
                       working_size: int | None = Form(None, ge=MIN_WORKING_SIZE, le=MAX_WORKING_SIZE,
                                                       description="working size: short side seen by the network "
                                                                   "(default: the model's own)"),
                       format: Literal["png", "dcm"] = Form("png", description="png, or dcm for DICOM input"),
                       hints: UploadFile | None = File(None, description="RGBA PNG of the preview frame's "
                                                                         "size; painted pixels are hints"),
                       hint_method: Literal[HINT_METHODS] = Form("auto", description=HINT_METHOD_HELP),
                       confidence: bool = Form(False, description="answer the model's confidence map (gray PNG) "
                                                                  "of the preview frame instead of its colours"),
                       ) -> Response:
        try:
            job = await _job(file, hints, model=model or None, window=window or None, working_size=working_size,
                             fmt=format, hint_method=hint_method, confidence=confidence)
        except MedcolorError as exc:
            return error_response(_status_of(exc), str(exc))
        return await _run(engine.colorize, job)

    return app
