"""Starting or resuming a run: resolve the config, set up (distributed) processes, train.

This is what ``medcolor train`` calls; it is also the Python entry point::

    from medcolor.train import TrainRequest, run_training
    run_training(TrainRequest(recipe="fastcolor-photo", data="photos/train", out="runs/a", steps=100))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from . import checkpoint as ckpt
from .config import TrainConfig, apply_overrides, from_dict, load_recipe

__all__ = ["TrainRequest", "resolve_config", "run_training"]


@dataclass
class TrainRequest:
    """Everything ``medcolor train`` accepts (``None`` = keep the recipe's / checkpoint's value)."""

    out: str | None = None
    recipe: str | None = None
    resume: str | None = None
    data: str | list[str] | None = None
    val: str | None = None
    gray_dir: str | None = None
    color_dir: str | None = None
    steps: int | None = None
    batch_size: int | None = None
    size: int | None = None
    device: str | None = None
    ckpt_every: int | None = None
    overrides: list[str] = field(default_factory=list)


def _flag_overrides(req: TrainRequest) -> list[str]:
    pairs = (("steps", req.steps), ("batch_size", req.batch_size), ("data.size", req.size),
             ("device", req.device), ("ckpt_every", req.ckpt_every))
    return [f"{k}={v}" for k, v in pairs if v is not None]


def resolve_config(req: TrainRequest) -> tuple[TrainConfig, Path, dict | None, dict]:
    """``(config, run_dir, resume_payload, sources)`` for a request; raises one-line user errors."""
    if req.resume:
        if req.recipe:
            raise UsageError("--resume continues a run with its own recipe; do not also pass --recipe")
        if req.out and Path(req.out) != Path(req.resume):
            raise UsageError("--resume RUN_DIR writes to RUN_DIR; do not also pass a different --out")
        if any((req.data, req.val, req.gray_dir, req.color_dir)):
            raise UsageError("--resume reuses the run's data folders; do not pass --data/--val/--gray-dir/--color-dir")
        run_dir = Path(req.resume)
        payload = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir))
        cfg = from_dict(TrainConfig, payload["config"])
        cfg = apply_overrides(cfg, _flag_overrides(req) + list(req.overrides)).validate()
        return cfg, run_dir, payload, dict(payload.get("sources", {}))
    if not req.recipe:
        raise UsageError("give --recipe NAME (see --list-recipes) or --resume RUN_DIR")
    if not req.out:
        raise UsageError("give --out RUN_DIR for the new run")
    run_dir = Path(req.out)
    if ckpt.is_run_dir(run_dir):
        raise UsageError(f"{run_dir} already holds a training run; continue it with --resume {run_dir} "
                         "or choose another --out")
    cfg = apply_overrides(load_recipe(req.recipe), _flag_overrides(req) + list(req.overrides)).validate()
    sources = {"data": req.data, "val": req.val, "gray_dir": req.gray_dir, "color_dir": req.color_dir}
    for key, value in sources.items():
        if isinstance(value, (list, tuple)):
            sources[key] = [str(Path(v).resolve()) for v in value]
        elif value is not None:
            sources[key] = str(Path(value).resolve())
    return cfg, run_dir, None, sources


def run_training(req: TrainRequest) -> dict[str, float]:
    """Train (or resume) as requested; returns the final validation metrics (on rank 0)."""
    from .distributed import cleanup_distributed, setup_distributed
    from .trainer import DataSources, Trainer

    cfg, run_dir, payload, sources = resolve_config(req)
    info = setup_distributed(cfg.device)
    try:
        trainer = Trainer(cfg, run_dir, DataSources(**sources), info, resume=payload)
        return trainer.run(resumed=payload is not None)
    finally:
        cleanup_distributed()
