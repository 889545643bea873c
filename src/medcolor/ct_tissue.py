"""``ct-tissue``: CT colour from Hounsfield units, selectable like a model (``--model ct-tissue``).

A CT slice stores each pixel's X-ray attenuation in Hounsfield units (HU),
and tissues fall in known HU ranges.  The display window hides most of it (in
a lung window fat and muscle are both near white).  This rendering takes

* **lightness** from the display window, exactly as every medcolor model does
  (the output's L* is the window's L*: the structure guarantee holds), and
* **chroma** (a*b*) from each pixel's HU, with the colours anatomy shows in
  cryosections such as the Visible Human and in volume-rendering presets such as
  3D Slicer's CT-Muscle and CT-Fat: air and lung neutral, fat yellow, fluid pale,
  soft tissue and muscle red, blood and contrast-enhanced vessels a deeper red,
  bone ivory.

The a*b* are interpolated linearly between the control points of
:data:`CONTROL_POINTS` (no steps, so no banding).  Where a colour does not fit
the sRGB gamut at a pixel's lightness (near black or white), its chroma is
reduced towards gray, never its lightness (:func:`medcolor.recombine.recombine`).

Inputs: DICOM CT through its modality LUT, and NIfTI volumes, which carry no
modality and are *assumed* to be in HU.  Anything without HU (MR, X-ray,
PNG/JPEG/TIFF, photos) is refused with one line naming the file.

The colour encodes HU ranges only: it is not a tissue classification and not a
diagnosis (see :data:`CARD`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError

__all__ = ["NAME", "CONTROL_POINTS", "RenderingCard", "CARD", "hu_to_ab", "predict", "require_hu",
           "colorize_hu", "is_ct_tissue"]

#: The name to select the rendering with (``--model ct-tissue``, ``model="ct-tissue"``).
NAME = "ct-tissue"

#: ``(HU, a*, b*, what)`` in increasing HU; a*b* are interpolated linearly between the points
#: and held constant beyond the ends.
CONTROL_POINTS: tuple[tuple[float, float, float, str], ...] = (
    (-1000.0, 0.0, 0.0, "air"),
    (-400.0, 0.0, 0.0, "lung"),
    (-150.0, 4.0, 48.0, "fat"),
    (-60.0, 5.0, 44.0, "fat"),
    (0.0, 14.0, 20.0, "water, fluid"),
    (30.0, 32.0, 22.0, "soft tissue"),
    (60.0, 38.0, 22.0, "muscle, blood"),
    (150.0, 46.0, 16.0, "enhanced vessels"),
    (260.0, 40.0, 18.0, "enhanced vessels"),
    (500.0, 3.0, 14.0, "bone"),
    (3000.0, 2.0, 12.0, "dense bone"),
)


@dataclass(frozen=True)
class RenderingCard:
    """What a rendering (a colouring computed from the data, not learned) is and what its colour means.

    Attributes:
        name: the ``--model`` name.
        description: one line for ``medcolor models``.
        encodes: what the colour shows.
        does_not_encode: what it must not be read as.
        inputs: what it accepts, and what it refuses.
    """

    name: str
    description: str
    encodes: str
    does_not_encode: str
    inputs: str

    def text(self) -> str:
        """The card as a few lines of text."""
        return (f"{self.name}: {self.description}\n  colour encodes: {self.encodes}\n"
                f"  colour does not encode: {self.does_not_encode}\n  inputs: {self.inputs}")


def _ranges() -> str:
    named, seen = [], set()
    for hu, _a, _b, what in CONTROL_POINTS:
        if what not in seen:
            seen.add(what)
            named.append(f"{what} {hu:+g}")
    return ", ".join(named)


CARD = RenderingCard(
    name=NAME,
    description="CT colour from Hounsfield units (no network): lightness from the display window, "
                "hue from each pixel's HU",
    encodes="each pixel's Hounsfield units, as a continuous colour scale with points at " + _ranges()
            + " HU: neutral air and lung, yellow fat, red soft tissue and muscle, deeper red blood and "
              "enhanced vessels, ivory bone",
    does_not_encode="tissue type or any diagnosis: the colour is an HU range, and different tissues with the "
                    "same HU (e.g. blood and muscle, calcification and contrast) get the same colour; partial "
                    "volume at edges gives in-between colours",
    inputs="DICOM CT (through its modality LUT) and NIfTI volumes, assumed to be in HU; MR, X-ray and "
           "ordinary images are refused",
)


def is_ct_tissue(model) -> bool:
    """True when ``model`` selects this rendering (the name, not a path or a module)."""
    return isinstance(model, str) and model.strip().lower() == NAME


def hu_to_ab(hu: torch.Tensor) -> torch.Tensor:
    """Hounsfield units ``(B, 1, H, W)`` -> a*b* ``(B, 2, H, W)`` (float32, Lab units); NaN HU -> neutral."""
    hu = hu.float()
    points = torch.tensor([(p[0], p[1], p[2]) for p in CONTROL_POINTS], dtype=torch.float32, device=hu.device)
    x, ab = points[:, 0].contiguous(), points[:, 1:]  # (K,), (K, 2)
    flat = hu.reshape(-1)
    finite = torch.isfinite(flat)
    v = torch.where(finite, flat, torch.zeros_like(flat)).clamp(float(x[0]), float(x[-1]))
    i = torch.searchsorted(x, v, right=True).clamp(1, len(x) - 1)  # segment [x[i-1], x[i]]
    t = ((v - x[i - 1]) / (x[i] - x[i - 1])).unsqueeze(1)  # (N, 1)
    out = ab[i - 1] + t * (ab[i] - ab[i - 1])  # (N, 2)
    out = torch.where(finite.unsqueeze(1), out, torch.zeros_like(out))
    b, _, h, w = hu.shape
    return out.T.reshape(2, b, h, w).permute(1, 0, 2, 3).contiguous()


def predict(L: torch.Tensor, hu: torch.Tensor | None) -> torch.Tensor:
    """The ``predict`` of :class:`medcolor.batch.UnitOptions` (with ``needs_hu=True``).

    ``L`` ``(B, 1, H, W)`` is unused (lightness stays the window's); ``hu`` ``(B, 1, H, W)``
    -> a*b* ``(B, 2, H, W)`` at full resolution.
    """
    if hu is None:
        raise ValueError("ct-tissue needs Hounsfield units (UnitOptions.needs_hu=True)")
    return hu_to_ab(hu)


def require_hu(meta) -> None:
    """Raise :class:`InputError` (one line naming the file) unless ``meta`` has Hounsfield units."""
    if meta.hu_available:
        return
    colour = (meta.photometric or "MONOCHROME2") not in ("MONOCHROME1", "MONOCHROME2")
    if meta.format == "dicom" and colour:  # e.g. a colorized output, which keeps its source's modality
        what = (f"a colour ({meta.photometric}) DICOM {meta.modality or 'image'}, whose pixels are colours, "
                "not Hounsfield units (an already colorized image?)")
    elif meta.format == "dicom":
        what = f"a DICOM {meta.modality or 'image without modality'}, not CT"
    else:
        what = f"a {(meta.codec or meta.format).upper()} image"
    raise InputError(meta.path, f"{NAME} colours Hounsfield units and this is {what}; "
                                "use a DICOM CT or a NIfTI volume in HU, or another model")


def colorize_hu(gray: np.ndarray, hu: np.ndarray) -> np.ndarray:
    """Display gray and HU of the same frames -> uint8 RGB.

    Args:
        gray: ``(H, W)`` or ``(F, H, W)`` display values in [0, 1] (the window applied).
        hu: Hounsfield units, same shape.

    Returns:
        ``(H, W, 3)`` or ``(F, H, W, 3)`` uint8 whose L* is the display gray's L* (within 1).
    """
    from .color import gray_to_lightness
    from .recombine import recombine

    g, h = np.asarray(gray, dtype=np.float32), np.asarray(hu, dtype=np.float32)
    if g.shape != h.shape or g.ndim not in (2, 3):
        raise ValueError(f"gray and hu must be the same (H, W) or (F, H, W) shape, got {g.shape} and {h.shape}")
    frames, hus = (g[None], h[None]) if g.ndim == 2 else (g, h)
    out = np.empty((*frames.shape, 3), dtype=np.uint8)
    for k in range(frames.shape[0]):  # one frame at a time keeps the float buffers small
        L = gray_to_lightness(torch.from_numpy(np.clip(frames[k], 0, 1))[None, None])
        out[k] = recombine(L, hu_to_ab(torch.from_numpy(hus[k])[None, None]))[0]
    return out[0] if g.ndim == 2 else out
