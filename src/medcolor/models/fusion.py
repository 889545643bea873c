"""``unet_fusion``: U-Net with a global Inception-ResNet-v2 embedding (Deep Koalarization).

Baldassarre, Morin & Rodes-Guirao 2017, "Deep Koalarization: Image
Colorization using CNNs and Inception-ResNet-v2".  The gray image, repeated to
3 channels and resized to ``embed_size`` (299 in the paper), goes through
Inception-ResNet-v2 (timm ``inception_resnet_v2``) whose pooled 1536-d feature
vector describes the whole scene.  The vector is tiled over the U-Net bottleneck
grid, concatenated with the bottleneck features and mixed by a 1x1 conv + ReLU
(the "fusion layer").  As in the paper the embedding network is frozen by
default (``freeze_embed=True``): it stays in eval mode and gets no gradients.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .pretrained import download_or_explain, load_encoder_state, read_state_dict
from .registry import register_model
from .unet import UNet

__all__ = ["UNetFusion", "unet_fusion", "build_inception_resnet_v2"]


def build_inception_resnet_v2(pretrained: bool = False, weights: str | None = None) -> nn.Module:
    """timm Inception-ResNet-v2 without classifier: ``(B, 3, S, S)`` -> ``(B, 1536)``.

    ``pretrained`` downloads ImageNet weights through timm; ``weights`` loads a
    local safetensors/.pth file instead.  Needs ``S >= 75``.
    """
    import timm

    if pretrained and weights is None:
        return download_or_explain(
            lambda: timm.create_model("inception_resnet_v2", pretrained=True, num_classes=0),
            "unet_fusion", "inception_resnet_v2.safetensors")
    net = timm.create_model("inception_resnet_v2", pretrained=False, num_classes=0)
    if weights is not None:
        load_encoder_state(net, read_state_dict(weights), str(weights), ignore_prefixes=("classif.",))
    return net


class UNetFusion(UNet):
    """U-Net whose bottleneck is fused with a global Inception-ResNet-v2 embedding.

    Args:
        widths: U-Net encoder widths (as :class:`~medcolor.models.unet.UNet`).
        embed_size: side of the square image the embedding network sees (paper: 299; >= 75).
        freeze_embed: keep the embedding network frozen (no gradients, eval mode).
        embed: the embedding network ``(B, 3, S, S)`` -> ``(B, D)``; default a
            randomly initialised Inception-ResNet-v2.
    """

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512), embed_size: int = 299,
                 freeze_embed: bool = True, embed: nn.Module | None = None) -> None:
        super().__init__(widths)
        if embed_size < 75:
            raise ValueError(f"embed_size must be >= 75 for Inception-ResNet-v2, got {embed_size}")
        self.embed_size = int(embed_size)
        self.freeze_embed = bool(freeze_embed)
        self.embed = embed if embed is not None else build_inception_resnet_v2()
        dim = getattr(self.embed, "num_features", 1536)
        if self.freeze_embed:
            self.embed.requires_grad_(False)
            self.embed.eval()
        c = self.widths[-1]
        self.fusion = nn.Sequential(nn.Conv2d(c + dim, c, 1), nn.ReLU(inplace=True))

    def train(self, mode: bool = True) -> "UNetFusion":
        super().train(mode)
        if self.freeze_embed:
            self.embed.eval()  # frozen BatchNorm statistics, as a fixed feature extractor
        return self

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` normalised L in [-1, 1] -> ``(B, D)`` global embedding.

        Inception expects RGB scaled to [-1, 1]; normalised L* is already on that scale.
        """
        rgb = F.interpolate(x, size=(self.embed_size, self.embed_size), mode="bilinear",
                            align_corners=False).expand(-1, 3, -1, -1)
        if self.freeze_embed:
            with torch.no_grad():
                return self.embed(rgb)
        return self.embed(rgb)

    def fuse(self, bottleneck: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        g = self.embedding(x)  # (B, D)
        tiled = g[:, :, None, None].expand(-1, -1, *bottleneck.shape[-2:])  # (B, D, h, w)
        return self.fusion(torch.cat([bottleneck, tiled], dim=1))  # (B, widths[-1], h, w)


@register_model(paper="Baldassarre et al. 2017, Deep Koalarization (U-Net + Inception-ResNet-v2 fusion)")
def unet_fusion(widths: tuple[int, ...] | list[int] = (64, 128, 256, 512), embed_size: int = 299,
                freeze_embed: bool = True, pretrained: bool = False, weights: str | None = None) -> UNetFusion:
    embed = build_inception_resnet_v2(pretrained=pretrained, weights=weights)
    return UNetFusion(tuple(widths), embed_size, freeze_embed, embed)
