"""Shared network blocks for the model zoo.

Each block is an ``nn.Sequential`` so that its parameters keep the plain
``0.weight``/``1.weight`` keys the shipped weight files were saved with.

>>> import torch
>>> from medcolor.models.layers import conv_bn_relu
>>> conv_bn_relu(1, 32, stride=2)(torch.zeros(1, 1, 64, 64)).shape
torch.Size([1, 32, 32, 32])
"""
from __future__ import annotations

from torch import nn

__all__ = ["conv_bn_relu", "up_bn_relu", "down_bn_lrelu"]


def conv_bn_relu(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 conv (no bias) + BatchNorm + ReLU.

    ``(B, cin, H, W) -> (B, cout, ceil(H/stride), ceil(W/stride))``; ``stride=2``
    halves H and W, ``dilation`` widens the receptive field at the same size.
    """
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def up_bn_relu(cin: int, cout: int) -> nn.Sequential:
    """4x4 stride-2 transposed conv (no bias) + BatchNorm + ReLU.

    ``(B, cin, H, W) -> (B, cout, 2H, 2W)`` exactly.
    """
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def down_bn_lrelu(cin: int, cout: int, *, norm: bool = True, slope: float = 0.2) -> nn.Sequential:
    """4x4 stride-2 conv [+ BatchNorm] + LeakyReLU (the pix2pix/DCGAN encoder step).

    ``(B, cin, H, W) -> (B, cout, H/2, W/2)`` for even H, W. Without ``norm`` the
    conv has a bias and no BatchNorm follows (the first layer of a discriminator).
    """
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(slope, inplace=True))
    return nn.Sequential(*layers)
