"""Optional learned metric: LPIPS when its weights are on disk.

LPIPS (Zhang et al. 2018) needs an ImageNet-trained AlexNet.  medcolor never
downloads weights during an evaluation, so LPIPS is computed only when
torchvision's AlexNet checkpoint is already in the torch hub cache
(``$TORCH_HOME/hub/checkpoints``) and torchmetrics' LPIPS heads are installed;
otherwise the report carries a note saying why it is missing.

FID is not offered: it needs thousands of images for a stable 2048x2048
covariance; on a validation set of tens of images it would be noise.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["ALEXNET_FILE", "lpips_status", "LpipsScorer"]

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"  # torchvision AlexNet_Weights.IMAGENET1K_V1


def lpips_status() -> tuple[bool, str]:
    """``(available, note)`` for LPIPS-AlexNet without touching the network."""
    import torch

    ckpt = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE
    try:
        import torchmetrics.functional.image.lpips as tm_lpips
    except ImportError as exc:
        return False, f"LPIPS not computed: torchmetrics LPIPS unavailable ({exc})."
    heads = Path(tm_lpips.__file__).with_name("lpips_models") / "alex.pth"
    if not heads.is_file():
        return False, f"LPIPS not computed: torchmetrics' LPIPS heads are missing ({heads})."
    if not ckpt.is_file():
        return False, (f"LPIPS not computed: the ImageNet AlexNet weights are not available locally "
                       f"({ckpt} is missing) and evaluation never downloads weights.")
    return True, f"LPIPS: AlexNet variant (Zhang et al. 2018) via torchmetrics, weights from {ckpt}."


class LpipsScorer:
    """Per-image LPIPS-AlexNet between uint8 RGB ``(H, W, 3)`` images (lower is better)."""

    def __init__(self) -> None:
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        self.metric = LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True).eval()

    def __call__(self, gt: np.ndarray, pred: np.ndarray) -> float:
        import torch

        def t(x: np.ndarray) -> torch.Tensor:
            # (H, W, 3) uint8 -> (1, 3, H, W) float in [0, 1]
            return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 255.0

        with torch.inference_mode():
            self.metric.reset()
            self.metric.update(t(pred), t(gt))
            return float(self.metric.compute())
