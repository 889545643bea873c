"""Exponential moving average (EMA) of the generator's weights.

Built on :class:`torch.optim.swa_utils.AveragedModel`, which keeps a copy of
the model and updates it in place.  The decay warms up as
``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so that short runs are
not dominated by the random initial weights; buffers (BatchNorm running
statistics) are averaged too, so the EMA model is usable as it stands.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

__all__ = ["ModelEMA", "ema_decay"]


def ema_decay(decay: float, num_updates: int) -> float:
    """Effective decay after ``num_updates`` updates (warm-up towards ``decay``)."""
    return min(decay, (1.0 + num_updates) / (10.0 + num_updates))


class ModelEMA(AveragedModel):
    """EMA of ``model`` (unwrap DDP before passing it).

    ``update_parameters(model)`` after each optimizer step; ``self.module`` is
    the averaged network to validate and export.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = float(decay)

        def multi_avg(avg_params: list[torch.Tensor], cur_params: list[torch.Tensor],
                      num_averaged: torch.Tensor) -> None:
            d = ema_decay(self.decay, int(num_averaged))
            for a, c in zip(avg_params, cur_params):
                if a.is_floating_point():
                    a.lerp_(c, 1.0 - d)
                else:  # integer buffers (BatchNorm's num_batches_tracked): copy
                    a.copy_(c)

        super().__init__(model, multi_avg_fn=multi_avg, use_buffers=True)
        self.module.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        # medcolor.weights.save_model reads the architecture record from the module
        if hasattr(model, "medcolor_arch"):
            self.module.medcolor_arch = model.medcolor_arch

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.update_parameters(model)
