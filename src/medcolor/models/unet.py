"""``unet``: the U-Net colorizer (Ronneberger, Fischer & Brox 2015).

Encoder blocks are a stride-2 3x3 conv + BatchNorm + ReLU, with 64 filters in
the first block doubling at each downsampling (64, 128, 256, 512).  The decoder
upsamples with 4x4 stride-2 transposed convolutions that halve the filters,
concatenates the encoder features of the same resolution (skip connection) and
mixes them with a 3x3 conv.  :class:`UNet` exposes :meth:`UNet.fuse` so that
``unet_fusion`` (Deep Koalarization) can inject a global embedding at the
bottleneck without duplicating the network.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import Colorizer
from .layers import conv_bn_relu, up_bn_relu
from .registry import register_model

__all__ = ["UNet", "unet"]


class _UpBlock(nn.Module):
    """Transposed conv x2 (halves channels), concatenate the skip, 3x3 conv + BN + ReLU."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.up = up_bn_relu(cin, cout)
        self.mix = conv_bn_relu(cout + cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.mix(torch.cat([self.up(x), skip], dim=1))


class UNet(Colorizer):
    """U-Net: stride-2 conv encoder, transposed-conv decoder, skips at every level.

    Args:
        widths: encoder channels at 1/2, 1/4, ... resolution (default 64, 128, 256, 512);
            ``stride = 2**len(widths)``.
    """

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__()
        w = list(widths)
        if len(w) < 2:
            raise ValueError(f"widths needs at least 2 entries, got {w}")
        self.widths = tuple(w)
        self.stride = 2 ** len(w)
        self.down = nn.ModuleList()
        cin = 1
        for c in w:
            self.down.append(conv_bn_relu(cin, c, stride=2))
            cin = c
        self.bottleneck = conv_bn_relu(w[-1], w[-1])
        # Decoder: from 1/2**n back to 1/2, skip from the encoder level of equal size.
        self.up = nn.ModuleList(_UpBlock(w[i + 1], w[i], w[i]) for i in reversed(range(len(w) - 1)))
        # Last step to full resolution; the skip is the input itself (1 channel).
        self.final = _UpBlock(w[0], 1, max(w[0] // 2, 16))
        self.head = nn.Conv2d(max(w[0] // 2, 16), 2, 1)

    def fuse(self, bottleneck: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Hook for global context at the bottleneck; the plain U-Net returns it unchanged.

        Args:
            bottleneck: ``(B, widths[-1], H/stride, W/stride)`` features.
            x: ``(B, 1, H, W)`` the normalised input L.
        """
        return bottleneck

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        h = x
        for block in self.down:
            h = block(h)
            skips.append(h)  # (B, w[i], H/2**(i+1), W/2**(i+1))
        h = self.fuse(self.bottleneck(h), x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            h = block(h, skip)
        h = self.final(h, x)  # (B, w[0]/2, H, W)
        return self.head(h)  # (B, 2, H, W) normalised a*b*


@register_model(paper="Ronneberger, Fischer & Brox 2015, U-Net (MICCAI)")
def unet(widths: tuple[int, ...] | list[int] = (64, 128, 256, 512)) -> UNet:
    return UNet(tuple(widths))
