"""``medcolor serve``: start the local web app (page at ``/``, API at ``/api``, docs at ``/docs``).

The server binds to 127.0.0.1 by default.  It has no authentication, so binding
to another interface prints a warning.  The default model is loaded before the
server starts so that a bad ``--model`` fails at once with one line, not on the
first request.
"""
from __future__ import annotations

import argparse
import socket
import sys

from ..errors import MedcolorError, UsageError
from ._common import add_limits, add_working_size

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    from ..web.config import WebConfig  # no web extra needed: the settings are plain dataclasses

    p = subparsers.add_parser(
        "serve", help="start the local web app (browser page + HTTP API)",
        description="Start a local web server: a page at / to colorize images in the browser, "
                    "a JSON/HTTP API at /api (POST /api/colorize) and API docs at /docs.")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to bind (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--model", default="default",
                   help="default model: a shipped name or a .safetensors path (default: default)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|mps (default auto)")
    add_working_size(p)
    p.add_argument("--max-upload-mb", type=float, default=64.0,
                   help="largest accepted upload in MiB (default 64)")
    add_limits(p, WebConfig().limits)
    p.add_argument("--queue-size", type=int, default=4,
                   help="requests that may wait while one runs; more get HTTP 503 (default 4)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn log level (default info)")
    p.set_defaults(run=run)
    return p


def _check_port(host: str, port: int) -> None:
    """Fail with one line if the port cannot be bound, instead of uvicorn's exit."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r}: cannot resolve ({exc.strerror})") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise MedcolorError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    from .._optional import require

    uvicorn = require("uvicorn", "medcolor serve")
    require("fastapi", "medcolor serve")

    from ..options import LIMIT_OPTIONS
    from ..web.app import create_app
    from ..web.config import WebConfig

    config = WebConfig(model=args.model, device=args.device, working_size=args.working_size,
                       max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), queue_size=args.queue_size,
                       **{o.name: getattr(args, o.name) for o in LIMIT_OPTIONS})
    config.validate()  # raises UsageError on nonsense values
    _check_port(args.host, args.port)
    app = create_app(config)
    app.state.engine.load_default()  # a bad --model fails here, with one line
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"medcolor serve: warning: listening on {args.host}; the app has no authentication, "
              "anyone who can reach this port can use it", file=sys.stderr)
    shown = "localhost" if args.host in ("127.0.0.1", "::1") else args.host
    print(f"medcolor serve: open http://{shown}:{args.port}/ (API docs at /docs); Ctrl+C to stop",
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
