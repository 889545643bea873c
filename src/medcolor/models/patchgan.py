"""``patchgan``: the pix2pix 70x70 PatchGAN discriminator (Isola et al. 2017).

Conditioned on L*: it sees (L*, a*b*) and returns a map of logits, each judging
one 70x70 patch as real or fake.  With ``n_layers = 3``: a 4x4 stride-2 conv
(64, no norm), two 4x4 stride-2 convs (128, 256) and one 4x4 stride-1 conv (512),
each with BatchNorm and LeakyReLU 0.2, then a 4x4 stride-1 conv to 1 channel;
the output is ``(B, 1, H/8 - 2, W/8 - 2)`` for H, W multiples of 8.
"""
from __future__ import annotations

import torch
from torch import nn

from .discriminator import Discriminator
from .registry import register_model

__all__ = ["PatchGAN", "patchgan"]


class PatchGAN(Discriminator):
    """pix2pix ``NLayerDiscriminator``: ``(L, ab)`` -> ``(B, 1, h, w)`` patch logits.

    Args:
        ndf: filters of the first layer (64).
        n_layers: number of stride-2 layers (3 gives the 70x70 receptive field).
    """

    def __init__(self, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=False),
                       nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # (B, 1, h, w) patch logits


@register_model(kind="discriminator", paper="Isola et al. 2017, pix2pix 70x70 PatchGAN (n_layers=3)")
def patchgan(ndf: int = 64, n_layers: int = 3) -> PatchGAN:
    return PatchGAN(ndf, n_layers)
