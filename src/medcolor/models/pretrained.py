"""Loading pretrained encoder weights (torchvision / timm) online or from a local file.

``create_model(name, pretrained=True)`` downloads through the standard torchvision
and timm weight APIs; ``create_model(name, weights=PATH)`` reads a local file
instead.  Local files are either safetensors or a torchvision ``.pth`` state dict,
read with ``torch.load(weights_only=True)`` (never a full unpickle).  When the
download fails (offline machine), the error says exactly how to pass a local file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import InputError, MedcolorError

__all__ = ["read_state_dict", "download_or_explain", "rgb_to_gray_conv", "load_encoder_state"]


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a local weights file (``.safetensors``, or ``.pth``/``.pt`` state dict)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(p, "weights file not found")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(p), device="cpu")
    try:
        obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, or one that needs a full unpickle
        raise InputError(p, f"not a readable tensor state dict ({type(exc).__name__}: {exc})") from None
    # Training checkpoints often nest the weights one level down.
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(p, "does not hold a state dict of tensors")
    return obj


def download_or_explain(fetch: Callable[[], nn.Module], arch: str, filename: str) -> nn.Module:
    """Run ``fetch()`` (which downloads weights); turn network failures into one clear line.

    Args:
        fetch: builds the pretrained network, downloading weights if not cached.
        arch: the medcolor architecture name, for the message.
        filename: the usual name of the weights file, for the message.
    """
    try:
        return fetch()
    except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError; hub errors vary
        raise MedcolorError(
            f"could not download pretrained weights for {arch} ({type(exc).__name__}: {exc}); "
            f"offline, pass a local file: create_model('{arch}', weights='/path/to/{filename}') "
            f"or `medcolor train ... model.weights=/path/to/{filename}`") from None


def rgb_to_gray_conv(weight: torch.Tensor) -> torch.Tensor:
    """``(C_out, 3, k, k)`` RGB filters -> ``(C_out, 1, k, k)``: their sum responds to gray as RGB did."""
    if weight.dim() != 4:
        raise ValueError(f"expected a conv weight (C_out, C_in, k, k), got {tuple(weight.shape)}")
    return weight.sum(dim=1, keepdim=True) if weight.shape[1] == 3 else weight


def load_encoder_state(module: nn.Module, state: dict[str, torch.Tensor], source: str,
                       first_conv: str | None = None, ignore_prefixes: tuple[str, ...] = ()) -> None:
    """Load ``state`` into ``module``; adapt ``first_conv`` from RGB to 1 channel.

    Keys starting with ``ignore_prefixes`` (e.g. the classifier ``fc.``) are dropped.
    Raises :class:`MedcolorError` naming ``source`` when tensors are missing or mis-shaped.
    """
    state = {k: v for k, v in state.items() if not k.startswith(ignore_prefixes)}
    if first_conv is not None and first_conv in state:
        state[first_conv] = rgb_to_gray_conv(state[first_conv])
    own = module.state_dict()
    bad = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    missing = [k for k in own if k not in state]
    if bad or missing:
        detail = f"shape mismatch for {bad[0]}" if bad else f"missing {missing[0]}"
        raise MedcolorError(f"{source}: weights do not fit this encoder ({detail}; "
                            f"{len(bad)} mismatched, {len(missing)} missing)")
    module.load_state_dict({k: v for k, v in state.items() if k in own})
