"""Training: every published colorization recipe in one resumable, distributed trainer.

>>> from medcolor.train import list_recipes, load_config, resume_run, start_run
>>> cfg = load_config("fastcolor-photo", ["optim.lr=1e-3"], values={"steps": 3000})
>>> start_run(cfg, "runs/photo", data="photos/train", val="photos/val")

Modules: :mod:`.config` (dataclasses, YAML recipes, overrides), :mod:`.data`,
:mod:`.losses`, :mod:`.ema`, :mod:`.optim`, :mod:`.checkpoint`,
:mod:`.distributed`, :mod:`.steps`, :mod:`.validate`, :mod:`.monitor`,
:mod:`.trainer` (the loop) and :mod:`.launch` (start/resume).
"""
from __future__ import annotations

from .config import TrainConfig, apply_overrides, list_recipes, load_config, load_recipe
from .launch import resume_run, start_run

__all__ = ["TrainConfig", "apply_overrides", "list_recipes", "load_config", "load_recipe", "resume_run",
           "start_run"]
