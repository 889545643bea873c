"""``medcolor models``: list the architectures and the shipped pretrained models."""
from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "architecture_rows", "pretrained_rows", "rendering_rows"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models", help="list architectures and shipped models",
        description="List every registered architecture (kind, parameters, GFLOPs at SIZE x SIZE, "
                    "paper) and the pretrained models shipped with medcolor.")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--size", type=int, default=256, help="input side for the GFLOPs count (default 256)")
    p.add_argument("--kind", choices=["colorizer", "discriminator"], help="only this kind of architecture")
    p.set_defaults(run=run)


def architecture_rows(size: int = 256, kind: str | None = None) -> list[dict]:
    """One dict per registered architecture: name, kind, params, gflops (at size²), paper."""
    import torch

    from ..models import create_model, list_models, model_entry
    from ..models.summary import count_flops, count_params

    rows = []
    torch.manual_seed(0)
    for name in list_models(kind):
        entry = model_entry(name)
        model = create_model(name)
        rows.append({"name": name, "kind": entry.kind, "params": count_params(model),
                     "gflops": round(count_flops(model, size) / 1e9, 3), "size": size,
                     "exportable": entry.exportable, "paper": entry.paper})
        del model
    return rows


def pretrained_rows() -> list[dict]:
    """One dict per shipped model: name, architecture, size in MB, working size, the hint method
    ``--hint-method auto`` uses, whether it has a confidence map, and its card summary."""
    from ..card import ModelCard, ModelCardError
    from ..errors import UnknownModelError
    from ..hints import resolve_hint_method
    from ..weights import PRETRAINED_DIR, list_pretrained, read_config

    rows = []
    for name in list_pretrained():
        path = PRETRAINED_DIR / f"{name}.safetensors"
        try:
            card = ModelCard.from_config(read_config(path))
        except (ModelCardError, UnknownModelError) as exc:  # one broken file must not hide the others
            rows.append({"name": name, "architecture": "?", "size_mb": round(path.stat().st_size / 1e6, 2),
                         "working_size": "?", "hints": "?", "confidence": "?", "description": f"unreadable card: {exc}"})
            continue
        caps = card.capabilities
        rows.append({"name": name, "architecture": card.architecture,
                     "size_mb": round(path.stat().st_size / 1e6, 2),
                     "working_size": card.working_size or "native",
                     "hints": resolve_hint_method(caps),  # what --hint-method auto uses
                     "confidence": "yes" if caps.confidence else "no",
                     "description": card.summary()})
    return rows


def rendering_rows() -> list[dict]:
    """One dict per rendering (colour computed from the data, no network): name and its card."""
    from ..ct_tissue import CARD

    return [{"name": CARD.name, "description": CARD.description, "encodes": CARD.encodes,
             "does_not_encode": CARD.does_not_encode, "inputs": CARD.inputs}]


def _table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    cells = [[h for _, h in cols]] + [[str(r[k]) for k, _ in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    if args.size < 32:
        raise UsageError(f"--size must be at least 32, got {args.size}")
    archs = architecture_rows(args.size, args.kind)
    shipped = pretrained_rows()
    renderings = rendering_rows()
    if args.json:
        print(json.dumps({"architectures": archs, "pretrained": shipped, "renderings": renderings}, indent=2))
        return 0
    for r in archs:
        r["params_m"] = f"{r['params'] / 1e6:.2f}M"
    print(f"Architectures (GFLOPs for one {args.size}x{args.size} image, multiply-add = 2):")
    print(_table(archs, [("name", "name"), ("kind", "kind"), ("params_m", "params"),
                         ("gflops", "GFLOPs"), ("paper", "paper")]))
    print()
    if shipped:
        print("Shipped models (use with --model NAME):")
        print(_table(shipped, [("name", "name"), ("architecture", "architecture"), ("size_mb", "MB"),
                               ("working_size", "size"), ("hints", "hints"), ("confidence", "confidence"),
                               ("description", "description")]))
    else:
        print("Shipped models: none installed")
    print()
    print("Renderings (use with --model NAME; no network, the colour is computed from the data):")
    from ..ct_tissue import CARD

    print(CARD.text())
    return 0
