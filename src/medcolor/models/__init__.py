"""The model zoo: every architecture behind one registry.

>>> from medcolor.models import create_model, list_models
>>> net = create_model("unet")
"""
from __future__ import annotations

# Architecture modules register themselves on import.  Keep this list explicit
# (no star imports, no discovery by string matching).
from . import _architectures  # noqa: F401
from .base import Colorizer, pad_to_multiple
from .registry import ModelEntry, create_model, list_models, model_entry, register_model

__all__ = ["Colorizer", "pad_to_multiple", "ModelEntry", "create_model", "list_models",
           "model_entry", "register_model"]
