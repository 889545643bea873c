"""Training: every published colorization recipe in one resumable, distributed trainer.

>>> from medcolor.train import TrainRequest, run_training, list_recipes
>>> run_training(TrainRequest(recipe="fastcolor-photo", data="photos/train", val="photos/val",
...                           out="runs/photo", steps=3000))

Modules: :mod:`.config` (dataclasses, YAML recipes, overrides), :mod:`.data`,
:mod:`.losses`, :mod:`.ema`, :mod:`.optim`, :mod:`.checkpoint`,
:mod:`.distributed`, :mod:`.steps`, :mod:`.validate`, :mod:`.monitor`,
:mod:`.trainer` (the loop) and :mod:`.launch` (start/resume).
"""
from __future__ import annotations

from .config import TrainConfig, apply_overrides, list_recipes, load_recipe
from .launch import TrainRequest, resolve_config, run_training

__all__ = ["TrainConfig", "TrainRequest", "apply_overrides", "list_recipes", "load_recipe", "resolve_config",
           "run_training"]
