"""File-type detection by content (magic bytes) and by extension.

medcolor never trusts a file name alone: :func:`detect_format` looks at the
first bytes, so a text file renamed ``.png`` is refused and a DICOM file with
no extension is still read.  The extension is used only to name the expected
type in error messages and to pick output writers.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

from ..errors import MedcolorError
from ..limits import DEFAULT_LIMITS

__all__ = ["SUPPORTED", "SUPPORTED_EXTENSIONS", "RASTER_EXTENSIONS", "WRITE_FORMATS", "DEFAULT_MAX_PIXELS",
           "OutputExistsError",
           "detect_format", "has_dicm_preamble", "extension_of", "format_of_extension", "supported_list"]

#: Default limit on pixels per frame (H * W), ``medcolor.limits.Limits().max_frame_pixels``;
#: larger images are refused before decoding.
DEFAULT_MAX_PIXELS = DEFAULT_LIMITS.max_frame_pixels

#: Readable formats -> their usual extensions (lower case, with the dot).
SUPPORTED: dict[str, tuple[str, ...]] = {
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg", ".jpe"),
    "tiff": (".tif", ".tiff"),
    "bmp": (".bmp",),
    "dicom": (".dcm", ".dicom", ".ima"),
    "nifti": (".nii", ".nii.gz"),
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(e for exts in SUPPORTED.values() for e in exts)
#: Colour raster images that training and evaluation read with Pillow: the raster
#: formats above plus WebP.
RASTER_EXTENSIONS: tuple[str, ...] = (*SUPPORTED["png"], *SUPPORTED["jpeg"], *SUPPORTED["tiff"],
                                      *SUPPORTED["bmp"], ".webp")

#: Output format name -> canonical extension used by ``write``.
WRITE_FORMATS: dict[str, str] = {"png": ".png", "tiff": ".tiff", "jpg": ".jpg", "dcm": ".dcm", "nii": ".nii.gz"}

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
)
_HEAD = 544  # enough for the DICOM preamble (132) and a NIfTI-1 (348) or NIfTI-2 (540) header


class OutputExistsError(MedcolorError):
    """The output file exists and ``overwrite`` was not requested (the CLI reports it as skipped)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(f"{path}: output exists (use --overwrite to replace it)")


def supported_list() -> str:
    """Human-readable list of supported formats for error messages."""
    return "PNG, JPEG, TIFF, BMP, DICOM (.dcm or no extension), NIfTI (.nii, .nii.gz)"


def extension_of(path: str | Path) -> str:
    """Lower-case extension including ``.nii.gz`` as one unit ('' if none)."""
    name = Path(path).name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return Path(name).suffix


def format_of_extension(path: str | Path) -> str | None:
    """The format a file's extension claims (``"png"``, ``"dicom"`` ...) or None."""
    ext = extension_of(path)
    for fmt, exts in SUPPORTED.items():
        if ext in exts:
            return fmt
    return None


def _is_nifti_header(head: bytes) -> bool:
    if len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
        size = head[:4]
        return size in (struct.pack("<i", 348), struct.pack(">i", 348))
    if len(head) >= 8 and head[4:8] in (b"n+2\x00", b"ni2\x00"):
        return head[:4] in (struct.pack("<i", 540), struct.pack(">i", 540))
    return False


def _is_bare_dicom(head: bytes) -> bool:
    """DICOM without the 128-byte preamble: starts with a group 0002/0008 element (little endian)."""
    if len(head) < 8 or head[:2] not in (b"\x02\x00", b"\x08\x00"):
        return False
    element = struct.unpack("<H", head[2:4])[0]
    if element > 0x0100:  # the first element of a group is a low number (0000, 0001, 0005, 0016 ...)
        return False
    vr = head[4:6]
    if vr.isalpha() and vr.isupper():  # explicit VR
        return True
    length = struct.unpack("<I", head[4:8])[0]  # implicit VR: a plausible value length
    return length < 1 << 16


def has_dicm_preamble(path: str | Path) -> bool:
    """True when ``path`` is a regular file holding the DICOM preamble (``DICM`` at byte 128).

    Reads at most 132 bytes, whatever the file; never opens anything but a regular file (a FIFO
    would block) and answers False for anything it cannot read.
    """
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _gunzip_head(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, _HEAD)
    except zlib.error:
        return b""


def detect_format(path_or_bytes: str | Path | bytes | bytearray | memoryview) -> str | None:
    """Sniff the file type from its first bytes.

    Returns ``"png" | "jpeg" | "tiff" | "bmp" | "dicom" | "nifti"`` or None when
    the content is none of those (including empty or unreadable input).  A path
    is opened and read (at most a few hundred bytes, more for gzip).
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        head = bytes(path_or_bytes[:4096])
        gz = lambda: _gunzip_head(bytes(path_or_bytes[:65536]))  # noqa: E731
    else:
        try:
            with open(path_or_bytes, "rb") as f:
                head = f.read(_HEAD)
        except OSError:
            return None

        def gz() -> bytes:
            try:
                with gzip.open(path_or_bytes, "rb") as g:
                    return g.read(_HEAD)
            except (OSError, EOFError, zlib.error):
                return b""
    if len(head) >= 132 and head[128:132] == b"DICM":  # first: some DICOM preambles hold a TIFF header
        return "dicom"
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head.startswith(b"BM") and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"  # reserved fields are zero in every real BMP
    if _is_nifti_header(head):
        return "nifti"
    if head.startswith(b"\x1f\x8b"):
        return "nifti" if _is_nifti_header(gz()) else None
    if _is_bare_dicom(head):
        return "dicom"
    return None
