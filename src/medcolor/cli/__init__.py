"""The ``medcolor`` command line: a thin layer over the Python API.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``,
which registers the parser and sets ``run=callable(args) -> int``.

Exit codes: 0 success, 1 some inputs failed, 2 usage error.  A
:class:`~medcolor.errors.MedcolorError` is printed as one line, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from ..errors import InputError, MedcolorError, UsageError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from . import classic, colorize, evaluate, export, models, serve, train

    parser = argparse.ArgumentParser(prog="medcolor", description="Colorize grayscale images with deep learning.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"medcolor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (colorize, models, export, train, evaluate, classic, serve):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # parse_known_args lets `train` take key=value overrides before or after options.
    args, extra = parser.parse_known_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded by `train` in the model card
    if extra:
        if isinstance(getattr(args, "overrides", None), list) and all(
                "=" in e and not e.startswith("-") for e in extra):
            args.overrides.extend(extra)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"medcolor {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (InputError, MedcolorError) as exc:
        print(f"medcolor {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("medcolor: interrupted", file=sys.stderr)
        return 130
