"""``eccv16``: Colorful Image Colorization (Zhang, Isola & Efros, ECCV 2016).

Eight conv blocks, each ending in BatchNorm; blocks 5 and 6 use dilation 2
(the a trous layers that widen the receptive field at 1/8 resolution).  Block 8
upsamples to 1/4 resolution and a 1x1 conv predicts logits over the Q = 313
in-gamut a*b* bins (:mod:`medcolor.models.ab_bins`).  ``forward`` decodes them
by annealed mean (T = 0.38) and the base class upsamples to full resolution.

Training uses :meth:`ECCV16.logits` with the soft-encoded targets and the
class-rebalancing weights stored in the ``class_weights`` buffer, so that they
travel inside the safetensors file with the model.
"""
from __future__ import annotations

import torch
from torch import nn

from ..color import AB_SCALE, normalize_l
from .ab_bins import BinClassifier
from .base import Colorizer, pad_to_multiple
from .registry import register_model

__all__ = ["ECCV16", "eccv16"]


def _block(cin: int, cout: int, n: int, stride_last: int = 1, dilation: int = 1) -> nn.Sequential:
    """``n`` 3x3 conv + ReLU (the last with ``stride_last``), then BatchNorm (as in the paper)."""
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride=stride, padding=dilation,
                             dilation=dilation), nn.ReLU(inplace=True)]
    layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers)


class ECCV16(BinClassifier, Colorizer):
    """The ECCV 2016 classification colorizer; logits at 1/4 resolution.

    Args:
        width: channels of blocks 4-7 (512 in the paper); blocks 1-3 use width/8,
            width/4, width/2 and block 8 width/2.
        T: annealed-mean temperature.
    """

    stride = 8

    def __init__(self, width: int = 512, T: float = 0.38, confidence_power: float = 0.0) -> None:
        super().__init__()
        c1, c2, c3 = width // 8, width // 4, width // 2
        self.T, self.confidence_power = float(T), float(confidence_power)
        bins = self._init_bins()
        self.model1 = _block(1, c1, 2, stride_last=2)  # 1/2
        self.model2 = _block(c1, c2, 2, stride_last=2)  # 1/4
        self.model3 = _block(c2, c3, 3, stride_last=2)  # 1/8
        self.model4 = _block(c3, width, 3)
        self.model5 = _block(width, width, 3, dilation=2)
        self.model6 = _block(width, width, 3, dilation=2)
        self.model7 = _block(width, width, 3)
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(width, c3, 4, stride=2, padding=1), nn.ReLU(inplace=True),  # 1/4
            nn.Conv2d(c3, c3, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c3, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, bins.shape[0], 1),
        )

    def logits_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` normalised L (H, W multiples of 8) -> ``(B, Q, H/4, W/4)`` logits."""
        h = self.model3(self.model2(self.model1(x)))
        h = self.model7(self.model6(self.model5(self.model4(h))))
        return self.model8(h)

    def logits(self, L: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` L* in [0, 100] -> ``(B, Q, ceil(H/4), ceil(W/4))`` bin logits."""
        x, (h, w) = pad_to_multiple(normalize_l(L), self.stride)
        return self.logits_normalized(x)[..., : -(-h // 4), : -(-w // 4)]

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        ab = self.decode(self.logits_normalized(x), need_confidence=False)[0]  # (B, 2, H/4, W/4) Lab units
        return ab / AB_SCALE


@register_model(paper="Zhang, Isola & Efros 2016, Colorful Image Colorization (ECCV)")
def eccv16(width: int = 512, T: float = 0.38, confidence_power: float = 0.0) -> ECCV16:
    return ECCV16(width, T, confidence_power)
