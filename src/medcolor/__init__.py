"""medcolor: colorize grayscale images (photos, X-ray, CT, MR, histology, dermoscopy).

>>> import medcolor
>>> rgb = medcolor.colorize("chest.dcm")          # (H, W, 3) uint8
>>> net = medcolor.load_model("default")           # (B,1,H,W) L* -> (B,2,H,W) a*b*
"""
from __future__ import annotations

from ._version import __version__
from .errors import InputError, MedcolorError, UnknownModelError, UsageError
from .models import create_model, list_models, register_model
from .pipeline import colorize, colorize_gray
from .weights import list_pretrained, load_model, save_model

__all__ = ["__version__", "colorize", "colorize_gray", "load_model", "save_model", "create_model",
           "list_models", "register_model", "list_pretrained", "MedcolorError", "InputError",
           "UsageError", "UnknownModelError"]
