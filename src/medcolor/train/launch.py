"""Starting or resuming a run: set up the (distributed) processes and train.

This is what ``medcolor train`` calls; it is also the Python entry point::

    from medcolor.train import load_config, resume_run, start_run
    cfg = load_config("fastcolor-photo", ["optim.lr=1e-3"], values={"steps": 100})
    start_run(cfg, "runs/a", data="photos/train", val="photos/val")
    resume_run("runs/a", values={"steps": 200})
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from . import checkpoint as ckpt
from .config import TrainConfig, apply_overrides, from_dict

__all__ = ["start_run", "resume_run"]


def _absolute(value: str | Sequence[str] | None) -> str | list[str] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(Path(v).resolve()) for v in value]
    return str(Path(value).resolve())


def start_run(cfg: TrainConfig, out: str | Path, *, data: str | Sequence[str] | None = None,
              val: str | Sequence[str] | None = None, gray_dir: str | None = None, color_dir: str | None = None,
              command: str | None = None) -> dict[str, float]:
    """Train ``cfg`` into the new run directory ``out``; returns the final validation metrics (rank 0).

    Args:
        cfg: a validated config (:func:`~medcolor.train.config.load_config`).
        out: run directory to create; one that already holds a run is refused.
        data: folder(s) of colour images; or ``gray_dir`` and ``color_dir`` for paired images.
        val: validation folder(s) (default: a deterministic hash split of ``data``); the first
            selects the best checkpoint.
        command: the command line that started the run, recorded in the model card.
    """
    from .data import DataSources

    run_dir = Path(out)
    if ckpt.is_run_dir(run_dir):
        raise UsageError(f"{run_dir} already holds a training run; continue it with --resume {run_dir} "
                         "or choose another --out")
    sources = DataSources(data=_absolute(data), val=_absolute(val), gray_dir=_absolute(gray_dir),
                          color_dir=_absolute(color_dir))
    return _train(cfg, run_dir, sources, None, command)


def resume_run(run_dir: str | Path, overrides: Sequence[str] = (),
               values: Mapping[str, Any] | None = None, command: str | None = None) -> dict[str, float]:
    """Continue the run in ``run_dir`` from its last checkpoint, with its own recipe and data.

    ``overrides`` (``key=value``) and ``values`` change the saved config, e.g. ``{"steps": 4000}``.
    """
    from .data import DataSources

    run_dir = Path(run_dir)
    payload = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir))
    cfg = apply_overrides(from_dict(TrainConfig, payload["config"]), overrides, values)
    return _train(cfg, run_dir, DataSources(**payload.get("sources", {})), payload, command)


def _train(cfg: TrainConfig, run_dir: Path, sources, payload: dict | None,
           command: str | None) -> dict[str, float]:
    from .distributed import cleanup_distributed, setup_distributed
    from .trainer import Trainer

    info = setup_distributed(cfg.device)
    try:
        trainer = Trainer(cfg, run_dir, sources, info, resume=payload, command=command)
        return trainer.run(resumed=payload is not None)
    finally:
        cleanup_distributed()
