"""Builders for hostile test inputs that cost almost nothing to create: headers that claim huge sizes."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, *, color_type: int = 0, rows: int = 1) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` 8-bit pixels (gray, or RGB with ``color_type`` 2).

    Only the first ``rows`` rows of zero pixels are stored (one compressed chunk of a few
    bytes), so a decoder that trusts the header allocates the whole image and then
    finds the data truncated, while the file stays tiny: a decompression bomb as
    seen by any code that checks sizes from the header.
    """
    channels = 3 if color_type == 2 else 1
    raw = (b"\0" + b"\0" * (width * channels)) * rows
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def zero_png_bytes(width: int, height: int) -> bytes:
    """A complete, valid all-black gray PNG of ``width`` x ``height``, compressed streaming (small for zeros)."""
    comp = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
