"""``medcolor train``: train a recipe on a folder of colour images, or resume a run.

    medcolor train --recipe NAME --data DIR [--val DIR] --out RUN_DIR [--steps N]
                   [--batch-size B] [--size S] [--device auto|cpu|cuda] [--ckpt-every K] [key=value ...]
    medcolor train --resume RUN_DIR [--steps N]
    torchrun --nproc_per_node N -m medcolor train ...
"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a colorization recipe (or resume a run)",
        description="Train a colorization recipe on colour images; the run directory becomes a model "
                    "(medcolor colorize --model RUN_DIR). Extra key=value arguments override recipe fields, "
                    "e.g. optim.lr=1e-4 phases.1.start=2000.")
    p.add_argument("--recipe", help="recipe name (see --list-recipes) or path to a YAML file")
    p.add_argument("--data", metavar="DIR", action="append",
                   help="folder of colour images (searched recursively); repeat for several folders")
    p.add_argument("--val", metavar="DIR", action="append",
                   help="validation folder; repeat for several sets, reported side by side (the first selects "
                        "the best checkpoint and calibrates the decoding). Default: a hash split of --data")
    p.add_argument("--gray-dir", metavar="DIR", help="paired mode: grayscale inputs ...")
    p.add_argument("--color-dir", metavar="DIR", help="... matched by relative path with these colour targets")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory to create")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--steps", type=int, help="total optimizer steps (overrides the recipe)")
    p.add_argument("--batch-size", type=int, help="images per step per process")
    p.add_argument("--size", type=int, help="square training crop size in pixels")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="training device (default auto)")
    p.add_argument("--ckpt-every", type=int, metavar="K", help="checkpoint (and export) every K steps")
    p.add_argument("--list-recipes", action="store_true", help="print the shipped recipes and exit")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="override any recipe field")
    p.set_defaults(run=run)
    return p


def _command(args: argparse.Namespace) -> str:
    import shlex

    return shlex.join(["medcolor", *getattr(args, "argv", ["train"])])


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..train import list_recipes, load_config, load_recipe, resume_run, start_run

    if args.list_recipes:
        for name in list_recipes():
            print(f"{name:26s} {load_recipe(name).description}")
        return 0
    flags = (("steps", args.steps), ("batch_size", args.batch_size), ("data.size", args.size),
             ("device", args.device), ("ckpt_every", args.ckpt_every))
    values = {key: value for key, value in flags if value is not None}
    if args.resume:
        if args.recipe:
            raise UsageError("--resume continues a run with its own recipe; do not also pass --recipe")
        if args.out and Path(args.out) != Path(args.resume):
            raise UsageError("--resume RUN_DIR writes to RUN_DIR; do not also pass a different --out")
        if any((args.data, args.val, args.gray_dir, args.color_dir)):
            raise UsageError("--resume reuses the run's data folders; do not pass --data/--val/--gray-dir/--color-dir")
        resume_run(args.resume, args.overrides, values, command=_command(args))
        return 0
    if not args.recipe:
        raise UsageError("give --recipe NAME (see --list-recipes) or --resume RUN_DIR")
    if not args.out:
        raise UsageError("give --out RUN_DIR for the new run")
    cfg = load_config(args.recipe, args.overrides, values)
    start_run(cfg, args.out, data=args.data, val=args.val, gray_dir=args.gray_dir, color_dir=args.color_dir,
              command=_command(args))
    return 0
