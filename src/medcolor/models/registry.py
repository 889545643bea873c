"""Model registry in the style of timm: ``@register_model``, ``create_model``, ``list_models``.

Each entry is a factory function ``fn(**kwargs) -> nn.Module``.  ``create_model``
records the name and keyword arguments on the instance (``model.medcolor_arch``)
so that :mod:`medcolor.weights` can save a self-describing config and rebuild the
model later from the file alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from ..errors import UnknownModelError

__all__ = ["register_model", "create_model", "list_models", "model_entry", "ModelEntry"]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    fn: Callable[..., nn.Module]
    kind: str  # "colorizer" (L* -> a*b*) or "discriminator" (L*, a*b* -> logits)
    paper: str  # short citation, shown by `medcolor models`
    exportable: bool
    hints: bool = False  # takes user hints as a second input (learned hints, Zhang et al. 2017)


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None,
                   kind: str = "colorizer", paper: str = "", exportable: bool | None = None,
                   hints: bool = False):
    """Register a model factory.  Usable bare (``@register_model``) or with options."""
    if kind not in ("colorizer", "discriminator"):
        raise ValueError(f"kind must be 'colorizer' or 'discriminator', got {kind!r}")

    def wrap(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__
        if key in _REGISTRY and _REGISTRY[key].fn is not f:
            raise ValueError(f"model {key!r} is already registered")
        export = (kind == "colorizer") if exportable is None else exportable
        _REGISTRY[key] = ModelEntry(key, f, kind, paper, export, hints)
        return f

    return wrap(fn) if fn is not None else wrap


def list_models(kind: str | None = None) -> list[str]:
    """Sorted names of registered models, optionally only one ``kind``.

    Importing this module imports :mod:`medcolor.models`, which registers every architecture.
    """
    return sorted(n for n, e in _REGISTRY.items() if kind is None or e.kind == kind)


def model_entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with ``kwargs``.

    Raises :class:`~medcolor.errors.UnknownModelError` listing the known names.
    """
    entry = model_entry(name)
    model = entry.fn(**kwargs)
    # Self-description used by medcolor.weights.save_model; `pretrained`/`weights`
    # only matter at build time and are not needed to rebuild from a state dict.
    arch_kwargs = {k: v for k, v in kwargs.items() if k not in ("pretrained", "weights")}
    model.medcolor_arch = {"name": name, "kwargs": arch_kwargs}
    return model
