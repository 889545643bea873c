"""``fastcolor``: medcolor's own compact colorizer, built for CPU inference.

It combines the ideas the literature found to matter for colorization with a
budget of about 1 GFLOP at 256x256 (>= 20 images/s on a 2-core CPU):

* a U-Net-style encoder-decoder with skip connections (Ronneberger et al. 2015);
* a global branch that pools the deepest features over the whole image and
  modulates the bottleneck (feature-wise affine, as in Iizuka et al. 2016 and
  the fusion layer of Baldassarre et al. 2017), so the colour of a region can
  depend on what the whole scene is;
* dilated convolutions at the bottleneck for a large receptive field
  (Zhang et al. 2016);
* chroma predicted at 1/4 resolution and upsampled, then rejoined with the
  full-resolution L* by the pipeline (Zhang et al. 2016), which keeps the
  output's structure exactly that of the input.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Colorizer
from .layers import conv_bn_relu as _conv
from .registry import register_model

__all__ = ["FastColor", "fastcolor"]


class _Down(nn.Sequential):
    """Stride-2 conv then a 3x3 conv: halves the resolution."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(_conv(cin, cout, stride=2), _conv(cout, cout))


class _Up(nn.Module):
    """Bilinear x2, concatenate the skip, 3x3 conv."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv(cin + cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x, skip], dim=1))


class FastColor(Colorizer):
    """Compact U-Net with a global-context branch; chroma at 1/4 resolution.

    Args:
        widths: channels at 1/2, 1/4, 1/8, 1/16 and 1/32 resolution.
        dropout: dropout on the global feature vector (regularises small data sets).
    """

    stride = 32

    def __init__(self, widths: tuple[int, ...] = (24, 48, 96, 192, 256), dropout: float = 0.1) -> None:
        super().__init__()
        w = list(widths)
        if len(w) != 5:
            raise ValueError(f"widths must have 5 entries, got {len(w)}")
        self.stem = _conv(1, w[0], stride=2)  # 1/2
        self.down1 = _Down(w[0], w[1])  # 1/4
        self.down2 = _Down(w[1], w[2])  # 1/8
        self.down3 = _Down(w[2], w[3])  # 1/16
        self.down4 = nn.Sequential(_conv(w[3], w[4], stride=2), _conv(w[4], w[4], dilation=2))  # 1/32
        # Global branch: pooled deepest features -> per-channel scale and shift.
        self.global_mlp = nn.Sequential(
            nn.Linear(w[4], w[4]), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(w[4], 2 * w[4]),
        )
        self.bottleneck = _conv(w[4], w[4], dilation=2)
        self.up3 = _Up(w[4], w[3], w[3])  # 1/16
        self.up2 = _Up(w[3], w[2], w[2])  # 1/8
        self.up1 = _Up(w[2], w[1], w[1])  # 1/4
        self.head = nn.Conv2d(w[1], 2, 1)

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        e1 = self.down1(s)
        e2 = self.down2(e1)
        e3 = self.down3(e2)
        e4 = self.down4(e3)  # (B, C4, H/32, W/32)
        scale, shift = self.global_mlp(e4.mean(dim=(2, 3))).chunk(2, dim=1)  # (B, C4) each
        e4 = e4 * (1 + scale[..., None, None]) + shift[..., None, None]
        b = self.bottleneck(e4)
        d = self.up1(self.up2(self.up3(b, e3), e2), e1)
        return self.head(d)  # (B, 2, H/4, W/4) normalised a*b*


@register_model(paper="medcolor (this project): compact U-Net + global context, chroma at 1/4 res")
def fastcolor(widths: tuple[int, ...] | list[int] = (24, 48, 96, 192, 256), dropout: float = 0.1) -> FastColor:
    return FastColor(tuple(widths), dropout)
