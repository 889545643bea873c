"""The Python API for applying a model: ``colorize`` and ``colorize_gray``.

Steps (the same for photos, X-ray, CT, MR and histology):

1. the display gray image (values in [0, 1]) is turned into its L*;
2. L* is resized so its short side is ``size`` (the model's working size);
3. the model predicts a*b* in Lab units;
4. optional user hints (:mod:`medcolor.hints`), pooled to the working size, steer
   the chroma: models that accept hints take them as a second input (learned
   hints), other models' chroma is refined by Levin propagation;
5. the chroma is upsampled and joined with the full-resolution L*
   (:func:`medcolor.recombine.recombine`), so structure is never changed.
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .card import DEFAULT_WORKING_SIZE  # working size of a model without a card
from .color import gray_to_lightness, rgb_to_gray_np, to_unit_float
from .device import resolve_device
from .recombine import recombine
from .weights import load_model

__all__ = ["colorize", "colorize_gray", "get_model", "working_shape", "predict_ab", "as_gray",
           "model_working_size", "DEFAULT_WORKING_SIZE"]



@lru_cache(maxsize=8)
def _cached_model(spec: str, device: str) -> nn.Module:
    return load_model(spec, device=device)


def get_model(model: str | os.PathLike | nn.Module, device: torch.device) -> nn.Module:
    """A loaded model in eval mode on ``device``; names and paths are cached."""
    if isinstance(model, nn.Module):
        return model.to(device).eval()
    return _cached_model(str(model), str(device))


def model_working_size(net: nn.Module) -> int | None:
    """The working size a model was trained for (its ``meta.working_size``); ``None`` = native size.

    Models trained on small patches (e.g. 32-px dermoscopy) must see inputs at
    their native scale, photos at 256 on the short side.
    """
    card = getattr(net, "medcolor_card", None)
    return DEFAULT_WORKING_SIZE if card is None else card.working_size


# Bounds of the working shape, so that memory never depends on an extreme aspect ratio:
# with a working size, the long side is at most MAX_ASPECT x the short side (a 1x1000
# strip is predicted at 256x2048, not 256x256000, and its chroma stretched back);
# at native size (no working size) neither side exceeds MAX_NATIVE_SIDE.
MAX_ASPECT = 8
MAX_NATIVE_SIDE = 2048


def working_shape(h: int, w: int, size: int | None) -> tuple[int, int]:
    """The (h, w) at which the network sees an ``h`` x ``w`` image.

    With ``size``: the short side becomes ``size`` and the aspect ratio is kept
    up to ``MAX_ASPECT``:1; a longer side is clamped to ``MAX_ASPECT * size``.
    Without (``None``/0, native size): unchanged, except that an image with a side
    over ``MAX_NATIVE_SIDE`` is scaled down (aspect kept) to fit.  Both sides are >= 1.
    """
    if not size:
        scale = min(1.0, MAX_NATIVE_SIDE / max(h, w))
        return max(1, round(h * scale)), max(1, round(w * scale))
    scale = size / min(h, w)
    cap = MAX_ASPECT * size
    return min(cap, max(1, round(h * scale))), min(cap, max(1, round(w * scale)))


def _working_lightness(L: torch.Tensor, size: int | None) -> torch.Tensor:
    """``(N, 1, H, W)`` L* -> ``(N, 1, h, w)`` L* in [0, 100] at the working shape."""
    hw = working_shape(*L.shape[-2:], size)
    small = L if hw == tuple(L.shape[-2:]) else F.interpolate(L, size=hw, mode="bilinear",
                                                               antialias=True, align_corners=False)
    return small.clamp(0, 100)


def predict_ab(net: nn.Module, L: torch.Tensor, size: int | None) -> torch.Tensor:
    """``(N, 1, H, W)`` L* -> ``(N, 2, h, w)`` a*b* predicted at the working size."""
    with torch.inference_mode():
        return net(_working_lightness(L, size)).float()


def as_gray(image: np.ndarray) -> np.ndarray:
    """Any in-memory image -> float32 display gray ``(H, W)`` or ``(N, H, W)`` in [0, 1].

    uint8 is divided by 255, uint16 by 65535, floats are clipped to [0, 1]; an RGB(A)
    array ``(H, W, 3|4)`` is reduced to the gray level with the same L*.
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] > 4:
        arr = rgb_to_gray_np(arr[..., :3])  # integer dtypes are scaled by their maximum
    else:
        arr = to_unit_float(arr)
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected a (H, W) or (N, H, W) gray image, got shape {arr.shape}")
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def _predict_with_hints(net: nn.Module, L: torch.Tensor, size: int | None, hints, method: str) -> torch.Tensor:
    """``(1, 1, H, W)`` L* and full-resolution :class:`~medcolor.hints.UserHints` -> ``(1, 2, h, w)``
    a*b* at the working shape: the network's own hint input (``learned``) or Levin refinement
    of its automatic chroma (``levin``)."""
    from .hints import levin_refine

    small = _working_lightness(L, size)
    hint_map = hints.hint_map(tuple(small.shape[-2:])).to(small)  # (1, 3, h, w)
    with torch.inference_mode():
        if method == "learned":
            return net(small, hint_map).float()
        ab = net(small).float()
    return levin_refine(small, ab, hint_map)


def colorize_gray(gray: np.ndarray, model: str | os.PathLike | nn.Module = "default", size: int | str | None = "auto",
                  device: str | torch.device = "auto", batch_size: int = 8, hints=None,
                  hint_method: str = "auto", hook=None) -> np.ndarray:
    """Colorize display gray values in [0, 1].

    Args:
        gray: ``(H, W)`` or ``(N, H, W)`` float in [0, 1] (uint8/uint16 are scaled).
        model: a shipped name (``default``, ``photo`` ...), a path, or a loaded module.
        size: working size for the network (short side); ``None`` runs at native size;
            ``"auto"`` uses the size the model was trained for (256 unless its card says otherwise).
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        batch_size: frames per forward pass.
        hints: optional user hints for a single 2-D image: a hints image (path or uint8
            array), ``(rgb, mask)`` or :class:`~medcolor.hints.UserHints` (see
            :func:`medcolor.hints.parse_hints`).
        hint_method: ``auto`` (the learned hint input when the model has one, else
            Levin refinement), ``learned`` or ``levin``.
        hook: optional :class:`~medcolor.batch.ChromaHook` that post-processes the a*b* of
            consecutive frames, e.g. :class:`medcolor.volume.SliceSmoother` for the slices of a volume.

    Returns:
        uint8 RGB ``(H, W, 3)`` for 2-D input, ``(N, H, W, 3)`` for a stack; the
        output's L* equals the input's L* within 1.0 at every pixel.
    """
    g = as_gray(gray)
    single = g.ndim == 2
    frames = g[None] if single else g
    if hints is not None and frames.shape[0] != 1:
        raise ValueError("hints apply to a single 2-D image, not to a stack of frames")
    dev = resolve_device(device)
    net = get_model(model, dev)
    if size == "auto":
        size = model_working_size(net)
    if hints is not None:
        from .hints import parse_hints, resolve_hint_method

        method = resolve_hint_method(net, hint_method)
        hints = parse_hints(hints, frames.shape[-2:])
    out = np.empty((*frames.shape, 3), dtype=np.uint8)
    done = 0  # frames written to out (a hook may hold some back)
    for start in range(0, frames.shape[0], max(1, batch_size)):
        chunk = torch.from_numpy(frames[start:start + batch_size])[:, None].to(dev)
        L = gray_to_lightness(chunk.float())  # (B, 1, H, W) L* of the input
        if hints is None:
            ab = predict_ab(net, L, size)  # (B, 2, h, w) a*b* in Lab units
        else:
            ab = _predict_with_hints(net, L, size, hints, method)  # (1, 2, h, w)
        L, ab = L.cpu(), ab.cpu()
        for i in range(L.shape[0]):  # per frame keeps the full-resolution buffers small
            ready = [(L[i:i + 1], ab[i:i + 1])] if hook is None else hook.push(L[i:i + 1], ab[i:i + 1])
            for L_r, ab_r in ready:
                out[done] = recombine(L_r, ab_r)[0]
                done += 1
    for L_r, ab_r in (hook.flush() if hook is not None else []):
        out[done] = recombine(L_r, ab_r)[0]
        done += 1
    return out[0] if single else out


def colorize(image, model: str | os.PathLike | nn.Module = "default", size: int | str | None = "auto",
             device: str | torch.device = "auto", window=None, axis: int | None = None,
             hints=None, batch_size: int = 8, hint_method: str = "auto", smooth: bool = True) -> np.ndarray:
    """Colorize an image file (PNG/JPEG/TIFF/BMP, DICOM, NIfTI) or an in-memory array.

    Files are read with :func:`medcolor.io.read` (``window`` and ``axis`` apply to
    DICOM and NIfTI).  Returns uint8 RGB ``(H, W, 3)``, or ``(N, H, W, 3)`` for
    multi-frame DICOM and volumes.  ``hints`` and ``hint_method``: see :func:`colorize_gray`.

    ``smooth``: the slices of a NIfTI volume or DICOM series get colour that is
    consistent from slice to slice (:mod:`medcolor.volume`); False colours each slice
    on its own.  ``model="ct-tissue"`` colours CT from its Hounsfield units
    (:mod:`medcolor.ct_tissue`; files only, DICOM CT or NIfTI in HU).
    """
    from .ct_tissue import is_ct_tissue

    if isinstance(image, (str, os.PathLike)) or hasattr(image, "paths"):  # a file or a DicomSeries
        from .io import open_image

        with open_image(image, window=window, axis=axis) as src:
            if is_ct_tissue(model):
                from .ct_tissue import colorize_hu, require_hu

                require_hu(src.meta)
                rgb = colorize_hu(src.read(), src.read("hu"))
                return rgb[0] if rgb.shape[0] == 1 else rgb
            frames, meta = src.read(), src.meta
        gray = frames[0] if frames.shape[0] == 1 else frames
        hook = None
        if smooth:
            from .volume import volume_hook

            hook = volume_hook(meta)
    else:
        if is_ct_tissue(model):
            from .errors import UsageError

            raise UsageError("ct-tissue colours Hounsfield units: give it a DICOM CT or NIfTI file, not an array "
                             "(for arrays of HU use medcolor.ct_tissue.colorize_hu)")
        gray, hook = image, None
    return colorize_gray(gray, model=model, size=size, device=device, batch_size=batch_size, hints=hints,
                         hint_method=hint_method, hook=hook)
