"""Write the shipped-model tables of docs/models.md from `medcolor evaluate` reports and the models' cards.

Nothing here is typed by hand: scores come from the reports' ``summary.json``,
everything else from the cards that ``medcolor train`` wrote (carried unchanged
by ``medcolor export``).  Each ``--report`` is a folder written by
``medcolor evaluate`` with one or several ``--data`` sets, whose methods include
the shipped models by name::

    medcolor evaluate --data ../shared/data/photos/val_xsource --data ../shared/data/photos/val \\
        --models photo --grid 6 --out report/photo
    medcolor evaluate --data ../shared/data/medical_color/val_slide2 --data ../shared/data/medical_color/val \\
        --models histology --grid 6 --out report/histology
    medcolor evaluate --data ../shared/data/medical_color/dermoscopy_val --models dermoscopy --out report/dermoscopy
    python docs/make_model_cards.py report/photo report/histology report/dermoscopy

The text between ``<!-- model-cards:start -->`` and ``<!-- model-cards:end -->`` is replaced.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

DOC = Path(__file__).with_name("models.md")
START, END = "<!-- model-cards:start -->", "<!-- model-cards:end -->"


def _sets(report: Path) -> dict[str, dict[str, dict[str, float]]]:
    """``{set: {method: {metric: mean}}}`` of an evaluate report (one set or several)."""
    summary = json.loads((report / "summary.json").read_text())
    first = next(iter(summary.values()))
    if isinstance(next(iter(first.values())), dict):  # several sets
        return summary
    run = json.loads((report / "run.json").read_text())
    return {Path(run["data"]).name: summary}


def _card(name: str) -> dict:
    from medcolor.weights import PRETRAINED_DIR

    return json.loads((PRETRAINED_DIR / f"{name}.json").read_text())


def scores_table(reports: list[Path]) -> list[str]:
    lines = ["| model | validation set | ΔE2000 (zero chroma) | × zero chroma | PSNR dB (zero chroma) | "
             "colourfulness ratio | max \\|ΔL\\*\\| |", "|---|---|---:|---:|---:|---:|---:|"]
    for report in reports:
        for set_name, methods in _sets(report).items():
            zero = methods["zero-chroma"]
            for name, m in methods.items():
                if name == "zero-chroma":
                    continue
                lines.append(
                    f"| `{name}` | {set_name} | {m['deltae2000']:.2f} ({zero['deltae2000']:.2f}) | "
                    f"{m['deltae2000'] / zero['deltae2000']:.2f} | {m['psnr']:.2f} ({zero['psnr']:.2f}) | "
                    f"{m['colorfulness_ratio']:.2f} | {m['max_dl']:.2f} |")
    return lines


def _local(command: str) -> str:
    """A command as a user would type it: run folders relative to the working directory."""
    return re.sub(r"/\S*?/runs/", "runs/", command)


def card_block(name: str) -> list[str]:
    cfg = _card(name)
    meta, kw = cfg["meta"], {k: v for k, v in cfg["kwargs"].items()}
    out = [f"#### `{name}` card", ""]
    if cfg.get("format_version", 1) < 2:
        out += [f"- architecture `{cfg['architecture']}`; {meta.get('description', '')}",
                f"- trained with: `{meta.get('trained_with', '?')}`", ""]
        return out
    size = meta.get("working_size") or "native"
    out += [f"- **Architecture:** `{cfg['architecture']}` {json.dumps(kw)}; working size {size}.",
            f"- **Description:** {meta['description']}",
            f"- **Training data:** {', '.join('`' + Path(p).name + '`' for p in meta['data'].get('train', []))}; "
            f"validation (checkpoint selection and decoding calibration on the first): "
            f"{', '.join('`' + Path(p).name + '`' for p in meta['data'].get('val', []))}.",
            *[f"- **Earlier stage** (`{_local(st.get('init', '?'))}`, recipe `{st.get('recipe', '?')}`): "
              + "; then ".join(f"`{_local(c)}`" for c in st.get("commands", [])) + "."
              for st in meta.get("lineage", [])],
            "- **Commands:** " + "; then ".join(f"`{_local(c)}`" for c in meta.get("commands", [])) + ".",
            f"- **Compute:** {meta['compute'].get('device')} × {meta['compute'].get('world_size')} process(es), "
            f"{meta['compute'].get('threads')} thread(s), {meta['compute'].get('wall_s', 0) / 60:.0f} min wall, "
            f"{meta['compute'].get('images_seen')} training images seen, {meta['step']} steps, "
            f"{meta['compute'].get('date')}; weights: {meta['selected']}."]
    cal = meta.get("calibration") or {}
    if cal:
        def policy(c: dict) -> str:
            return f"T {c['T']}" + (f", power {c['confidence_power']}" if "confidence_power" in c else "")

        curve = ", ".join(f"{policy(c)}: ΔE {c['deltae2000']:.2f} / colourfulness {c['colorfulness_ratio']:.2f}"
                          for c in cal["curve"])
        out.append(f"- **Decoding calibration** on `{cal.get('set')}` ({cal['rule']}): {policy(cal)} "
                   f"({curve}).")
    sweep = cal.get("hints")
    if sweep:
        rows = ", ".join(f"{c['points']} points {c['method']}: PSNR {c['psnr']:.2f} dB" for c in sweep["curve"])
        out.append(f"- **Hint sweep** on `{cal.get('set')}` (automatic: PSNR {sweep['auto']['psnr']:.2f} dB; "
                   f"{rows}): default hint method `{sweep['method']}` ({sweep['rule']}).")
    out.append("")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path)
    ap.add_argument("--doc", type=Path, default=DOC)
    args = ap.parse_args()
    names = list(dict.fromkeys(m for r in args.reports for s in _sets(r).values() for m in s
                               if m != "zero-chroma"))
    block = [START, "", *scores_table(args.reports), ""]
    for name in names:
        block += card_block(name)
    block.append(END)
    text = args.doc.read_text()
    if START not in text or END not in text:
        print(f"{args.doc}: no {START} ... {END} markers", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    args.doc.write_text(head + "\n".join(block) + tail)
    print(f"updated {args.doc} ({len(names)} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
