"""Refuse oversized request bodies before they are parsed, and the JSON error shape.

:class:`BodySizeLimit` is a plain ASGI middleware.  A request whose
``Content-Length`` exceeds the cap is answered 413 without reading its body.  A
body without a length (chunked) is counted as it streams in; once it passes the
cap, reading stops and whatever the app would have answered is replaced by the
413, so a client cannot fill memory or the multipart spool by lying about size.
"""
from __future__ import annotations

import json

from fastapi.responses import JSONResponse

__all__ = ["BodySizeLimit", "error_response"]


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    """The one error shape of the API: ``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: HTTP 413 JSON for request bodies over ``max_bytes``."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"request body is larger than the limit of {self.max_bytes} bytes"

    async def _send_413(self, send) -> None:
        body = json.dumps({"error": self._message()}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = False  # the server rejects a malformed length itself
            if too_big:
                await self._send_413(send)
                return

        state = {"received": 0, "exceeded": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["exceeded"] = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message):
            if state["exceeded"]:
                # the app is answering a body it could not finish reading: answer 413 instead
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await self._send_413(send)
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["exceeded"]:
                raise
            if not state["started"]:
                await self._send_413(send)
