"""``resnet18_unet`` / ``resnet34_unet``: ResNet encoder + U-Net decoder (fastai DynamicUnet style).

The encoder is a torchvision ResNet (He et al. 2016) whose first conv takes one
channel; with pretrained ImageNet weights its RGB filters are summed, so a gray
input gives the response the RGB network had to the same gray image.  The
decoder follows fastai's DynamicUnet (Howard & Gugger 2020): a middle conv
block, then at each stage a transposed conv that doubles the resolution,
BatchNorm on the encoder skip, concatenation and two 3x3 convs, up to the
input resolution where the input itself is the last skip.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import Colorizer
from .layers import conv_bn_relu
from .pretrained import download_or_explain, load_encoder_state, read_state_dict
from .registry import register_model

__all__ = ["ResNetUNet", "resnet18_unet", "resnet34_unet", "build_resnet_encoder"]

# ImageNet gray statistics: the mean/std of (R+G+B)/3 normalisation, applied to L*/100.
_GRAY_MEAN, _GRAY_STD = 0.449, 0.226
_WEIGHT_FILES = {"resnet18": "resnet18-f37072fd.pth", "resnet34": "resnet34-b627a593.pth"}


def build_resnet_encoder(depth: int, pretrained: bool = False, weights: str | None = None) -> nn.Module:
    """torchvision ResNet-``depth`` with a 1-channel first conv and no classifier."""
    import torchvision

    arch = f"resnet{depth}"
    if arch not in _WEIGHT_FILES:
        raise ValueError(f"depth must be 18 or 34, got {depth}")
    builder = getattr(torchvision.models, arch)
    state = None
    if weights is not None:
        state, source = read_state_dict(weights), str(weights)
    elif pretrained:
        enum = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
        net = download_or_explain(lambda: builder(weights=enum), f"{arch}_unet", _WEIGHT_FILES[arch])
        state, source = net.state_dict(), f"torchvision {arch} IMAGENET1K_V1"
    net = builder(weights=None)
    net.conv1 = nn.Conv2d(1, 64, 7, stride=2, padding=3, bias=False)
    net.fc = nn.Identity()  # unused; the decoder reads the stages directly
    if state is not None:
        load_encoder_state(net, state, source, first_conv="conv1.weight", ignore_prefixes=("fc.",))
    return net


class _DecoderBlock(nn.Module):
    """fastai UnetBlock: upsample x2 (transposed conv), BN(skip), concat, two 3x3 convs."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 4, stride=2, padding=1)
        self.skip_bn = nn.BatchNorm2d(cskip)
        self.convs = nn.Sequential(conv_bn_relu(cin // 2 + cskip, cout), conv_bn_relu(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.up(x))
        return self.convs(torch.cat([x, self.skip_bn(skip)], dim=1))


class ResNetUNet(Colorizer):
    """ResNet-18/34 encoder with a DynamicUnet-like decoder; full-resolution output.

    Args:
        depth: 18 or 34.
        encoder: a prepared encoder from :func:`build_resnet_encoder` (default random init).
    """

    stride = 32

    def __init__(self, depth: int = 18, encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder if encoder is not None else build_resnet_encoder(depth)
        e = self.encoder
        e.avgpool = nn.Identity()
        self.middle = nn.Sequential(conv_bn_relu(512, 1024), conv_bn_relu(1024, 512))
        self.dec4 = _DecoderBlock(512, 256, 256)  # 1/16, skip layer3
        self.dec3 = _DecoderBlock(256, 128, 128)  # 1/8, skip layer2
        self.dec2 = _DecoderBlock(128, 64, 96)  # 1/4, skip layer1
        self.dec1 = _DecoderBlock(96, 64, 64)  # 1/2, skip relu(bn1(conv1))
        self.dec0 = _DecoderBlock(64, 1, 32)  # 1/1, skip the input
        self.head = nn.Conv2d(32, 2, 1)

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        e = self.encoder
        # normalised L in [-1, 1] -> L*/100 standardised like an ImageNet gray image
        g = ((x + 1.0) * 0.5 - _GRAY_MEAN) / _GRAY_STD
        s1 = e.relu(e.bn1(e.conv1(g)))  # (B, 64, H/2, W/2)
        s2 = e.layer1(e.maxpool(s1))  # (B, 64, H/4, W/4)
        s3 = e.layer2(s2)  # (B, 128, H/8, W/8)
        s4 = e.layer3(s3)  # (B, 256, H/16, W/16)
        s5 = e.layer4(s4)  # (B, 512, H/32, W/32)
        h = self.middle(s5)
        h = self.dec1(self.dec2(self.dec3(self.dec4(h, s4), s3), s2), s1)
        return self.head(self.dec0(h, x))  # (B, 2, H, W) normalised a*b*


@register_model(paper="He et al. 2016 ResNet-18 encoder + fastai DynamicUnet decoder")
def resnet18_unet(pretrained: bool = False, weights: str | None = None) -> ResNetUNet:
    return ResNetUNet(18, build_resnet_encoder(18, pretrained, weights))


@register_model(paper="He et al. 2016 ResNet-34 encoder + fastai DynamicUnet decoder")
def resnet34_unet(pretrained: bool = False, weights: str | None = None) -> ResNetUNet:
    return ResNetUNet(34, build_resnet_encoder(34, pretrained, weights))
