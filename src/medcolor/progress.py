"""Progress bars that suit where they are written: live on a terminal, sparse lines in a log.

On a terminal the bar redraws at most once a second.  When standard error is a
file or a pipe (a batch job, CI, ``nohup``), every redraw would be a new line
in the log, so the bar writes at most one line every :data:`LOG_INTERVAL_S`
seconds, and without the carriage-return redraws.
"""
from __future__ import annotations

import sys

from tqdm import tqdm

__all__ = ["progress", "LOG_INTERVAL_S"]

LOG_INTERVAL_S = 60.0  # seconds between progress lines in a log


def progress(iterable=None, **kwargs) -> tqdm:
    """:class:`tqdm.tqdm` on standard error, redrawn once a second on a terminal, once a minute in a log."""
    stream = kwargs.pop("file", sys.stderr)
    tty = hasattr(stream, "isatty") and stream.isatty()
    kwargs.setdefault("mininterval", 1.0 if tty else LOG_INTERVAL_S)
    if not tty:
        kwargs.setdefault("maxinterval", LOG_INTERVAL_S)
        kwargs.setdefault("ncols", 100)
        kwargs.setdefault("ascii", True)
    else:
        kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, file=stream, **kwargs)
