"""Loss functions for colorization training.

Shapes: predictions and targets are ``(B, 2, H, W)`` a*b* on the network's
normalised scale (``ab / AB_SCALE``) unless stated; images for the perceptual
loss are ``(B, 3, H, W)`` sRGB in [0, 1]; discriminator logits are any shape.

* pixel losses: :func:`l1_loss`, :func:`mse_loss`, :func:`huber_loss`;
* :class:`PerceptualLoss`: L1 between VGG-16/19 conv features (torchvision),
  weights from a local file or torchvision's cache, never downloaded;
* :class:`GANLoss`: vanilla (BCE with logits), LSGAN and hinge objectives;
* :func:`rebalanced_cross_entropy`: multinomial CE over colour bins with
  per-pixel class-rebalancing weights (Zhang et al. 2016);
* :func:`total_variation`: smoothness prior on predicted chroma.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MedcolorError
from .config import GAN_MODES, VGG_ARCHS, PerceptualConfig

__all__ = ["l1_loss", "mse_loss", "huber_loss", "total_variation", "rebalanced_cross_entropy",
           "GANLoss", "PerceptualLoss", "VGG_FILES"]

# torchvision's ImageNet weight files (what torch.hub caches under checkpoints/).
VGG_FILES = {"vgg16": "vgg16-397923af.pth", "vgg19": "vgg19-dcbb9e9d.pth"}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target)


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


def huber_loss(pred: torch.Tensor, target: torch.Tensor, delta: float = 0.1) -> torch.Tensor:
    """Smooth-L1 (Huber) loss: quadratic below ``delta``, linear above; robust to multimodal colours."""
    return F.huber_loss(pred, target, delta=delta)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels of ``(B, C, H, W)``."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    return dh + dw


def rebalanced_cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                             weights: torch.Tensor | None = None) -> torch.Tensor:
    """Multinomial cross-entropy with per-pixel rebalancing.

    Args:
        logits: ``(B, Q, h, w)`` unnormalised scores over Q colour bins.
        target: ``(B, Q, h, w)`` soft-encoded target distribution (sums to 1 over Q).
        weights: ``(B, 1, h, w)`` per-pixel rebalancing weight (rare colours weigh more),
            or ``None`` for plain cross-entropy.
    """
    logp = F.log_softmax(logits.float(), dim=1)
    ce = -(target * logp).sum(dim=1, keepdim=True)  # (B, 1, h, w)
    if weights is not None:
        ce = ce * weights
    return ce.mean()


class GANLoss(nn.Module):
    """Adversarial objectives on discriminator logits.

    ``mode``: ``vanilla`` (BCEWithLogits, Goodfellow et al.; pix2pix), ``lsgan``
    (least squares, Mao et al.) or ``hinge`` (Lim & Ye; SAGAN).
    """

    def __init__(self, mode: str = "vanilla") -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"unknown GAN mode {mode!r}; choose one of {', '.join(GAN_MODES)}")
        self.mode = mode

    def generator(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss for the generator given D's logits on generated samples."""
        x = fake_logits.float()
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(x, torch.ones_like(x))
        if self.mode == "lsgan":
            return F.mse_loss(x, torch.ones_like(x))
        return -x.mean()

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss for the discriminator (mean of its real and fake terms)."""
        r, f = real_logits.float(), fake_logits.float()
        if self.mode == "vanilla":
            return 0.5 * (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                          + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
        if self.mode == "lsgan":
            return 0.5 * (F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f)))
        return 0.5 * (F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean())


def _vgg_state_dict(arch: str, weights: str) -> dict[str, torch.Tensor] | None:
    """Load torchvision VGG weights from a path or the torch hub cache; ``None`` for ``random``."""
    if weights == "random":
        return None
    if weights == "imagenet":
        path = Path(torch.hub.get_dir()) / "checkpoints" / VGG_FILES[arch]
        if not path.is_file():
            raise MedcolorError(
                f"perceptual loss needs ImageNet {arch} weights, not found at {path} (offline: no download); "
                f"pass a local file with losses.perceptual.weights=/path/to/{VGG_FILES[arch]}")
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise MedcolorError(f"{path}: VGG weights file not found (losses.perceptual.weights)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:  # corrupt or foreign
        raise MedcolorError(f"{path}: cannot read VGG weights ({type(exc).__name__}: {exc})") from None


def _vgg_features(cfg: PerceptualConfig) -> nn.Sequential:
    """torchvision's VGG feature stack ("D" = VGG-16, "E" = VGG-19); the classifier is never built."""
    from torchvision.models.vgg import cfgs, make_layers

    if cfg.arch not in VGG_FILES:
        raise ValueError(f"unknown VGG {cfg.arch!r} (TrainConfig.validate admits only {VGG_ARCHS})")
    state = _vgg_state_dict(cfg.arch, cfg.weights)
    features = make_layers(cfgs["D" if cfg.arch == "vgg16" else "E"])
    if state is not None:
        feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        try:
            features.load_state_dict(feats)
        except RuntimeError:
            raise MedcolorError(f"{cfg.weights}: not torchvision {cfg.arch} weights") from None
    return features


def _efficientnet_features(cfg: PerceptualConfig) -> nn.Sequential:
    """Stem and blocks of an ImageNet EfficientNet-Lite (the effcolor encoder), as one sequence."""
    import timm

    from ..models.pretrained import load_pretrained_encoder

    net = timm.create_model(cfg.arch, pretrained=False)
    if cfg.weights != "random":
        load_pretrained_encoder(net, cfg.arch.split("_")[1], None if cfg.weights == "imagenet" else cfg.weights)
    return nn.Sequential(net.conv_stem, net.bn1, *net.blocks)


class PerceptualLoss(nn.Module):
    """L1 distance between frozen ImageNet features (VGG or EfficientNet-Lite) of two sRGB images.

    Inputs are ``(B, 3, H, W)`` in [0, 1].

    ``cfg.weights == "random"`` uses an untrained VGG: meant only for tests that
    must run offline; real training needs ImageNet weights.
    """

    def __init__(self, cfg: PerceptualConfig) -> None:
        super().__init__()
        if cfg.arch.startswith("efficientnet_lite"):
            features, offset, mean, std = _efficientnet_features(cfg), 2, (0.5,) * 3, (0.5,) * 3
        else:
            features, offset, mean, std = _vgg_features(cfg), 0, _IMAGENET_MEAN, _IMAGENET_STD
        self.layers = sorted(int(i) + offset for i in cfg.layers)
        if not self.layers or self.layers[0] < 0 or self.layers[-1] >= len(features):
            raise MedcolorError(f"losses.perceptual.layers must be indices in 0..{len(features) - 1}")
        self.features = features[: self.layers[-1] + 1].eval()
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False  # a captured feature must not be overwritten by the next layer
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> "PerceptualLoss":
        super().train(mode)
        self.features.eval()  # frozen feature extractor
        return self

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], (x - self.mean) / self.std
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self.layers:
                out.append(h)
        return out

    def forward(self, pred_rgb: torch.Tensor, target_rgb: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            tf = self._feats(target_rgb)
        pf = self._feats(pred_rgb)
        return sum(F.l1_loss(p, t) for p, t in zip(pf, tf)) / len(pf)
