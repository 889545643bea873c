"""The vividness trade-off of a model that predicts a colour distribution: ΔE2000 against colourfulness.

Two ways to hold colour back where it may be wrong, scored with the evaluation
protocol (:mod:`medcolor.evaluate.protocol`, :func:`medcolor.evaluate.metrics.compute_all`):

* **temperature** (per pixel, from the predicted distribution): the annealed
  mean with temperature T; where the model is sure the distribution is peaked
  and the colour stays vivid whatever T, where it is unsure lower T picks a mode
  and T = 1 averages the modes towards gray;
* **confidence power** (per pixel, from the predicted distribution): chroma x
  confidence ** p, confidence = 1 - normalised entropy of the distribution
  (:func:`medcolor.models.ab_bins.decode`); colour is held back where the model is unsure;
* **uniform factor** (the same for every pixel): the model's a*b* with its card's
  decoding, multiplied by a constant s.

    python benchmarks/tradeoff.py --model default --data ../shared/data/photos/val_xsource \\
        --limit 24 --out docs/figures/tradeoff.png

Prints a Markdown table and writes a plot.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

FACTORS = (0.4, 0.55, 0.7, 0.85, 1.0)
POWERS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _score(samples, predict) -> dict[str, float]:
    from medcolor.evaluate.metrics import compute_all

    rows = [compute_all(s.gt, s.gray, predict(s)) for s in samples]
    return {k: float(np.mean([r[k] for r in rows])) for k in ("deltae2000", "psnr", "colorfulness_ratio")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=24, help="images scored (the first N of the folder)")
    ap.add_argument("--out", type=Path, help="PNG plot")
    args = ap.parse_args()

    from medcolor.color import gray_to_lightness
    from medcolor.evaluate.protocol import load_ground_truth
    from medcolor.models.ab_bins import BinClassifier
    from medcolor.predictor import NetworkPredictor
    from medcolor.recombine import recombine
    from medcolor.train.validate import TEMPERATURES
    from medcolor.weights import load_model

    net = load_model(args.model)
    if not isinstance(net, BinClassifier):
        print(f"{args.model}: not a distribution model (no decoding temperature)", file=sys.stderr)
        return 2
    card_t, card_p = float(net.T), float(net.confidence_power)
    predictor_net = NetworkPredictor(net)
    samples = load_ground_truth(args.data, limit=args.limit).samples

    def predictor(scale: float):
        def predict(sample):
            L = gray_to_lightness(torch.from_numpy(sample.gray.astype(np.float32) / 255.0))[None, None]
            return recombine(L, predictor_net.predict(L).ab * scale)[0]
        return predict

    zero = _score(samples, predictor(0.0))
    rows = []
    net.confidence_power = 0.0
    for t in TEMPERATURES:
        net.T = t
        rows.append(("temperature", t, _score(samples, predictor(1.0))))
    net.T = card_t
    for p in POWERS:
        net.confidence_power = p
        rows.append(("confidence power", p, _score(samples, predictor(1.0))))
    net.confidence_power = card_p
    for s in FACTORS:
        rows.append(("uniform factor", s, _score(samples, predictor(s))))

    print(f"{args.model} on {args.data.name} (first {len(samples)} images); card decoding "
          f"T = {card_t}, confidence power {card_p}; "
          f"zero chroma ΔE2000 {zero['deltae2000']:.2f}, PSNR {zero['psnr']:.2f} dB\n")
    print("| knob | value | ΔE2000 | × zero chroma | PSNR dB | colourfulness ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, v, m in rows:
        print(f"| {kind} | {v} | {m['deltae2000']:.2f} | {m['deltae2000'] / zero['deltae2000']:.2f} | "
              f"{m['psnr']:.2f} | {m['colorfulness_ratio']:.2f} |")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 4))
        for kind, marker in (("temperature", "o-"), ("confidence power", "^-"), ("uniform factor", "s--")):
            pts = [(m["colorfulness_ratio"], m["deltae2000"], v) for k, v, m in rows if k == kind]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker, label=kind)
            for x, y, v in pts:
                ax.annotate(f"{v}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(zero["deltae2000"], color="gray", lw=0.8, ls=":", label="zero chroma")
        ax.set_xlabel("colourfulness ratio (output / ground truth)")
        ax.set_ylabel("mean ΔE2000 (lower is better)")
        ax.set_title(f"{args.model} on {args.data.name} ({len(samples)} images)")
        ax.legend()
        fig.tight_layout()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=120)
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
