"""Training throughput of every recipe, and of the data loader alone.

For each recipe it builds the real :class:`medcolor.train.trainer.Trainer` on a
folder of photos, runs ``--warmup`` optimizer steps, then times ``--steps``
steps (data loading, Lab conversion, forward, losses, backward, optimizer, EMA)
and reports training images/s.  Separately it times the DataLoader alone
(decode, random resized crop, flip; ``--workers`` processes) in images/s.

The perceptual loss of ``eccv16-vgg-gan`` uses an untrained VGG-19 here
(``losses.perceptual.weights=random``), which costs exactly as much as the
ImageNet one: only the speed is measured.

Usage::

    python benchmarks/bench_train.py                       # CPU, batch 4, 256², all recipes
    python benchmarks/bench_train.py --device cuda --batch-size 16 --steps 10
    python benchmarks/bench_train.py --recipes fastcolor-photo unet-mse --json out.json
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

DEFAULT_DATA = "/work/shared/data/photos/train"


def bench_recipe(recipe: str, args: argparse.Namespace, info, run_dir: Path) -> dict:
    from medcolor.train import apply_overrides, load_recipe
    from medcolor.train.trainer import DataSources, Trainer

    overrides = [f"batch_size={args.batch_size}", f"data.size={args.size}", f"data.workers={args.workers}",
                 f"device={args.device}", "data.val_max_images=1", "data.val_fraction=0.01"]
    if recipe == "eccv16-vgg-gan":
        overrides.append("losses.perceptual.weights=random")  # speed only; see module docstring
    cfg = apply_overrides(load_recipe(recipe), overrides).validate()
    trainer = Trainer(cfg, run_dir / recipe, DataSources(data=args.data), info)
    batches = trainer.batches(0)
    sync = torch.cuda.synchronize if info.device.type == "cuda" else (lambda: None)
    for _ in range(args.warmup):
        trainer.train_step(batches)
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step(batches)
    sync()
    dt = time.perf_counter() - t0
    params = sum(p.numel() for p in trainer.model.parameters())
    return {"recipe": recipe, "model": cfg.model.name, "params_m": round(params / 1e6, 2),
            "amp": str(trainer.amp or "off"), "images_per_s": round(args.steps * args.batch_size / dt, 2),
            "s_per_step": round(dt / args.steps, 3)}


def bench_loader(args: argparse.Namespace) -> dict:
    from torch.utils.data import DataLoader

    from medcolor.train.config import DataConfig
    from medcolor.train.data import StepSampler, TrainDataset, scan_folder

    cfg = DataConfig(size=args.size, workers=args.workers)
    samples = scan_folder(args.data, cfg.gray_threshold).samples
    ds = TrainDataset(samples, cfg)
    sampler = StepSampler(ds, 1, 0, seed=0)
    loader = DataLoader(ds, batch_size=args.batch_size, sampler=sampler, drop_last=True, num_workers=args.workers,
                        persistent_workers=args.workers > 0)
    n = 0
    it = iter(loader)
    next(it)  # start the workers
    t0 = time.perf_counter()
    for epoch in range(1, 100):
        for batch in it:
            n += batch["rgb"].shape[0]
            if time.perf_counter() - t0 > args.loader_seconds:
                break
        if time.perf_counter() - t0 > args.loader_seconds:
            break
        sampler.set_position(epoch, 0)
        it = iter(loader)
    dt = time.perf_counter() - t0
    return {"workers": args.workers, "images": n, "images_per_s": round(n / dt, 2)}


def main() -> None:
    from medcolor.train import list_recipes
    from medcolor.train.distributed import setup_distributed

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--recipes", nargs="*", default=None, help="default: every shipped recipe")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=2, help="timed steps per recipe")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--loader-seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    info = setup_distributed(args.device)
    print(f"device {info.device}, batch {args.batch_size}, {args.size}², {args.steps} timed steps "
          f"after {args.warmup} warm-up, torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"torch threads {torch.get_num_threads()}")
    loader = bench_loader(args)
    print(f"data loader only ({loader['workers']} workers): {loader['images_per_s']} images/s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in args.recipes or list_recipes():
            row = bench_recipe(recipe, args, info, Path(tmp))
            rows.append(row)
            print(f"{row['recipe']:24s} {row['model']:22s} {row['params_m']:7.2f} M  amp {row['amp']:8s} "
                  f"{row['images_per_s']:8.2f} images/s  ({row['s_per_step']} s/step)", flush=True)
    print("\n| recipe | model | params (M) | AMP | training images/s |\n|---|---|---:|---|---:|")
    for r in rows:
        print(f"| {r['recipe']} | {r['model']} | {r['params_m']} | {r['amp']} | {r['images_per_s']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": str(info.device), "batch_size": args.batch_size,
                                               "size": args.size, "loader": loader, "recipes": rows}, indent=2))


if __name__ == "__main__":
    main()
