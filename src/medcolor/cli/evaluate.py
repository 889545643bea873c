"""``medcolor evaluate``: score models and baselines on a folder of colour images.

    medcolor evaluate --data GT_DIR --models default RUN_DIR ... \\
                      [--baselines zero-chroma,levin,welsh,reinhard,lut] [--gt-size S] [--working-size S] \\
                      [--device auto] [--limit N] [--hints N[,N...]] --out REPORT_DIR [--overwrite]

Every method receives the same inputs (the L* of each ground-truth image
rendered as sRGB gray uint8, see :mod:`medcolor.evaluate.protocol`); the
zero-chroma baseline is always included.  Writes ``per_image.csv``,
``summary.json``, ``summary.md`` and ``report.html`` (with charts and an image
grid) into REPORT_DIR.
"""
from __future__ import annotations

import argparse
import sys

from ._common import add_working_size, positive_int

__all__ = ["add_parser", "run"]

BASELINE_CHOICES = ("zero-chroma", "levin", "welsh", "reinhard", "lut")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "evaluate",
        help="compare models and classic baselines on colour ground truth",
        description="Colorize the L* of every colour image in GT_DIR with each model and baseline, "
                    "score PSNR, SSIM, CIEDE2000, ab RMSE, colourfulness and luminance error, "
                    "and write a report (CSV, JSON, Markdown, HTML).")
    p.add_argument("--data", required=True, metavar="GT_DIR", action="append",
                   help="folder of colour ground-truth images; repeat to report several sets side by side "
                        "(one report per set in OUT/SET, and OUT/summary.md)")
    p.add_argument("--models", nargs="*", default=[], metavar="MODEL",
                   help="shipped model names, .safetensors files or training run directories; "
                        "each is reported under the string given here")
    p.add_argument("--baselines", default="zero-chroma", metavar="LIST",
                   help=f"comma-separated baselines from {','.join(BASELINE_CHOICES)} "
                        "(zero-chroma is always included)")
    p.add_argument("--gt-size", type=positive_int, default=None, metavar="S",
                   help="resize each ground truth so its short side is S (default: native size)")
    add_working_size(p)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (models only)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="evaluate only the first N usable images (sorted by file name)")
    p.add_argument("--seed", type=int, default=0, help="seed of the Levin hint sampling (default 0)")
    p.add_argument("--hints", type=_hint_counts, default=[], metavar="N[,N...]",
                   help="also score each model with N simulated hint points per image (5x5 patches of the "
                        "true mean colour, seeded by --seed), with its learned hint input and with Levin "
                        "refinement; e.g. 1,2,5,10")
    p.add_argument("--grid", type=int, default=6, metavar="N", help="images shown in the report grid")
    p.add_argument("--out", required=True, metavar="REPORT_DIR", help="folder to write the report into")
    p.add_argument("--overwrite", action="store_true", help="replace report files already in REPORT_DIR")
    p.set_defaults(run=run)
    return p


def _hint_counts(text: str) -> list[int]:
    """``"1,2,5"`` -> ``[1, 2, 5]`` (non-negative integers)."""
    try:
        counts = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated point counts such as 1,2,5, got {text!r}") from None
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError(f"point counts must be integers >= 0, got {text!r}")
    return counts


def _parse_baselines(text: str) -> list[str]:
    from ..errors import UsageError

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BASELINE_CHOICES]
    if unknown:
        raise UsageError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINE_CHOICES)}")
    # zero-chroma first and always; keep the user's order otherwise, without repeats
    return list(dict.fromkeys(["zero-chroma", *names]))


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..evaluate import EvalConfig, evaluate

    for opt in ("limit", "grid"):
        value = getattr(args, opt)
        if value is not None and value < (0 if opt == "grid" else 1):
            raise UsageError(f"--{opt.replace('_', '-')} must be a positive integer, got {value}")
    config = EvalConfig(
        data=args.data, out=args.out, models=list(args.models), baselines=_parse_baselines(args.baselines),
        gt_size=args.gt_size, working_size=args.working_size, device=args.device, limit=args.limit,
        seed=args.seed, grid=args.grid, overwrite=args.overwrite, hints=args.hints)
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    if len(args.data) > 1:
        from ..evaluate import evaluate_sets, side_by_side

        results = evaluate_sets(config, args.data, log=log)
        print(side_by_side({name: r.summary for name, r in results.items()}))
        print(f"reports written to {config.out} (summary.md, one folder per set)")
        return 1 if any(r.unreadable for r in results.values()) else 0
    config.data = args.data[0]
    result = evaluate(config, log=log)
    print(result.table_markdown)
    print(f"report written to {result.out_dir}")
    # exit 1 when some files could not be read (they are listed in the report)
    return 1 if result.unreadable else 0
