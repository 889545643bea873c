"""Equal-budget bake-off of the training recipes.

Every recipe is trained with ``medcolor train`` on the same data, for the same
number of training images seen (``--steps`` x ``--batch-size``), at the same
crop size, on the same device; then every run is scored together by one
``medcolor evaluate`` call (same inputs, same protocol). The markdown table it
prints adds parameters and GFLOPs at 256² (``medcolor.models.summary``).

    python benchmarks/bakeoff.py --data ../shared/data/photos/train --val ../shared/data/photos/val \\
        --out runs/bakeoff --steps 200 --batch-size 8 --size 128

With ``--encoder-losses`` it compares instead the losses of the published recipes on
the ImageNet-pretrained encoder (``effcolor-photo`` with each loss swapped in, no
hints, the same budget), and reads every run's scores from its model card, which
the trainer computes with the ``medcolor evaluate`` protocol on the first
``--val`` set (after calibrating the decoding temperature there)::

    python benchmarks/bakeoff.py --encoder-losses --data ../shared/data/photos/train \\
        --val ../shared/data/photos/val_xsource --out runs/bakeoff-losses --steps 120 --batch-size 8 --size 128

Recipes that need pretrained weights unavailable offline are skipped and named
(``eccv16-vgg-gan`` needs VGG-19 ImageNet weights for its content loss,
``unet-fusion-mse`` a pretrained Inception-ResNet-v2 for its frozen global embedding).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_RECIPES = ("fastcolor-photo", "autoencoder-mse", "unet-mse", "unet-fusion-mse", "resnet18-unet-mse",
                   "resnet34-unet-mse", "gan-mse", "eccv16-classification", "resnet18-unet-patchgan")
NEEDS_WEIGHTS = {
    "eccv16-vgg-gan": "VGG-19 ImageNet weights (content loss); pass losses.perceptual.weights=PATH",
    # the fusion embedding is a frozen classifier: with random weights it is not the paper's method
    "unet-fusion-mse": "Inception-ResNet-v2 ImageNet weights; pass model.kwargs.weights=PATH",
}


# Loss variants on the pretrained encoder: overrides of the effcolor-photo recipe. "{half}" is
# replaced by half the step budget (the PatchGAN recipe pre-trains with L1, then adds the GAN).
ENCODER_LOSSES = {
    "huber (regression)": ["phases=[{name: main, start: 0, losses: {huber: 1.0}}]"],
    "ce, rebalanced (ECCV16)": ["model.kwargs.rebalance=0.5"],
    "ce, no rebalancing (shipped)": [],
    "l1 -> PatchGAN": ["discriminator={name: patchgan}",
                       "d_optim={name: adam, lr: 2.0e-4, betas: [0.5, 0.999]}",
                       "phases=[{name: l1, start: 0, losses: {l1: 1.0}}, "
                       "{name: cgan, start: {half}, losses: {l1: 100.0, gan: 1.0}}]"],
    "huber + perceptual (encoder features)": [
        "phases=[{name: main, start: 0, losses: {huber: 1.0, perceptual: 0.05}}]",
        "losses.perceptual.arch=efficientnet_lite0", "losses.perceptual.layers=[1,2,4]",
        "losses.perceptual.weights=imagenet"],
}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def encoder_losses(args, py: list[str]) -> int:
    """Train every loss variant on the same budget and print the table from the runs' cards."""
    rows = []
    for name, overrides in ENCODER_LOSSES.items():
        run = args.out / _slug(name)
        if not (run / "model.json").is_file():
            extra = [o.replace("{half}", str(args.steps // 2)) for o in overrides]
            _run(py + ["train", "--recipe", "effcolor-photo", "--data", str(args.data), "--val", str(args.val),
                       "--out", str(run), "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                       "--size", str(args.size), "--device", args.device, "--ckpt-every", str(args.steps),
                       f"data.crop_scale={args.crop_scale}", f"val_every={args.steps}", "hints=null",
                       f"data.val_max_images={args.val_images}", "schedule.warmup=20"] + extra)
        card = json.loads((run / "model.json").read_text())["meta"]
        (set_name, v), = list(card["validation"].items())[:1]
        rows.append((name, v, card["zero_chroma"][set_name], card["calibration"].get("T"),
                     card["compute"]["wall_s"]))
    images = args.steps * args.batch_size
    print(f"\nBudget: {images} training images seen per loss ({args.steps} steps x {args.batch_size}), "
          f"{args.size}² crops, device {args.device}; scored on {set_name} (first {args.val_images} images).\n")
    print("| loss | ΔE2000 | × zero chroma | PSNR dB | colourfulness ratio | decoding T | train wall (min) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, v, z, t, wall in rows:
        print(f"| {name} | {v['deltae2000']:.2f} | {v['deltae2000'] / z['deltae2000']:.2f} | {v['psnr']:.2f} | "
              f"{v['colorfulness_ratio']:.2f} | {t} | {wall / 60:.1f} |")
    z = rows[0][2]
    print(f"| zero chroma | {z['deltae2000']:.2f} | 1.00 | {z['psnr']:.2f} | 0.00 | - | - |")
    return 0


def _run(cmd: list[str]) -> float:
    print("$ " + " ".join(cmd), flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("runs/bakeoff"))
    ap.add_argument("--recipes", nargs="*", default=list(DEFAULT_RECIPES))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--size", type=int, default=128, help="training crop size for every recipe")
    ap.add_argument("--crop-scale", default="[0.18,0.35]", help="the same random-resized-crop area for all")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--encoder-losses", action="store_true",
                    help="compare losses on the pretrained encoder instead of the recipes")
    ap.add_argument("--val-images", type=int, default=24, help="--encoder-losses: validation images scored")
    args = ap.parse_args()

    py = [sys.executable, "-m", "medcolor"]
    if args.encoder_losses:
        return encoder_losses(args, py)
    wall: dict[str, float] = {}
    for recipe in args.recipes:
        if recipe in NEEDS_WEIGHTS:
            print(f"skip {recipe}: needs {NEEDS_WEIGHTS[recipe]}")
            continue
        run = args.out / recipe
        if (run / "model.safetensors").is_file():
            print(f"{recipe}: {run} exists, not retrained")
            continue
        extra = []
        if recipe == "resnet18-unet-patchgan":  # keep both phases inside the budget: L1 first half, cGAN second
            extra.append(f"phases.1.start={args.steps // 2}")
        wall[recipe] = _run(py + ["train", "--recipe", recipe, "--data", str(args.data), "--val", str(args.val),
                                  "--out", str(run), "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                                  "--size", str(args.size), "--device", args.device, "--ckpt-every", str(args.steps),
                                  f"data.crop_scale={args.crop_scale}", f"val_every={args.steps}"] + extra)
    (args.out / "wall_seconds.json").write_text(json.dumps(wall, indent=2))

    runs = [str(args.out / r) for r in args.recipes if (args.out / r / "model.safetensors").is_file()]
    report = args.out / "report"
    _run(py + ["evaluate", "--data", str(args.val), "--models", *runs, "--grid", "3", "--out", str(report),
               "--overwrite", "--device", args.device])

    from medcolor.models import create_model
    from medcolor.models.summary import count_flops, count_params
    from medcolor.weights import read_config, resolve_model

    summary = json.loads((report / "summary.json").read_text())
    ci = json.loads((report / "run.json").read_text()).get("ci95", {})
    images = args.steps * args.batch_size
    print(f"\nBudget: {images} training images seen per recipe ({args.steps} steps x {args.batch_size}), "
          f"{args.size}² crops, device {args.device}.\n")
    print("| recipe | architecture | params (M) | GFLOPs @256² | train wall (min) | PSNR dB | SSIM | ΔE2000 | "
          "colourfulness ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, metrics in summary.items():
        if name == "zero-chroma":
            arch, params, gflops, minutes = "-", "-", "-", "-"
        else:
            cfg = read_config(resolve_model(name))
            net = create_model(cfg["architecture"], **cfg.get("kwargs", {}))
            arch, params = cfg["architecture"], f"{count_params(net) / 1e6:.2f}"
            gflops = f"{count_flops(net, 256) / 1e9:.1f}"
            minutes = f"{wall.get(Path(name).name, float('nan')) / 60:.1f}"

        def cell(m: str, fmt: str) -> str:
            half = ci.get(name, {}).get(m)
            return format(metrics[m], fmt) + (f" ± {format(half, fmt)}" if half is not None else "")

        print(f"| {Path(name).name} | {arch} | {params} | {gflops} | {minutes} | {cell('psnr', '.2f')} | "
              f"{cell('ssim', '.3f')} | {cell('deltae2000', '.2f')} | {cell('colorfulness_ratio', '.2f')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
