"""One optimisation step's worth of computation: batch to Lab, generator and discriminator losses.

Everything here runs on the training device.  Shapes:

* ``L``: ``(B, 1, H, W)`` L* in [0, 100];
* ``ab``: ``(B, 2, H, W)`` a*b* in Lab units; ``ab_n`` the same divided by ``AB_SCALE``;
* discriminators take ``(L, ab)`` in Lab units and return logits of any shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..color import gray_to_lightness, lab_to_rgb, normalize_ab, rgb_to_lab
from .classification import decode_logits
from .config import LossConfig, PhaseConfig
from .losses import GANLoss, PerceptualLoss, huber_loss, l1_loss, mse_loss, rebalanced_cross_entropy, total_variation

__all__ = ["LabBatch", "to_lab_batch", "GeneratorHarness", "LossComputer"]


@dataclass
class LabBatch:
    L: torch.Tensor  # (B, 1, H, W) L* input (from the gray image in paired mode)
    ab: torch.Tensor  # (B, 2, H, W) target a*b*, Lab units
    rgb: torch.Tensor  # (B, 3, H, W) target sRGB in [0, 1]


def to_lab_batch(batch: dict[str, torch.Tensor], device: torch.device) -> LabBatch:
    """uint8 worker output -> Lab on ``device`` (float32, outside autocast)."""
    rgb = batch["rgb"].to(device, non_blocking=True).float() / 255.0  # (B, 3, H, W)
    lab = rgb_to_lab(rgb)
    L = lab[:, :1]
    if "gray" in batch:  # paired mode: the network sees the real gray image's lightness
        L = gray_to_lightness(batch["gray"].to(device, non_blocking=True).float() / 255.0)
    return LabBatch(L=L.contiguous(), ab=lab[:, 1:].contiguous(), rgb=rgb)


class GeneratorHarness(nn.Module):
    """Routes every generator call through ``forward`` so DDP sees it.

    Returns ``(ab, logits)``: ``ab`` ``(B, 2, H, W)`` in Lab units and, when
    ``with_logits`` (classification recipes), the colorizer's
    ``logits(L)`` ``(B, Q, h, w)`` computed in the same pass.
    """

    def __init__(self, colorizer: nn.Module, with_logits: bool = False) -> None:
        super().__init__()
        self.colorizer = colorizer
        self.with_logits = with_logits

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        extra = () if hints is None else (hints,)  # (B, 3, H, W) simulated hints, for hint models
        if not self.with_logits:
            return self.colorizer(L, *extra), None
        logits = self.colorizer.logits(L, *extra)  # (B, Q, h, w)
        return decode_logits(self.colorizer, logits, L.shape[-2:]), logits


class LossComputer(nn.Module):
    """Weighted sum of the losses a phase asks for; also the discriminator's loss.

    ``ce_target(ab, (h, w))`` (classification recipes, a
    :class:`~medcolor.train.classification.CETarget`) returns the soft-encoded
    target ``(B, Q, h, w)`` and the rebalancing weights ``(B, 1, h, w)`` at the
    logits' resolution.
    """

    def __init__(self, cfg: LossConfig, needs_perceptual: bool, ce_target=None) -> None:
        super().__init__()
        self.cfg = cfg
        self.gan = GANLoss(cfg.gan_mode)
        self.perceptual = PerceptualLoss(cfg.perceptual) if needs_perceptual else None
        self.ce_target = ce_target

    def generator_loss(self, phase: PhaseConfig, batch: LabBatch, ab: torch.Tensor, logits: torch.Tensor | None,
                       discriminator: nn.Module | None) -> tuple[torch.Tensor, dict[str, float]]:
        """Total generator loss and its detached parts ``{"loss/NAME": 0-d tensor}`` (no device sync)."""
        w = phase.losses
        pred_n, target_n = normalize_ab(ab.float()), normalize_ab(batch.ab)  # (B, 2, H, W) ~[-1, 1]
        parts: dict[str, torch.Tensor] = {}
        if w.get("l1"):
            parts["l1"] = l1_loss(pred_n, target_n)
        if w.get("mse"):
            parts["mse"] = mse_loss(pred_n, target_n)
        if w.get("huber"):
            parts["huber"] = huber_loss(pred_n, target_n, self.cfg.huber_delta)
        if w.get("tv"):
            parts["tv"] = total_variation(pred_n)
        if w.get("perceptual"):
            if self.perceptual is None:
                raise RuntimeError("perceptual loss requested but not built")
            pred_rgb = lab_to_rgb(torch.cat([batch.L, ab.float()], dim=1))  # (B, 3, H, W) in [0, 1]
            parts["perceptual"] = self.perceptual(pred_rgb, batch.rgb)
        if w.get("ce"):
            if logits is None or self.ce_target is None:
                raise RuntimeError("the 'ce' loss needs a classification colorizer (eccv16)")
            target, weights = self.ce_target(batch.ab, logits.shape[-2:])
            parts["ce"] = rebalanced_cross_entropy(logits, target, weights)
        if w.get("gan"):
            if discriminator is None:
                raise RuntimeError("the 'gan' loss needs a discriminator")
            # the discriminator's own parameters are frozen by the caller for this term
            parts["gan"] = self.gan.generator(discriminator(batch.L, ab))
        total = sum(float(w[k]) * v for k, v in parts.items())
        return total, {f"loss/{k}": v.detach() for k, v in parts.items()}  # read back at the log interval

    def discriminator_loss(self, discriminator: nn.Module, batch: LabBatch,
                           fake_ab: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of ``discriminator`` on real ``batch.ab`` vs detached ``fake_ab``.

        Real and fake go through one forward call (concatenated on the batch
        axis) so that a DDP-wrapped discriminator is called once per backward.
        """
        b = batch.L.shape[0]
        L2 = torch.cat([batch.L, batch.L], dim=0)
        ab2 = torch.cat([batch.ab, fake_ab.detach().float()], dim=0)  # (2B, 2, H, W)
        logits = discriminator(L2, ab2)
        loss = self.gan.discriminator(logits[:b], logits[b:])
        return loss, {"loss/d": loss.detach(),
                      "d/real": logits[:b].detach().float().mean(),
                      "d/fake": logits[b:].detach().float().mean()}
