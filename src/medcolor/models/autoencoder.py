"""``autoencoder``: the plain convolutional encoder-decoder baseline.

Encoder of stride-2 convolutions, a bottleneck, and a decoder of transposed
convolutions, with no skip connections: everything the decoder knows passes
through the 1/16-resolution bottleneck.  This is the basic autoencoder of
Saini et al. 2024, "Colorizing Multi-Modal Medical Data: An Autoencoder-based
Approach for Enhanced Anatomical Information in X-ray Images" (EAI Endorsed
Trans. Pervasive Health Technol., doi:10.4108/eetpht.10.5540), the baseline of
the chest X-ray colorization literature, kept as the reference point that skip
connections and global context improve upon.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import Colorizer
from .layers import conv_bn_relu, up_bn_relu  # re-exported for older importers
from .registry import register_model

__all__ = ["AutoEncoder", "autoencoder", "conv_bn_relu", "up_bn_relu"]


class AutoEncoder(Colorizer):
    """Encoder (stride-2 convs) -> bottleneck -> decoder (transposed convs); no skips.

    Args:
        widths: channels after each of the downsampling steps (the last is the
            bottleneck width); ``len(widths)`` downsamplings, so ``stride = 2**len``.
    """

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__()
        w = list(widths)
        if not w:
            raise ValueError("widths must not be empty")
        self.stride = 2 ** len(w)
        enc, cin = [], 1
        for c in w:
            enc += [conv_bn_relu(cin, c, stride=2), conv_bn_relu(c, c)]
            cin = c
        self.encoder = nn.Sequential(*enc)
        self.bottleneck = conv_bn_relu(w[-1], w[-1])
        dec_widths = w[-2::-1] + [max(w[0] // 2, 16)]  # e.g. 256, 128, 64, 32
        dec, cin = [], w[-1]
        for c in dec_widths:
            dec += [up_bn_relu(cin, c), conv_bn_relu(c, c)]
            cin = c
        self.decoder = nn.Sequential(*dec)
        self.head = nn.Conv2d(cin, 2, 1)

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        z = self.bottleneck(self.encoder(x))  # (B, widths[-1], H/stride, W/stride)
        return self.head(self.decoder(z))  # (B, 2, H, W) normalised a*b*


@register_model(paper="Saini et al. 2024, autoencoder baseline for chest X-ray colorization (EAI PHAT)")
def autoencoder(widths: tuple[int, ...] | list[int] = (64, 128, 256, 512)) -> AutoEncoder:
    return AutoEncoder(tuple(widths))
