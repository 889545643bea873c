"""The plain GAN colorization recipe (Nazeri, Ng & Ebrahimi 2018).

"Image Colorization using Generative Adversarial Networks" trains a
convolutional encoder-decoder generator with an L1/MSE term plus an
adversarial term, against a DCGAN-style discriminator (Radford et al. 2016).

* ``gan_generator``: encoder of 4x4 stride-2 convs (BatchNorm, LeakyReLU 0.2)
  and decoder of 4x4 stride-2 transposed convs (BatchNorm, ReLU) with skip
  connections between mirrored levels, ending in tanh (a*b* / 110 in [-1, 1]).
* ``global_discriminator``: a DCGAN conv stack (4x4 stride-2 convs, BatchNorm
  except on the first, LeakyReLU 0.2) on (L*, a*b*), pooled to 4x4 and reduced by
  a 4x4 conv to one logit per image.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import Colorizer
from .discriminator import Discriminator
from .layers import down_bn_lrelu as _down
from .layers import up_bn_relu as _up
from .registry import register_model

__all__ = ["GANGenerator", "GlobalDiscriminator", "gan_generator", "global_discriminator"]


class GANGenerator(Colorizer):
    """Encoder-decoder generator with mirrored skips and a tanh output.

    Args:
        widths: encoder channels at 1/2, 1/4, ... (default 64, 128, 256, 512, 512);
            ``stride = 2**len(widths)``.
    """

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512, 512)) -> None:
        super().__init__()
        w = list(widths)
        if len(w) < 2:
            raise ValueError(f"widths needs at least 2 entries, got {w}")
        self.stride = 2 ** len(w)
        self.down = nn.ModuleList(_down(cin, cout, norm=i > 0)
                                  for i, (cin, cout) in enumerate(zip([1] + w[:-1], w)))
        # Decoder level i takes the previous decoder output (+ the mirrored skip) back to 1/2**i.
        self.up = nn.ModuleList()
        cin = w[-1]
        for i in reversed(range(len(w) - 1)):
            self.up.append(_up(cin, w[i]))
            cin = 2 * w[i]  # concatenated with the skip of the same size
        self.out = nn.Sequential(nn.ConvTranspose2d(cin, 2, 4, stride=2, padding=1), nn.Tanh())

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        h = x
        for block in self.down:
            h = block(h)
            skips.append(h)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            h = torch.cat([block(h), skip], dim=1)
        return self.out(h)  # (B, 2, H, W) normalised a*b* in [-1, 1]


class GlobalDiscriminator(Discriminator):
    """DCGAN-style conv stack -> one logit per image: ``(B, 1)``.

    Args:
        widths: channels of the stride-2 convs (default 64, 128, 256, 512).
    """

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__()
        w = list(widths)
        self.features = nn.Sequential(*(_down(cin, cout, norm=i > 0)
                                        for i, (cin, cout) in enumerate(zip([3] + w[:-1], w))))
        # Any input size: pool to the 4x4 map DCGAN's last conv expects.
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.classifier = nn.Conv2d(w[-1], 1, 4)

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x))).flatten(1)  # (B, 1) logits


@register_model(paper="Nazeri, Ng & Ebrahimi 2018, Image Colorization using GANs (generator)")
def gan_generator(widths: tuple[int, ...] | list[int] = (64, 128, 256, 512, 512)) -> GANGenerator:
    return GANGenerator(tuple(widths))


@register_model(kind="discriminator",
                paper="Nazeri et al. 2018 / Radford et al. 2016 DCGAN discriminator (one logit)")
def global_discriminator(widths: tuple[int, ...] | list[int] = (64, 128, 256, 512)) -> GlobalDiscriminator:
    return GlobalDiscriminator(tuple(widths))
