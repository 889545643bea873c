"""PNG / JPEG / BMP / TIFF reading and writing.

Reading
    * 8-bit gray gives exactly ``uint8 / 255`` (unless a window is asked for).
    * 16-bit gray (PNG ``I;16``, TIFF) and float TIFF keep full precision and are
      windowed (``window=``) or robustly scaled (0.5-99.5 percentiles).
    * Colour (RGB, RGBA, palette, CMYK ...) becomes gray with the same CIE L*,
      with a one-line warning.  RGB files whose three channels are identical are
      gray already: they are read without a warning.
    * EXIF orientation of Pillow-read files (JPEG ...) is applied, so the array is upright.
    * TIFF is read with ``tifffile`` (all bit depths, multi-page stacks become
      frames); palette TIFFs and the other formats with Pillow.

Writing: one ``(1, H, W, 3)`` uint8 frame to PNG, TIFF or JPEG (quality 95).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError, MedcolorError
from ..limits import DEFAULT_LIMITS, LimitError, Limits
from .common import color_to_gray
from .meta import ImageMeta
from .source import ArraySource
from .windowing import display_values

__all__ = ["open_image_file", "read_tiff", "write_image", "encode_png", "ZLIB_LEVEL"]

#: Deflate level for PNG and TIFF output.  Level 1 encodes much faster than Pillow's
#: default 6 for somewhat larger files; benchmarks/bench_io.py times the level-1 write
#: of a colorized 2k x 2k X-ray, which keeps ``medcolor colorize`` within its 2 s target.
ZLIB_LEVEL = 1


def _gray_from_channels(arr: np.ndarray, path, meta: ImageMeta, what: str) -> np.ndarray:
    """``(..., C)`` with C in 2..4 -> ``(...)`` raw gray; warns when it was really colour or had alpha."""
    channels = arr.shape[-1]
    if channels == 2:  # gray + alpha
        meta.warn("alpha channel ignored (gray+alpha image)")
        return arr[..., 0]
    rgb = arr[..., :3]
    if channels == 4:
        meta.warn(f"{what} image with alpha: alpha ignored, colour converted to gray (luminance)")
    elif not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
        meta.warn(f"{what} colour image converted to gray (luminance)")
    else:
        return rgb[..., 0]
    peak = 255.0 if rgb.dtype == np.uint8 else (65535.0 if rgb.dtype == np.uint16 else 1.0)
    gray = color_to_gray(rgb.astype(np.float32) / np.float32(peak))
    return gray if peak == 1.0 else gray * np.float32(peak)  # back to the input's value scale


def open_image_file(path: str | Path, *, window=None, limits: Limits | None = None, fmt: str = "png"
                    ) -> ArraySource:
    """Open a PNG/JPEG/BMP/TIFF: the header is read and checked against ``limits`` now, pixels on first use.

    ``window`` is an already-parsed ``(center, width)`` or None.  These formats
    are decoded whole (one frame, or a TIFF stack held to ``limits.max_buffer_bytes``).
    """
    limits = limits or DEFAULT_LIMITS
    frames, height, width, bytes_per_pixel = _probe(path, fmt)
    limits.check(path, frames=frames, height=height, width=width,
                 bytes_per_pixel=bytes_per_pixel + 4 if frames > 1 else None)
    meta = ImageMeta(path=str(path), format="image", kind="stack" if frames > 1 else "image",
                     shape=(frames, height, width), codec=fmt)
    if fmt == "tiff":
        return ArraySource(meta, lambda: read_tiff(path, window=window, meta=meta)[0])
    return ArraySource(meta, lambda: _read_pillow(path, window=window, fmt=fmt, meta=meta)[0])


def _probe(path, fmt: str) -> tuple[int, int, int, int]:
    """``(frames, height, width, bytes per pixel)`` from the header alone."""
    if fmt == "tiff":
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                axes, shape = series.axes, series.shape
                if "Y" not in axes or "X" not in axes:
                    raise InputError(path, f"TIFF has no 2-D image (axes {axes})")
                frames = int(np.prod([n for a, n in zip(axes, shape) if a not in "YXS"], dtype=np.int64))
                samples = shape[axes.index("S")] if "S" in axes else 1
                return frames, int(shape[axes.index("Y")]), int(shape[axes.index("X")]), \
                    int(series.dtype.itemsize) * int(samples)
        except InputError:
            raise
        except Exception as exc:  # tifffile raises many types (TiffFileError, ValueError, struct.error ...)
            raise InputError(path, f"corrupt or truncated TIFF file ({type(exc).__name__}: {exc})") from None
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return 1, int(im.height), int(im.width), len(im.getbands())
    except Image.DecompressionBombError as exc:  # Pillow's own cap (~179 M pixels) is a size limit too
        raise LimitError(path, f"image too large to decode safely ({exc})", limit="max_frame_pixels") from None
    except UnidentifiedImageError:
        raise InputError(path, f"not a valid {fmt.upper()} image (cannot identify the content)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated {fmt.upper()} file ({exc})") from None



def _read_pillow(path, *, window, fmt, meta: ImageMeta) -> tuple[np.ndarray, ImageMeta]:
    """Pillow decoding (PNG/JPEG/BMP, palette TIFF) -> ``((1, H, W) float32, meta)``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im = ImageOps.exif_transpose(im)
                mode = im.mode
                if mode in ("P", "PA"):
                    im = im.convert("RGB")  # palette -> its colours (alpha/transparency ignored)
                elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                    im = im.convert("RGB")
                arr = np.asarray(im)
    except Image.DecompressionBombError as exc:
        raise InputError(path, f"image too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise InputError(path, f"not a valid {fmt.upper()} image (cannot identify the content)") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for truncated/corrupt data
        raise InputError(path, f"corrupt or truncated {fmt.upper()} file ({exc})") from None

    if arr.dtype == bool:  # mode "1": bilevel
        arr = arr.astype(np.uint8) * np.uint8(255)
    eight_bit = arr.dtype == np.uint8
    if arr.dtype.kind in "iu" and not eight_bit:  # Pillow gives I;16 as uint16, some PNGs as int32 "I"
        bits = 16 if arr.max(initial=0) < 65536 and arr.min(initial=0) >= 0 else 32
    else:
        bits = 8 if eight_bit else 32
    if mode in ("P", "PA"):
        meta.warn("palette image converted to gray (luminance)")
        arr = color_to_gray(arr.astype(np.float32) / np.float32(255)) * np.float32(255)
    elif arr.ndim == 3:
        arr = _gray_from_channels(arr, path, meta, mode)
    display, applied, how = _display(path, arr, window, eight_bit, meta)
    display = display[None]  # (1, H, W)
    meta.bits, meta.window, meta.scaling = bits, applied, how
    meta.set_shape(display.shape)
    return display, meta


def read_tiff(path: str | Path, *, window=None, meta: ImageMeta) -> tuple[np.ndarray, ImageMeta]:
    """TIFF via tifffile -> ``((F, H, W) float32 in [0, 1], meta)``; pages of a stack become frames."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes = series.axes
            if "Y" not in axes or "X" not in axes:
                raise InputError(path, f"TIFF has no 2-D image (axes {axes})")
            photometric = tif.pages[0].photometric
            palette = photometric is not None and int(photometric) == 3
            arr = None if palette else series.asarray()
    except InputError:
        raise
    except Exception as exc:  # tifffile raises many types (TiffFileError, ValueError, struct.error ...)
        raise InputError(path, f"corrupt or truncated TIFF file ({type(exc).__name__}: {exc})") from None

    if palette:  # Pillow applies the colour map; tifffile would give bare indices
        return _read_pillow(path, window=window, fmt="tiff", meta=meta)
    # Bring to (F, H, W[, C]): move Y, X to the end (before samples) and merge the other axes.
    samples = "S" in axes
    order = [i for i, a in enumerate(axes) if a not in "YXS"] + [axes.index("Y"), axes.index("X")]
    if samples:
        order.append(axes.index("S"))
    arr = np.transpose(arr, order)
    tail = arr.shape[-3:] if samples else arr.shape[-2:]
    arr = arr.reshape((-1, *tail))
    eight_bit = arr.dtype == np.uint8
    if samples and arr.shape[-1] == 1:
        arr, samples = arr[..., 0], False
    if samples:
        if arr.shape[-1] not in (2, 3, 4):
            raise InputError(path, f"TIFF with {arr.shape[-1]} samples per pixel is not supported")
        arr = _gray_from_channels(arr, path, meta, "RGB")
    if photometric is not None and int(photometric) == 0 and arr.dtype.kind in "iu":  # MINISWHITE
        arr = np.iinfo(arr.dtype).max - arr
    bits = arr.dtype.itemsize * 8
    display, applied, how = _display(path, arr, window, eight_bit, meta)
    meta.bits, meta.window, meta.scaling = bits, applied, how
    meta.set_shape(display.shape)
    return display, meta


def _display(path, arr: np.ndarray, window, eight_bit: bool, meta: ImageMeta):
    """:func:`display_values` plus clear reports for degenerate data (all NaN, constant)."""
    if arr.dtype.kind == "f" and arr.size and not np.isfinite(arr).any():
        raise InputError(path, "every pixel value is NaN or infinite: nothing to show")
    display, applied, how = display_values(arr, window, eight_bit=eight_bit)
    if how == "percentile" and applied is not None and applied[1] <= 0:
        meta.warn(f"constant image: every pixel is {applied[0]:g}, so the output is one flat colour")
    return display, applied, how


def write_image(path: Path, rgb: np.ndarray, fmt: str, model_name: str) -> None:
    """Write one ``(1, H, W, 3)`` uint8 frame to ``path`` (already a temporary name) as png/tiff/jpg.

    A ``(1, H, W)`` uint8 frame is a confidence map (0 = none, 255 = full), written as 8-bit gray.
    """
    if rgb.shape[0] != 1:
        raise MedcolorError(f"{path}: {fmt} holds one frame, got {rgb.shape[0]}; "
                            "write frames one by one (e.g. name_z000.png) or use dcm/nii")
    frame = np.ascontiguousarray(rgb[0])
    gray = frame.ndim == 2
    description = (f"confidence of medcolor (model {model_name}): 0 = none, 255 = full" if gray else
                   f"colorized by medcolor (model {model_name})")
    if fmt == "tiff":
        import tifffile

        tifffile.imwrite(path, frame, photometric="minisblack" if gray else "rgb", compression="zlib",
                         compressionargs={"level": ZLIB_LEVEL}, software="medcolor",
                         description=description, metadata=None)
        return
    if fmt == "png":
        Path(path).write_bytes(encode_png(frame, {"Software": "medcolor", "Description": description}))
    elif fmt == "jpg":
        from PIL import Image

        Image.fromarray(frame).save(path, format="JPEG", quality=95, subsampling=0, comment=description.encode())
    else:
        raise MedcolorError(f"{path}: unknown image format {fmt!r}")


def encode_png(image: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    """``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 -> PNG bytes (deflate level :data:`ZLIB_LEVEL`).

    ``text``: tEXt chunks (key -> value), e.g. ``{"Software": "medcolor"}``.  The one PNG
    encoder of medcolor: output files (:func:`write_image`) and web answers use it.
    """
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", pnginfo=info, compress_level=ZLIB_LEVEL)
    return buf.getvalue()
