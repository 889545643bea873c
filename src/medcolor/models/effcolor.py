"""``effcolor_lite0/1/2``: an ImageNet-pretrained EfficientNet-Lite encoder under a U-Net decoder.

The network follows the designs that made colorization generalise:

* an **ImageNet-trained encoder** (EfficientNet-Lite, Tan & Le 2019), so the
  model knows what a sky, a face or a flower is before it sees any colour;
  the gray L* is fed the way the encoder saw photographs during ImageNet
  training: L* -> the sRGB gray level with that lightness, repeated on R, G
  and B, normalised with the encoder's mean and std;
* **global context** (Iizuka et al. 2016): the encoder's 1280-d ImageNet
  feature, pooled over the whole image, modulates the bottleneck (FiLM);
* a **U-Net decoder** (Ronneberger et al. 2015) with skips at 1/16, 1/8, 1/4;
* **classification over the 313 in-gamut a*b* bins** (Zhang et al. 2016) at
  1/4 resolution, decoded by the annealed mean with temperature ``T``: the
  predicted distribution says where the model is unsure, and ``T`` trades
  vividness (low T, towards the mode) against safety (T = 1, the mean);
* **user hints** (Zhang et al. 2017, "Real-Time User-Guided Image
  Colorization with Learned Deep Priors"): a sparse a*b* map and its mask
  enter at the stem, the global context and 1/4 resolution, and a learned
  attention (:class:`_HintAttention`) carries each click's correction to the
  cells that look like it, at the resolution where chroma is predicted.  The
  hint path is exactly zero without hints, so automatic colorization does not
  depend on it.

Shapes: ``forward(L, hints=None)`` takes ``(B, 1, H, W)`` L* in [0, 100] and
optional ``(B, 3, H, W)`` hints (a*, b* in Lab units where the mask is 1, and the
mask in {0, 1}: the SIGGRAPH17 layout of ``(L, ab, mask)`` split in two) and
returns ``(B, 2, H, W)`` a*b* in Lab units.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..color import AB_SCALE, lightness_to_gray
from .ab_bins import BinClassifier
from .base import Colorizer, pad_to_multiple
from .layers import conv_bn_relu
from .pretrained import EFFICIENTNET_LITE, load_pretrained_encoder
from .registry import register_model

__all__ = ["EffColor", "effcolor_lite0", "effcolor_lite1", "effcolor_lite2"]

# The encoder stages whose outputs feed the decoder, by their reduction factor.
_SKIP_REDUCTIONS = (4, 8, 16, 32)


def _conv1x1(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Up(nn.Module):
    """Bilinear upsampling to the skip's size, concatenation, 1x1 then 3x3 conv."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.reduce = _conv1x1(cin + cskip, cout)
        self.conv = conv_bn_relu(cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(self.reduce(torch.cat([x, skip], dim=1)))


def _pool_hints(hints: torch.Tensor, factor: int | None) -> torch.Tensor:
    """``(B, 3, H, W)`` normalised hints -> mean hinted a*b* per cell and hint density.

    ``factor``: cells of ``factor`` x ``factor`` pixels (H and W are multiples of it),
    ``(B, 3, H/f, W/f)``; ``None``: one cell for the whole image, ``(B, 3, 1, 1)``.
    Fixed-size windows (not adaptive pooling) keep the graph exportable to ONNX.
    """
    ab, mask = hints[:, :2] * hints[:, 2:], hints[:, 2:]
    if factor is None:
        ab_sum, density = ab.mean(dim=(2, 3), keepdim=True), mask.mean(dim=(2, 3), keepdim=True)
    else:
        ab_sum, density = F.avg_pool2d(ab, factor), F.avg_pool2d(mask, factor)
    return torch.cat([ab_sum / density.clamp(min=1e-6), (density > 0).to(hints) + density], dim=1)


class _HintAttention(nn.Module):
    """Learned hint propagation at 1/4 resolution, where the bins are predicted (the ``hintnet``).

    Every 1/4 cell (a query) attends over the hinted cells (the keys) and over a learned
    "no hint applies here" option.  Each head proposes two corrections of the cell's
    automatic a*b*: *shift* by the attention-weighted corrections ``hint - automatic`` of
    the cells it attends to (a click that says "warmer" warms the region), and *adopt* the
    attention-weighted hint colours themselves (a click that says "this red" paints a region
    whose automatic colours vary):

    * queries and keys are embeddings of the decoder's features, L*, the automatic a*b* and
      its confidence, so a click colours the cells that look like it (the same object,
      material or surface) wherever they are: the global summary that steers the image;
    * each of the ``heads`` heads adds a learned penalty on the squared distance between
      query and key (in units of the image's longer side), so some heads stay local and
      some reach across the image; the heads' shift and adopt corrections are mixed by
      bias-free 1x1 layers (``mix`` and ``adopt``);
    * the "no hint" logit is a function of the query, so confident cells can ignore a
      click that does not belong to them.

    Attention goes over at most ``max_keys`` hinted cells (the densest), so the cost is
    ``O(cells x keys)`` at any working size.  Without hints every query attends to "no
    hint" only and the correction is exactly zero; the last layers start at zero.
    """

    def __init__(self, features: int, dim: int = 64, heads: int = 4, max_keys: int = 1024) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.heads, self.max_keys = heads, max_keys
        self.embed = nn.Sequential(nn.Conv2d(features + 4, dim, 1), nn.ReLU(inplace=True),
                                   nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU(inplace=True))
        self.query, self.key = nn.Conv2d(dim, dim, 1), nn.Conv2d(dim, dim, 1)
        self.null = nn.Conv2d(dim, heads, 1)
        self.distance = nn.Parameter(torch.linspace(-2.0, 4.0, heads))  # softplus -> penalty per head
        self.mix = nn.Conv2d(2 * heads, 2, 1, bias=False)  # the heads' shifts
        self.adopt = nn.Conv2d(2 * heads, 2, 1, bias=False)  # the heads' adopted hint colours
        nn.init.zeros_(self.mix.weight)
        nn.init.zeros_(self.adopt.weight)

    def forward(self, feats: torch.Tensor, L4: torch.Tensor, ab: torch.Tensor, conf: torch.Tensor,
                pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The hints' correction of the automatic a*b* at 1/4.

        Args:
            feats: ``(B, C, h, w)`` decoder features at 1/4.
            L4: ``(B, 1, h, w)`` L* / 100 at 1/4.
            ab: ``(B, 2, h, w)`` automatic a*b* / ``AB_SCALE``; conf: ``(B, 1, h, w)`` its confidence.
            pooled: ``(B, 3, h, w)`` hints pooled to 1/4 (:func:`_pool_hints`).

        Returns:
            ``(correction (B, 2, h, w) / AB_SCALE, follow (B, 1, h, w))``: ``follow`` in [0, 1] is the
            attention mass on the hints (0 where no hint applies).
        """
        B, _, h, w = feats.shape
        e = self.embed(torch.cat([feats, L4, ab, conf], dim=1))
        nh, dh = self.heads, e.shape[1] // self.heads
        q = self.query(e).flatten(2).view(B, nh, dh, h * w).transpose(2, 3)  # (B, nh, N, dh)
        k = self.key(e).flatten(2).view(B, nh, dh, h * w)  # (B, nh, dh, N)
        hinted = (pooled[:, 2] > 0).flatten(1)  # (B, N)
        n_keys = min(int(hinted.sum(1).max()), self.max_keys, h * w)
        idx = (pooled[:, 2].flatten(1) + hinted.to(pooled)).topk(n_keys, dim=1).indices  # (B, K) densest first
        valid = hinted.gather(1, idx)  # (B, K)
        k = k.gather(3, idx[:, None, None].expand(B, nh, dh, n_keys))  # (B, nh, dh, K)
        hint_ab = pooled[:, :2].flatten(2).gather(2, idx[:, None].expand(B, 2, n_keys))  # (B, 2, K)
        delta = hint_ab - ab.flatten(2).gather(2, idx[:, None].expand(B, 2, n_keys))
        ys, xs = torch.meshgrid(torch.arange(h, device=e.device), torch.arange(w, device=e.device), indexing="ij")
        pos = torch.stack([ys.flatten(), xs.flatten()], dim=1).to(e) / max(h, w)  # (N, 2)
        kpos = pos[idx]  # (B, K, 2)
        d2 = (pos[None, :, None] - kpos[:, None]).pow(2).sum(-1)  # (B, N, K)
        logits = q @ k / dh ** 0.5 - F.softplus(self.distance)[None, :, None, None] * 100.0 * d2[:, None]
        logits = logits.masked_fill(~valid[:, None, None], float("-inf"))
        null = self.null(e).flatten(2)[..., None]  # (B, nh, N, 1)
        attn = torch.softmax(torch.cat([null, logits], dim=-1), dim=-1)  # (B, nh, N, 1 + K)
        a = attn[..., 1:]  # (B, nh, N, K)
        shift = a @ delta[:, None].transpose(2, 3)  # (B, nh, N, 2)
        here = ab.flatten(2).transpose(1, 2)[:, None]  # (B, 1, N, 2)
        adopt = a @ hint_ab[:, None].transpose(2, 3) - a.sum(-1, keepdim=True) * here  # (B, nh, N, 2)

        def maps(x: torch.Tensor) -> torch.Tensor:
            return x.permute(0, 1, 3, 2).reshape(B, 2 * nh, h, w)

        follow = 1.0 - attn[..., 0].mean(dim=1).view(B, 1, h, w)  # attention mass on the hints
        return self.mix(maps(shift)) + self.adopt(maps(adopt)), follow


class EffColor(BinClassifier, Colorizer):
    """EfficientNet-Lite U-Net colorizer with global context, 313-bin output and learned hints.

    Args:
        variant: ``lite0``, ``lite1`` or ``lite2`` (timm ``efficientnet_<variant>``).
        widths: decoder channels at 1/32, 1/16, 1/8 and 1/4 resolution.
        T: annealed-mean temperature used to decode the bins (1.0 = the mean of the
            predicted distribution; lower = more vivid).
        confidence_power: chroma is multiplied by ``confidence ** confidence_power``
            (:func:`~medcolor.models.ab_bins.decode`): colour is held back where the
            predicted distribution is spread out; 0 turns it off.
        hint_decoder: add learned hint propagation at 1/4 resolution (:class:`_HintAttention`).
        rebalance: mixing weight of the uniform prior in the class-rebalancing weights
            (Zhang et al. 2016, eq. 4); 1.0 turns rebalancing off, 0.5 is the paper's.
    """

    stride = 32

    def __init__(self, variant: str = "lite0", widths: tuple[int, ...] = (256, 128, 96, 64), T: float = 0.6,
                 rebalance: float = 1.0, confidence_power: float = 0.0, hint_decoder: bool = False) -> None:
        super().__init__()
        import timm

        if variant not in EFFICIENTNET_LITE:
            raise ValueError(f"variant must be one of {', '.join(EFFICIENTNET_LITE)}, got {variant!r}")
        if len(widths) != 4:
            raise ValueError(f"widths must have 4 entries (1/32, 1/16, 1/8, 1/4), got {len(widths)}")
        self.variant, self.T, self.rebalance = variant, float(T), float(rebalance)
        self.confidence_power = float(confidence_power)
        enc = timm.create_model(f"efficientnet_{variant}", pretrained=False)
        enc.global_pool, enc.classifier = nn.Identity(), nn.Identity()
        self.encoder = enc
        info = {f["reduction"]: f for f in enc.feature_info}  # the last stage at each reduction
        self._skip_blocks = [int(info[r]["module"].split(".")[1]) for r in _SKIP_REDUCTIONS]
        chans = [info[r]["num_chs"] for r in _SKIP_REDUCTIONS]
        stem_ch = enc.conv_stem.out_channels
        head_ch = enc.conv_head.out_channels
        bins = self._init_bins()
        self.register_buffer("mean", torch.tensor(0.5))  # the encoder's input normalisation
        self.register_buffer("std", torch.tensor(0.5))
        w32, w16, w8, w4 = widths
        self.hint_stem = nn.Conv2d(3, stem_ch, 3, stride=2, padding=1)  # hints at the stem (zero at init)
        nn.init.zeros_(self.hint_stem.weight)
        nn.init.zeros_(self.hint_stem.bias)
        self.bottom = _conv1x1(chans[3], w32)
        self.global_mlp = nn.Sequential(nn.Linear(head_ch + 3, w32), nn.ReLU(inplace=True), nn.Linear(w32, 2 * w32))
        self.up16 = _Up(w32, chans[2], w16)
        self.up8 = _Up(w16, chans[1], w8)
        self.up4 = _Up(w8, chans[0] + 3, w4)  # + pooled hints at 1/4
        self.head = nn.Conv2d(w4, bins.shape[0], 1)
        self.hintnet = _HintAttention(w4) if hint_decoder else None
        # Depthwise convolutions run faster on CPU in channels-last layout.
        self.to(memory_format=torch.channels_last)

    def _encoder_input(self, L: torch.Tensor) -> torch.Tensor:
        """L* in [0, 100] -> the sRGB gray with that lightness on 3 channels, normalised like ImageNet."""
        g = (lightness_to_gray(L.clamp(0, 100)) - self.mean) / self.std
        return g.expand(-1, 3, -1, -1)

    def _features(self, L: torch.Tensor, hints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ``(B, 1, H, W)`` L* and ``(B, 3, H, W)`` normalised hints -> the decoder's features
        ``(B, C, H/4, W/4)`` and the hints pooled to 1/4 ``(B, 3, H/4, W/4)``."""
        e = self.encoder
        cl = torch.channels_last
        L, hints = L.contiguous(memory_format=cl), hints.contiguous(memory_format=cl)
        x = e.bn1(e.conv_stem(self._encoder_input(L).contiguous(memory_format=cl))) + self.hint_stem(hints)
        skips = []
        for i, block in enumerate(e.blocks):
            x = block(x)
            if i in self._skip_blocks:
                skips.append(x)
        s4, s8, s16, s32 = skips
        g = e.bn2(e.conv_head(s32)).mean(dim=(2, 3))  # (B, 1280) ImageNet feature
        hint_stats = _pool_hints(hints, None).flatten(1)  # (B, 3)
        scale, shift = self.global_mlp(torch.cat([g, hint_stats], dim=1)).chunk(2, dim=1)
        b = self.bottom(s32)
        b = b * (1 + scale[..., None, None]) + shift[..., None, None]
        h4 = _pool_hints(hints, 4)
        d = self.up4(self.up8(self.up16(b, s16), s8), torch.cat([s4, h4], dim=1))  # s4: 1/4 of the padded input
        return d, h4

    def logits_padded(self, L: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        """Padded ``(B, 1, H, W)`` L* and ``(B, 3, H, W)`` normalised hints -> ``(B, Q, H/4, W/4)``."""
        return self.head(self._features(L, hints)[0])

    def _decode_padded(self, L: torch.Tensor, hints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded L* and hints -> ``(ab (B, 2, H/4, W/4) Lab units, confidence (B, 1, H/4, W/4))``,
        with the learned hint propagation where an image has hints."""
        d, h4 = self._features(L, hints)
        ab, conf = self.decode(self.head(d))
        # the hint path is exactly zero without hints: skip its compute (and keep it out of exported graphs)
        if self.hintnet is not None and bool((hints[:, 2:] > 0).any()):
            L4 = F.avg_pool2d(L, 4) / 100.0
            corr, follow = self.hintnet(d, L4, ab / AB_SCALE, conf, h4)
            ab, conf = ab + corr * AB_SCALE, conf + (1.0 - conf) * follow  # hints raise the confidence
        return ab, conf

    def _prepare(self, L: torch.Tensor, hints: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        if L.dim() != 4 or L.shape[1] != 1:
            raise ValueError(f"expected L* of shape (B, 1, H, W), got {tuple(L.shape)}")
        if hints is None:
            hints = L.new_zeros(L.shape[0], 3, *L.shape[-2:])
        elif hints.shape != (L.shape[0], 3, *L.shape[-2:]):
            raise ValueError(f"expected hints of shape {(L.shape[0], 3, *L.shape[-2:])}, got {tuple(hints.shape)}")
        mask = (hints[:, 2:] > 0.5).to(L)
        h = torch.cat([hints[:, :2] / AB_SCALE * mask, mask], dim=1)
        Lp, hw = pad_to_multiple(L, self.stride)
        hp, _ = pad_to_multiple(h, self.stride)
        return Lp, hp, hw

    def logits(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, 1, H, W)`` L* (+ hints) -> ``(B, Q, ceil(H/4), ceil(W/4))`` bin logits."""
        Lp, hp, (h, w) = self._prepare(L, hints)
        return self.logits_padded(Lp, hp)[..., : -(-h // 4), : -(-w // 4)]

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        L = (x + 1.0) * 50.0  # the base class's normalised L back to L*
        hints = x.new_zeros(x.shape[0], 3, *x.shape[-2:])
        return self.decode(self.logits_padded(L, hints), need_confidence=False)[0] / AB_SCALE

    def predict(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 1, H, W)`` L* (+ hints) -> ``(ab (B, 2, H, W) Lab units, confidence (B, 1, H, W) in [0, 1])``."""
        Lp, hp, (h, w) = self._prepare(L, hints)
        ab, conf = self._decode_padded(Lp, hp)  # (B, 2, H/4, W/4), (B, 1, H/4, W/4)
        out = F.interpolate(torch.cat([ab, conf], dim=1), size=Lp.shape[-2:], mode="bilinear", align_corners=False)
        return out[:, :2, :h, :w], out[:, 2:, :h, :w]

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        return self.predict(L, hints)[0]


def _build(variant: str, pretrained: bool, weights: str | None, **kwargs) -> EffColor:
    model = EffColor(variant, **kwargs)
    if pretrained or weights is not None:
        load_pretrained_encoder(model.encoder, variant, weights)
    return model


_PAPER = "Tan & Le 2019 EfficientNet-Lite (ImageNet) + U-Net + global context, 313 bins, learned hints (Zhang 2017)"


@register_model(paper=_PAPER, hints=True)
def effcolor_lite0(pretrained: bool = False, weights: str | None = None, **kwargs) -> EffColor:
    return _build("lite0", pretrained, weights, **kwargs)


@register_model(paper=_PAPER, hints=True)
def effcolor_lite1(pretrained: bool = False, weights: str | None = None, **kwargs) -> EffColor:
    return _build("lite1", pretrained, weights, **kwargs)


@register_model(paper=_PAPER, hints=True)
def effcolor_lite2(pretrained: bool = False, weights: str | None = None, **kwargs) -> EffColor:
    return _build("lite2", pretrained, weights, **kwargs)
