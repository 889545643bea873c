"""The local web app of ``medcolor serve``: a page, a JSON/HTTP API and API docs.

:func:`medcolor.web.app.create_app` builds the FastAPI application from a
:class:`medcolor.web.config.WebConfig`; inference runs off the event loop in
:class:`medcolor.web.worker.InferenceQueue`.  Importing this package needs the
``web`` extra (fastapi, uvicorn, python-multipart).
"""
from __future__ import annotations

from .app import create_app
from .config import WebConfig

__all__ = ["create_app", "WebConfig"]
