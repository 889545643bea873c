"""Atomic training checkpoints in a run directory.

Layout of ``RUN_DIR``::

    config.yaml                  resolved config (for humans; the checkpoint holds its own copy)
    checkpoints/step_00001000.pt one per --ckpt-every, the last ``keep_last`` kept
    checkpoints/best.pt          best validation ΔE2000 so far
    model.safetensors + .json    exported (EMA) generator: the run is a model
    log.jsonl, tb/               logs

A checkpoint is a dict of tensors, numbers, strings, lists and dicts only, so
it loads with ``torch.load(weights_only=True)``: model, optimizer, scheduler,
scaler and EMA state dicts, the step, the RNG states (as tensors) and the
resolved config as a plain dict.
"""
from __future__ import annotations

import pickle
import random
import re
from pathlib import Path

import numpy as np
import torch

from ..errors import MedcolorError
from ..fileio import atomic_write

__all__ = ["CKPT_DIR", "rng_state", "set_rng_state", "save_checkpoint", "list_checkpoints",
           "latest_checkpoint", "load_checkpoint", "prune_checkpoints", "is_run_dir", "mark_best"]

CKPT_DIR = "checkpoints"
_STEP_RE = re.compile(r"step_(\d+)\.pt$")


def rng_state() -> dict:
    """Python, numpy, torch (and CUDA) RNG states, all as tensors/ints (weights_only-safe)."""
    py = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": [py[0], torch.tensor(py[1], dtype=torch.int64), py[2]],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                  int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(int(v) for v in py[1].tolist()), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run_dir: Path, step: int, payload: dict, best: bool = False) -> Path:
    """Write ``checkpoints/step_{step:08d}.pt`` (or ``best.pt``) atomically; returns its path."""
    name = "best.pt" if best else f"step_{step:08d}.pt"
    path = Path(run_dir) / CKPT_DIR / name
    atomic_write(path, lambda p: torch.save(dict(payload, step=step), p))
    return path


def mark_best(run_dir: Path, source: Path) -> Path:
    """Make ``checkpoints/best.pt`` the same file as ``source`` (hard link, else copy), atomically."""
    import os
    import shutil

    best = Path(run_dir) / CKPT_DIR / "best.pt"

    def write(tmp: Path) -> None:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:  # file systems without hard links
            shutil.copyfile(source, tmp)

    atomic_write(best, write)
    return best


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the periodic checkpoints, oldest first."""
    folder = Path(run_dir) / CKPT_DIR
    found = []
    for p in folder.glob("step_*.pt"):
        m = _STEP_RE.search(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> Path:
    """The newest periodic checkpoint; :class:`MedcolorError` if the run has none."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MedcolorError(f"{run_dir}: run directory does not exist")
    found = list_checkpoints(run_dir)
    if not found:
        raise MedcolorError(f"{run_dir}: no checkpoint in {CKPT_DIR}/ (not a training run, or none saved yet)")
    return found[-1][1]


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Load one of our own checkpoints (``weights_only=True``: never unpickles code)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:  # truncated or foreign
        raise MedcolorError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def prune_checkpoints(run_dir: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` periodic checkpoints (``best.pt`` is kept)."""
    found = list_checkpoints(run_dir)
    removed = [p for _, p in found[:-keep_last]] if keep_last > 0 else []
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def is_run_dir(path: Path) -> bool:
    return (Path(path) / CKPT_DIR).is_dir() and bool(list_checkpoints(path))
