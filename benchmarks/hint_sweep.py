"""Hint sweep: PSNR and CIEDE2000 against the number of simulated hint points.

    .venv/bin/python benchmarks/hint_sweep.py [--model default] \\
        [--data /work/shared/data/photos/val_xsource] [--points 0,1,2,5,10,20,50] \\
        [--limit N] [--seed 0] [--out reports/hint_sweep]

Runs ``medcolor evaluate --hints`` (the protocol of Zhang et al. 2017: N random
points per image, each a 5x5 patch given its mean ground-truth a*b*, fixed seed)
for the model, then writes into ``--out``:

* ``report/``: the full evaluation report (per-image CSV, summary, HTML);
* ``hint_sweep.csv`` and ``hint_sweep.md``: one row per N with PSNR and
  deltaE2000 for the learned hint input, for Levin refinement of the model's
  automatic colours, and for the learned colours refined by Levin (N = 0 is the
  automatic result for all);
* ``hint_sweep.png``: both metrics against N, both methods.

The learned column is empty for a model without hint input.  ``--limit`` takes
the first N images (by name) for a quick run.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

DEFAULT_DATA = "/work/shared/data/photos/val_xsource"
METHODS = ("learned", "levin", "learned+levin")
LABELS = {"learned": "learned hints", "levin": "Levin refinement", "learned+levin": "learned, then Levin"}


def sweep_table(summary: dict[str, dict[str, float]], model: str, points: list[int]) -> list[dict]:
    """Rows ``{points, learned_psnr, learned_deltae2000, levin_psnr, levin_deltae2000}`` from a summary."""
    rows = []
    for n in points:
        row: dict = {"points": n}
        for kind in METHODS:
            stats = summary.get(model) if n == 0 else summary.get(f"{model} +{n} {kind}")
            row[f"{kind}_psnr"] = None if stats is None else stats["psnr"]
            row[f"{kind}_deltae2000"] = None if stats is None else stats["deltae2000"]
        rows.append(row)
    return rows


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.2f}"


def markdown(rows: list[dict]) -> str:
    head = " | ".join(f"PSNR {LABELS[k]} (dB)" for k in METHODS) + " | " + \
        " | ".join(f"ΔE2000 {LABELS[k]}" for k in METHODS)
    lines = [f"| points | {head} |", "|---:" * (1 + 2 * len(METHODS)) + "|"]
    for r in rows:
        cells = [_fmt(r[f"{k}_{m}"]) for m in ("psnr", "deltae2000") for k in METHODS]
        lines.append(f"| {r['points']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, metric, label in ((axes[0], "psnr", "PSNR (dB) ↑"), (axes[1], "deltae2000", "ΔE2000 ↓")):
        for kind, style in zip(METHODS, ("o-", "s--", "^-.")):
            pts = [(max(r["points"], 0.5), r[f"{kind}_{metric}"]) for r in rows if r[f"{kind}_{metric}"] is not None]
            if pts:
                ax.plot(*zip(*pts), style, label=LABELS[kind])
        ax.set_xscale("log")
        ticks = [max(r["points"], 0.5) for r in rows]
        ax.set_xticks(ticks, [str(r["points"]) for r in rows])
        ax.minorticks_off()
        ax.set_xlabel("hint points per image (5×5 patches)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from medcolor.cli.evaluate import _hint_counts
    from medcolor.evaluate import EvalConfig, evaluate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default", help="shipped name, .safetensors file or run directory")
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder of colour ground-truth images")
    ap.add_argument("--points", type=_hint_counts, default=[0, 1, 2, 5, 10, 20, 50], metavar="N[,N...]")
    ap.add_argument("--limit", type=int, default=None, help="only the first N images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=Path("reports/hint_sweep"))
    args = ap.parse_args(argv)

    points = sorted(set([0, *args.points]))
    config = EvalConfig(data=args.data, out=args.out / "report", models=[args.model], hints=points,
                        device=args.device, limit=args.limit, seed=args.seed, grid=0, overwrite=True, lpips=False)
    result = evaluate(config, log=lambda msg: print(msg, file=sys.stderr))
    rows = sweep_table(result.summary, args.model, points)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "hint_sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    n_images = result.stats[args.model]["psnr"].n
    table = markdown(rows)
    header = (f"Model `{args.model}`, {n_images} images of `{args.data}`, seed {args.seed}.\n"
              f"Command: `python benchmarks/hint_sweep.py --model {args.model} --data {args.data}"
              + (f" --limit {args.limit}" if args.limit else "") + "`\n\n")
    (args.out / "hint_sweep.md").write_text(header + table + "\n")
    plot(rows, args.out / "hint_sweep.png", f"{Path(args.model).name} on {Path(args.data).name} ({n_images} images)")
    print(header + table)
    print(f"written: {args.out / 'hint_sweep.md'}, {args.out / 'hint_sweep.csv'}, {args.out / 'hint_sweep.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
