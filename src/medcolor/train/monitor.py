"""Training logs: a JSON-lines file, TensorBoard scalars and image grids, a tqdm bar.

Only rank 0 builds a real :class:`Monitor`; other ranks get one whose methods
do nothing, so the training loop never branches on the rank to log.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

__all__ = ["Monitor"]


class Monitor:
    """Writes ``RUN/log.jsonl`` and ``RUN/tb/`` and drives the progress bar.

    Args:
        run_dir: the run directory.
        total_steps: steps the run will reach (bar length).
        start_step: steps already done (resume).
        enabled: False on ranks other than 0.
        tensorboard: also write TensorBoard event files.
    """

    def __init__(self, run_dir: Path, total_steps: int, start_step: int, enabled: bool = True,
                 tensorboard: bool = True) -> None:
        self.enabled = enabled
        self.writer = None
        self.bar = None
        if not enabled:
            return
        from ..progress import progress

        self.log_path = Path(run_dir) / "log.jsonl"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                self.message("tensorboard is not installed; logging to log.jsonl only")
            else:
                self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tb"), purge_step=start_step + 1)
        self.bar = progress(total=total_steps, initial=start_step, desc="train", unit="step")

    def message(self, text: str) -> None:
        """A human-readable line on stdout (through tqdm so the bar is not broken)."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def record(self, event: str, step: int, values: dict) -> None:
        """Append one JSON line ``{"event", "step", "time", ...values}``."""
        if not self.enabled:
            return
        line = {"event": event, "step": step, "time": round(time.time(), 3), **values}
        self._log.write(json.dumps(line) + "\n")
        self._log.flush()

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if self.writer is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)):
                    self.writer.add_scalar(k, v, step)

    def image(self, tag: str, step: int, image: torch.Tensor) -> None:
        """``image``: ``(3, H, W)`` in [0, 1]."""
        if self.writer is not None:
            self.writer.add_image(tag, image.clamp(0, 1), step)

    def advance(self, n: int, postfix: dict[str, float] | None = None) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if postfix:
                self.bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        self._log.close()
