"""Optional dependencies: import them on first use, with a one-line install hint.

The core package (reading, colorizing, training) needs only the libraries in
``pyproject.toml``'s ``dependencies``; exporting, serving, evaluation reports and
the multigrid solver live in extras.  ``require`` turns a missing extra into a
:class:`~medcolor.errors.MedcolorError` instead of a traceback.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MedcolorError

__all__ = ["require", "EXTRA_OF"]

# top-level module -> the extra that installs it
EXTRA_OF = {
    "onnx": "export",
    "onnxruntime": "export",
    "fastapi": "web",
    "uvicorn": "web",
    "multipart": "web",
    "matplotlib": "evaluate",
    "torchmetrics": "evaluate",
    "pyamg": "classic",
    "tensorboard": "train",
}


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise a MedcolorError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRA_OF.get(module.split(".")[0], "all")
        raise MedcolorError(f"{feature} needs the optional package {module.split('.')[0]!r}; "
                            f"install it with: pip install 'medcolor[{extra}]'") from None
