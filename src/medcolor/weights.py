"""Saving and loading models as safetensors plus a JSON architecture config.

A saved model is two files side by side::

    NAME.safetensors   the state dict (tensors only; loading never unpickles)
    NAME.json          {"architecture": "unet", "kwargs": {...}, "meta": {...}}

The same config is also written into the safetensors header metadata, so a lone
``.safetensors`` file still rebuilds its model.

``resolve_model(spec)`` accepts:
    * a shipped model name (``photo``, ``default`` ...) from ``medcolor/weights/``;
    * a ``.safetensors`` or ``.json`` path;
    * a directory holding ``model.safetensors`` + ``model.json`` (a training run
      directory exports its current weights there).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .card import ModelCard
from .errors import UnknownModelError, WeightsMismatchError
from .fileio import atomic_write

__all__ = ["save_model", "load_model", "load_weights_into", "read_config", "resolve_model", "list_pretrained",
           "PRETRAINED_DIR", "ALIASES", "atomic_write", "load_file_state"]

PRETRAINED_DIR = Path(__file__).with_name("weights")
# Alias -> shipped model name.
ALIASES = {"default": "photo"}


def save_model(model: nn.Module, path: str | Path, meta: dict | None = None,
               architecture: dict | None = None, card: ModelCard | None = None) -> Path:
    """Write ``path`` (``.safetensors``) and its ``.json`` card; returns the safetensors path.

    ``card`` is the model's :class:`~medcolor.card.ModelCard`; without one, a card
    is built from ``architecture`` (default ``model.medcolor_arch`` set by
    ``create_model``) and the card fields in ``meta``.
    """
    from safetensors.torch import save_file

    if card is None:
        arch = architecture or getattr(model, "medcolor_arch", None)
        if arch is None:
            raise ValueError("model has no architecture record; build it with medcolor.models.create_model")
        card = ModelCard.from_config({"architecture": arch["name"], "kwargs": arch["kwargs"], "meta": meta or {}})
    path = Path(path).with_suffix(".safetensors")
    config = card.to_config()
    # safetensors refuses shared or non-contiguous storage; clone to be safe.
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(path, lambda p: save_file(state, str(p), metadata={"medcolor": json.dumps(config)}))
    atomic_write(path.with_suffix(".json"), lambda p: p.write_text(json.dumps(config, indent=2) + "\n"))
    return path


def list_pretrained() -> list[str]:
    """Names of the models shipped inside the package."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.safetensors"))


def resolve_model(spec: str | os.PathLike) -> Path:
    """Turn a model name or path into the ``.safetensors`` file to load."""
    s = str(spec)
    name = ALIASES.get(s, s)
    shipped = PRETRAINED_DIR / f"{name}.safetensors"
    if shipped.is_file():
        return shipped
    p = Path(s).expanduser()
    if p.is_dir():
        for cand in (p / "model.safetensors", p / "export" / "model.safetensors"):
            if cand.is_file():
                return cand
        raise UnknownModelError(f"{p}: directory holds no model.safetensors (is the run checkpointed yet?)")
    if p.suffix == ".json" and p.with_suffix(".safetensors").is_file():
        return p.with_suffix(".safetensors")
    if p.is_file() and p.suffix == ".safetensors":
        return p
    if p.is_file():
        raise UnknownModelError(f"{p}: not a .safetensors model file (pickled checkpoints are never loaded)")
    known = ", ".join(sorted(set(list_pretrained()) | set(ALIASES)))
    raise UnknownModelError(f"unknown model {s!r}: not a shipped model ({known}) nor an existing path")


def read_config(path: str | Path) -> dict:
    """The architecture config of a saved model (sidecar JSON, else safetensors metadata)."""
    from safetensors import safe_open

    path = Path(path)
    side = path.with_suffix(".json")
    if side.is_file():
        return json.loads(side.read_text())
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if "medcolor" not in meta:
        raise UnknownModelError(f"{path}: no medcolor config (neither {side.name} nor safetensors metadata)")
    return json.loads(meta["medcolor"])


def load_file_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict stored in a ``.safetensors`` file (on CPU; never unpickles)."""
    from safetensors.torch import load_file

    return load_file(str(path), device="cpu")


def load_weights_into(model: nn.Module, spec: str | os.PathLike, allow_missing: bool = False,
                      skip: tuple[str, ...] = ()) -> ModelCard:
    """Load the weights saved as ``spec`` into ``model`` (same architecture and arguments).

    The one weight loader: :func:`load_model` and fine-tuning (``model.init``) both use it.
    Returns the saved model's card; raises :class:`WeightsMismatchError` in one line when the
    file holds another architecture or tensors that do not fit.  ``allow_missing`` (fine-tuning
    only) keeps the initial values of parameters the file lacks, e.g. a module added since;
    ``skip`` (fine-tuning only) leaves out the file's tensors whose names start with one of
    these prefixes, e.g. a module whose design changed since.
    """
    path = resolve_model(spec)
    card = ModelCard.from_config(read_config(path))
    _load_state(model, path, card, allow_missing, skip)
    return card


def _load_state(model: nn.Module, path: Path, card: ModelCard, allow_missing: bool = False,
                skip: tuple[str, ...] = ()) -> None:
    arch = getattr(model, "medcolor_arch", {}).get("name", card.architecture)
    if arch != card.architecture:
        raise WeightsMismatchError(f"{path}: holds a {card.architecture!r} model, not {arch!r}")
    state = {k: v for k, v in load_file_state(path).items() if not k.startswith(skip)}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatch: other arguments than these weights were saved with
        raise WeightsMismatchError(f"{path}: weights do not match architecture {card.architecture!r}: "
                                f"{str(exc).splitlines()[-1].strip()}") from None
    if (missing and not allow_missing) or unexpected:
        raise WeightsMismatchError(f"{path}: weights do not match architecture {card.architecture!r} "
                                f"(missing {len(missing)}, unexpected {len(unexpected)} tensors)")


def load_model(spec: str | os.PathLike = "default", device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model from its card and load its safetensors weights; returns it in eval mode.

    The result maps ``(B, 1, H, W)`` L* in [0, 100] to ``(B, 2, H, W)`` a*b* in Lab units.
    """
    from .models import create_model

    path = resolve_model(spec)
    card = ModelCard.from_config(read_config(path))
    model = create_model(card.architecture, **card.kwargs)
    _load_state(model, path, card)
    model.medcolor_card = card
    model.medcolor_meta = dict(card.to_config()["meta"], source=str(path))
    model.medcolor_name = str(spec) if str(spec) in ALIASES or path.parent == PRETRAINED_DIR else path.stem
    return model.to(device).eval()
