"""Model registry in the style of timm: ``@register_model``, ``create_model``, ``list_models``.

Each entry is a factory function ``fn(**kwargs) -> nn.Module`` and a
:class:`Capabilities` record: what a model of that architecture can do (take
hints, predict a bin distribution and a confidence, its temperature).  The
record is data, checked against the model class when the factory is registered
(and against the first instance built), so the rest of medcolor never guesses a
model's abilities from attribute names: it calls :func:`model_capabilities`.

``create_model`` records the name and keyword arguments on the instance
(``model.medcolor_arch``) so that :mod:`medcolor.weights` can save a
self-describing config and rebuild the model later from the file alone.
"""
from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass
from typing import Callable

from torch import nn

from ..errors import UnknownModelError

__all__ = ["register_model", "create_model", "list_models", "model_entry", "ModelEntry", "Capabilities",
           "model_capabilities", "declare_capabilities", "DEFAULT_WORKING_SIZE"]

#: Working size (short side, pixels) of a model whose card states none.
DEFAULT_WORKING_SIZE = 256


@dataclass(frozen=True)
class Capabilities:
    """What a model can do.

    Attributes:
        hints: takes a hint map as a second input (``forward(L, hints)``, learned hints, Zhang et al. 2017).
        bins: predicts a distribution over a*b* bins (``logits``/``decode`` of
            :class:`~medcolor.models.ab_bins.BinClassifier`): trainable with cross-entropy.
        confidence: ``predict(L, hints=None) -> (ab, confidence)`` gives a confidence map
            (1 - normalised entropy of the predicted distribution).
        temperature: annealed-mean temperature of a bin classifier (None: a regression model).
        confidence_power: chroma shrinkage by confidence of a bin classifier's decoding (None: a regression model).
        rebalance: class-rebalancing mix of a bin classifier (None: the paper's 0.5 applies).
        working_size: short side the model colorizes at (None: native size); from the model's card.
        hint_method: how ``auto`` applies user hints: ``learned`` or ``learned+levin`` when the trainer's
            hint sweep (in the card's calibration) found the network's own hint input better than Levin
            refinement, else ``levin``.
    """

    hints: bool = False
    bins: bool = False
    confidence: bool = False
    temperature: float | None = None
    confidence_power: float | None = None
    rebalance: float | None = None
    working_size: int | None = DEFAULT_WORKING_SIZE
    hint_method: str = "levin"

    def replace(self, **changes) -> Capabilities:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    fn: Callable[..., nn.Module]
    kind: str  # "colorizer" (L* -> a*b*) or "discriminator" (L*, a*b* -> logits)
    paper: str  # short citation, shown by `medcolor models`
    exportable: bool
    capabilities: Capabilities = Capabilities()

    @property
    def hints(self) -> bool:
        """Takes user hints as a second input (kept for ``medcolor models``)."""
        return self.capabilities.hints


_REGISTRY: dict[str, ModelEntry] = {}


def _init_default(cls: type, name: str) -> float | None:
    param = inspect.signature(cls.__init__).parameters.get(name)
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return float(param.default)


def _class_capabilities(cls: type) -> Capabilities:
    """The capabilities a model class implements, read from its interface (the one place that looks)."""
    from .ab_bins import BinClassifier

    bins = issubclass(cls, BinClassifier)
    forward = inspect.signature(cls.forward).parameters
    return Capabilities(hints="hints" in forward, bins=bins,
                        confidence=bins and callable(getattr(cls, "predict", None)),
                        temperature=_init_default(cls, "T") if bins else None,
                        rebalance=_init_default(cls, "rebalance") if bins else None)


def _check(key: str, declared: dict, found: Capabilities) -> Capabilities:
    """``found`` with the declared flags checked against it; a declaration the class cannot honour is an error."""
    for flag, value in declared.items():
        if value is not None and bool(value) != getattr(found, flag):
            have = "does not implement" if value else "implements"
            raise ValueError(f"model {key!r} is registered with {flag}={value} but its class {have} it")
    return found


def _return_class(f: Callable) -> type | None:
    try:
        ret = typing.get_type_hints(f).get("return")
    except (NameError, TypeError):  # an annotation that does not resolve at registration time
        return None
    return ret if isinstance(ret, type) and issubclass(ret, nn.Module) else None


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None,
                   kind: str = "colorizer", paper: str = "", exportable: bool | None = None,
                   hints: bool | None = None, confidence: bool | None = None):
    """Register a model factory.  Usable bare (``@register_model``) or with options.

    ``hints`` and ``confidence`` declare capabilities; left as None they are read from the
    factory's return class (its annotation).  Either way they are checked against that
    class here and against the first model built, so a wrong declaration fails at once.
    """
    if kind not in ("colorizer", "discriminator"):
        raise ValueError(f"kind must be 'colorizer' or 'discriminator', got {kind!r}")
    declared = {"hints": hints, "confidence": confidence}

    def wrap(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__
        if key in _REGISTRY and _REGISTRY[key].fn is not f:
            raise ValueError(f"model {key!r} is already registered")
        export = (kind == "colorizer") if exportable is None else exportable
        cls = _return_class(f)
        caps = (_check(key, declared, _class_capabilities(cls)) if cls is not None
                else Capabilities(hints=bool(hints), confidence=bool(confidence)))
        _REGISTRY[key] = ModelEntry(key, f, kind, paper, export, caps)
        if cls is None:
            _unchecked.add(key)
        else:
            _unchecked.discard(key)
        return f

    return wrap(fn) if fn is not None else wrap


_unchecked: set[str] = set()  # entries whose class is known only once a model is built


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
    if name in _unchecked and entry.kind == "colorizer":  # first build: check the declaration on the instance
        declared = {"hints": entry.capabilities.hints, "confidence": entry.capabilities.confidence}
        _REGISTRY[name] = dataclasses.replace(entry, capabilities=_check(name, declared,
                                                                         _class_capabilities(type(model))))
        _unchecked.discard(name)
    # Self-description used by medcolor.weights.save_model; `pretrained`/`weights`
    # only matter at build time and are not needed to rebuild from a state dict.
    arch_kwargs = {k: v for k, v in kwargs.items() if k not in ("pretrained", "weights")}
    model.medcolor_arch = {"name": name, "kwargs": arch_kwargs}
    return model


def declare_capabilities(model: nn.Module, capabilities: Capabilities) -> nn.Module:
    """Attach ``capabilities`` to a model built outside the registry (checked against its class); returns it."""
    found = _class_capabilities(type(model))
    _check(type(model).__name__, {"hints": capabilities.hints, "confidence": capabilities.confidence}, found)
    model.medcolor_capabilities = capabilities
    return model


def model_capabilities(model: nn.Module) -> Capabilities:
    """What ``model`` can do: its registry entry's record, with its card's working size and its own
    temperature and rebalancing (which training and calibration may change).

    A module built outside the registry counts as a plain colorizer (``forward(L) -> ab``) at
    the default working size unless :func:`declare_capabilities` says otherwise.
    """
    declared = getattr(model, "medcolor_capabilities", None)
    arch = getattr(model, "medcolor_arch", None)
    if declared is not None:
        caps = declared
    elif arch is not None and arch.get("name") in _REGISTRY:
        caps = _REGISTRY[arch["name"]].capabilities
    else:
        caps = Capabilities()
    card = getattr(model, "medcolor_card", None)
    if card is not None:
        caps = caps.replace(working_size=card.working_size, hint_method=card.hint_method)
    if caps.bins:
        caps = caps.replace(temperature=float(getattr(model, "T", caps.temperature)),
                            confidence_power=float(getattr(model, "confidence_power", 0.0)),
                            rebalance=getattr(model, "rebalance", caps.rebalance))
    return caps
