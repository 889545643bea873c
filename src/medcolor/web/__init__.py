"""The local web app of ``medcolor serve``: a page, a JSON/HTTP API and API docs.

:func:`medcolor.web.app.create_app` builds the FastAPI application from a
:class:`medcolor.web.config.WebConfig`; inference runs off the event loop in
:class:`medcolor.web.worker.InferenceQueue`.  ``create_app`` needs the ``web``
extra (fastapi, uvicorn, python-multipart); :class:`WebConfig` does not, so the
command line can show the server's defaults without it.
"""
from __future__ import annotations

__all__ = ["create_app", "WebConfig"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "WebConfig":
        from .config import WebConfig

        return WebConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
