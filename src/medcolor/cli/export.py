"""``medcolor export MODEL -o FILE.onnx|FILE.safetensors``: export a colorizer.

``.onnx`` gives an ONNX graph; ``.safetensors`` gives the weights and the model's
card unchanged (the form of the shipped models).
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export a model to ONNX or safetensors",
        description="Export a colorizer. To .onnx: input 'L' (B, 1, H, W) float32 L* in [0, 100], "
                    "output 'ab' (B, 2, H, W) a*b* in Lab units; batch, H and W are dynamic. "
                    "To .safetensors: the trained weights and their model card, unchanged.")
    p.add_argument("model", help="registered architecture (random weights), shipped model name, "
                                 "training run directory or .safetensors path")
    p.add_argument("-o", "--output", required=True, help="output .onnx or .safetensors file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    p.add_argument("--no-check", action="store_true",
                   help="skip comparing onnxruntime with PyTorch after export")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..export import export_onnx, export_safetensors

    if args.output.lower().endswith(".safetensors"):
        res = export_safetensors(args.model, args.output, overwrite=args.overwrite)
        print(f"wrote {res.path} and {res.path.with_suffix('.json').name} ({res.model_name})")
        return 0
    res = export_onnx(args.model, args.output, overwrite=args.overwrite, opset=args.opset,
                      check=not args.no_check)
    if res.random_init:
        print(f"medcolor export: warning: {res.model_name} is an architecture name; exported "
              f"with random weights (pass a trained model to get useful colours)", file=sys.stderr)
    msg = f"wrote {res.path} ({res.model_name})"
    if res.max_abs_diff is not None:
        msg += f"; onnxruntime vs PyTorch max |diff| = {res.max_abs_diff:.2e} a*b* units"
    print(msg)
    return 0
