"""Write the evaluation report: CSV, JSON, Markdown, HTML, charts and an image grid.

Files in the report folder:

* ``per_image.csv``: one row per (image, method) with every metric and the time;
* ``summary.json``: ``{method: {metric: mean}}``, methods keyed by the names
  given on the command line;
* ``run.json``: the protocol, counts of used/skipped files, notes, CI method;
* ``summary.md``: means with 95% confidence intervals, and the paired
  differences to zero-chroma;
* ``report.html``: the same tables, one bar chart per metric
  (``chart_<metric>.png``) and the grid input | ground truth | each method
  (``grid/*.png``).

Confidence intervals: ``mean ± t(0.975, n-1) * s / sqrt(n)`` over images
(Student t, sample standard deviation ``s``).  For differences to zero-chroma
the same interval is taken over the per-image paired differences.
"""
from __future__ import annotations

import csv
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fileio import atomic_write
from .metrics import METRICS

__all__ = ["REPORT_FILES", "COLUMNS", "Stat", "mean_ci", "summarize", "markdown_table", "write_report"]

REPORT_FILES = ("per_image.csv", "summary.json", "run.json", "summary.md", "report.html")
# every numeric column of per_image.csv, in table order; "lpips" only when computed
COLUMNS = [*METRICS, "time_s"]
OPTIONAL = ["lpips"]
LABELS = {**{k: v[0] for k, v in METRICS.items()}, "time_s": "time (s)", "lpips": "LPIPS"}
HIGHER_BETTER = {**{k: v[1] for k, v in METRICS.items()}, "time_s": False, "lpips": False}
CI_NOTE = "95% CI: mean ± t(0.975, n−1)·s/√n over images (Student t)."


@dataclass(frozen=True)
class Stat:
    """Mean, 95% CI half-width and the number of finite values."""

    mean: float
    half: float
    n: int

    def text(self, digits: int) -> str:
        if self.n == 0:
            return "n/a"
        if not math.isfinite(self.half):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.half:.{digits}f}"


def mean_ci(values) -> Stat:
    """Mean and Student-t 95% CI half-width of the finite ``values``."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Stat(float("nan"), float("nan"), 0)
    if v.size == 1:
        return Stat(float(v[0]), float("nan"), 1)
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return Stat(float(v.mean()), half, int(v.size))


def _digits(metric: str) -> int:
    return {"ssim": 4, "colorfulness_ratio": 3, "time_s": 3}.get(metric, 2)


def _by_method(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["method"], []).append(r)
    return out


def _columns(rows: list[dict]) -> list[str]:
    return COLUMNS + [c for c in OPTIONAL if rows and c in rows[0]]


def summarize(rows: list[dict]) -> dict[str, dict[str, Stat]]:
    """``{method: {metric: Stat}}`` in the order methods first appear."""
    cols = _columns(rows)
    return {m: {c: mean_ci([r[c] for r in rs]) for c in cols} for m, rs in _by_method(rows).items()}


def paired_differences(rows: list[dict], reference: str = "zero-chroma") -> dict[str, dict[str, Stat]]:
    """``{method: {metric: Stat of (method - reference)}}`` over the images both scored."""
    ref = {r["image"]: r for r in rows if r["method"] == reference}
    out = {}
    for m, rs in _by_method(rows).items():
        if m == reference:
            continue
        out[m] = {c: mean_ci([r[c] - ref[r["image"]][c] for r in rs if r["image"] in ref])
                  for c in _columns(rows) if c != "time_s"}
    return out


def markdown_table(stats: dict[str, dict[str, Stat]], columns: list[str] | None = None) -> str:
    """A Markdown table: one row per method, one column per metric (mean ± CI)."""
    columns = columns or list(next(iter(stats.values()), {})) or COLUMNS
    # a literal "|" in a label (max |ΔL*|) must be escaped inside a Markdown table
    head = "| method | n | " + " | ".join(
        f"{LABELS[c].replace('|', chr(92) + '|')} {'↑' if HIGHER_BETTER[c] else '↓'}" for c in columns) + " |"
    sep = "|---|---:|" + "---:|" * len(columns)
    lines = [head, sep]
    for m, ms in stats.items():
        n = ms[columns[0]].n
        lines.append(f"| {m} | {n} | " + " | ".join(ms[c].text(_digits(c)) for c in columns) + " |")
    return "\n".join(lines)


def _html_table(stats: dict[str, dict[str, Stat]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(LABELS[c])} {'↑' if HIGHER_BETTER[c] else '↓'}</th>" for c in columns)
    body = []
    for m, ms in stats.items():
        cells = "".join(f"<td>{html.escape(ms[c].text(_digits(c)))}</td>" for c in columns)
        body.append(f"<tr><th>{html.escape(m)}</th><td>{ms[columns[0]].n}</td>{cells}</tr>")
    return (f"<table class='summary'><thead><tr><th>method</th><th>n</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _write_csv(path: Path, rows: list[dict]) -> None:
    fields = ["image", "method", "width", "height", *_columns(rows)]
    extra = sorted({k for r in rows for k in r} - set(fields))

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields + extra)
            w.writeheader()
            w.writerows(rows)

    atomic_write(path, write)


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _chart(path: Path, metric: str, stats: dict[str, dict[str, Stat]]) -> None:
    from .._optional import require

    matplotlib = require("matplotlib", "the evaluation report's charts")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(stats)
    means = [stats[m][metric].mean for m in names]
    errs = [0.0 if not math.isfinite(stats[m][metric].half) else stats[m][metric].half for m in names]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(names), 3.0), dpi=100)
    ax.bar(range(len(names)), means, yerr=errs, capsize=4, color="#4477aa")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_title(f"{LABELS[metric]} ({'higher' if HIGHER_BETTER[metric] else 'lower'} is better), mean ± 95% CI")
    ax.title.set_fontsize(9)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def _thumbnail(image: np.ndarray, height: int = 160) -> "Image.Image":  # noqa: F821
    from PIL import Image

    im = Image.fromarray(image)
    w = max(1, round(im.width * height / im.height))
    return im.resize((w, height), Image.Resampling.LANCZOS)


def _write_grid(out: Path, grid: dict[str, dict[str, np.ndarray]]) -> str:
    """Save thumbnails under ``grid/`` and return the HTML table that shows them."""
    gdir = out / "grid"
    gdir.mkdir(exist_ok=True)
    for old in gdir.glob("[0-9][0-9][0-9]_[0-9][0-9].png"):  # an earlier report's grid (--overwrite)
        old.unlink()
    if not grid:
        return "<p>No images in the grid.</p>"
    columns = list(next(iter(grid.values())))
    rows = []
    for i, (name, images) in enumerate(grid.items()):
        cells = []
        for j, col in enumerate(columns):
            rel = f"grid/{i:03d}_{j:02d}.png"
            thumb = _thumbnail(images[col])
            atomic_write(out / rel, lambda tmp, t=thumb: t.save(tmp, format="PNG"))
            cells.append(f"<td><img src='{rel}' alt='{html.escape(name)}: {html.escape(col)}'></td>")
        rows.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    return f"<table class='grid'><thead><tr><th>image</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _markdown(info: dict, stats, diffs) -> str:
    columns = list(next(iter(stats.values())))
    parts = ["# medcolor evaluation", "", f"Command: `{info['command']}`", "",
             f"Images scored: {info['n_images']}; skipped grayscale ground truth: {len(info['grayscale'])}; "
             f"unreadable: {len(info['unreadable'])}.", "", "## Protocol", ""]
    parts += [f"- {line}" for line in info["protocol"] + info["baselines"] + info["notes"]]
    parts += ["", "## Means", "", CI_NOTE, "", markdown_table(stats), ""]
    if diffs:
        parts += ["## Difference to zero-chroma (paired, per image)", "",
                  markdown_table(diffs, [c for c in columns if c != "time_s"]), ""]
    if info["grayscale"]:
        parts += ["Skipped (grayscale): " + ", ".join(info["grayscale"]), ""]
    if info["unreadable"]:
        parts += ["Unreadable: " + "; ".join(f"{k}: {v}" for k, v in info["unreadable"].items()), ""]
    return "\n".join(parts)


def write_report(out: Path, rows: list[dict], grid: dict, info: dict) -> dict[str, dict[str, Stat]]:
    """Write every report file into ``out``; ``info`` holds command, protocol and counts."""
    out.mkdir(parents=True, exist_ok=True)
    stats = summarize(rows)
    diffs = paired_differences(rows)
    _write_csv(out / "per_image.csv", rows)
    summary = {m: {c: (s.mean if math.isfinite(s.mean) else None) for c, s in ms.items()}
               for m, ms in stats.items()}
    _write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    run = dict(info, ci=CI_NOTE,
               ci95={m: {c: s.half if math.isfinite(s.half) else None for c, s in ms.items()}
                     for m, ms in stats.items()})
    _write_text(out / "run.json", json.dumps(run, indent=2) + "\n")
    _write_text(out / "summary.md", _markdown(info, stats, diffs))

    columns = _columns(rows)
    charts = []
    for metric in columns:
        _chart(out / f"chart_{metric}.png", metric, stats)
        charts.append(f"<figure><img src='chart_{metric}.png' alt='{html.escape(LABELS[metric])}'></figure>")
    grid_html = _write_grid(out, grid)
    esc = html.escape
    protocol = "".join(f"<li>{esc(line)}</li>" for line in info["protocol"] + info["baselines"] + info["notes"])
    diff_html = ("<h2>Difference to zero-chroma (paired, per image)</h2>"
                 + _html_table(diffs, [c for c in columns if c != "time_s"])) if diffs else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>medcolor evaluation</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} table.grid td{{padding:2px}}
figure{{display:inline-block;margin:4px}}</style></head><body>
<h1>medcolor evaluation</h1>
<p><code>{esc(info['command'])}</code></p>
<p>Images scored: {info['n_images']}; skipped grayscale ground truth: {len(info['grayscale'])};
unreadable: {len(info['unreadable'])}.</p>
<h2>Protocol</h2><ul>{protocol}</ul>
<h2>Means</h2><p>{esc(CI_NOTE)}</p>
{_html_table(stats, columns)}
{diff_html}
<h2>Charts</h2>{''.join(charts)}
<h2>Images</h2>{grid_html}
</body></html>
"""
    _write_text(out / "report.html", page)
    return stats
