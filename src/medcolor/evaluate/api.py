"""One evaluation run from a config: load the ground truth, run the methods, write the report."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError, MedcolorError, UsageError
from .baselines import baseline_notes, build_baselines
from .protocol import load_ground_truth, protocol_text, set_names
from .report import REPORT_FILES, Stat, markdown_table, write_report
from .runner import ModelMethod, run_methods

__all__ = ["EvalConfig", "EvalResult", "evaluate", "evaluate_sets", "side_by_side"]


@dataclass
class EvalConfig:
    """What ``medcolor evaluate`` was asked to do.

    Attributes:
        data: folder of colour ground-truth images (several: see :func:`evaluate_sets`).
        out: report folder.
        models: model specs (shipped name, ``.safetensors``, run dir); each is
            reported under this exact string.
        baselines: baseline names; ``zero-chroma`` is added when missing.
        gt_size: short side the ground truth is resized to (None = native size).
        working_size: short side at which models predict chroma; ``"auto"`` = the size
            each model was trained for, ``None`` = native size.
        device: torch device for the models.
        limit: evaluate at most this many usable images.
        seed: seed of the Levin hint draw and of the simulated hints.
        hints: numbers of simulated hint points per image; for each N > 0 every
            model is also scored with N hints, learned and Levin
            (:mod:`medcolor.evaluate.hinted`).
        grid: number of images in the report grid.
        overwrite: replace an existing report.
        lpips: compute LPIPS when its weights are on disk (else a note).
    """

    data: str | Path
    out: str | Path
    models: list[str] = field(default_factory=list)
    baselines: list[str] = field(default_factory=lambda: ["zero-chroma"])
    gt_size: int | None = None
    working_size: int | str | None = "auto"
    device: str = "auto"
    limit: int | None = None
    seed: int = 0
    grid: int = 6
    overwrite: bool = False
    lpips: bool = True
    hints: list[int] = field(default_factory=list)

    def command_line(self) -> str:
        """The ``medcolor evaluate`` command that reproduces this run (printed in the report)."""
        parts = ["medcolor", "evaluate"]
        for folder in self.data if isinstance(self.data, (list, tuple)) else [self.data]:
            parts += ["--data", str(folder)]
        if self.models:
            parts += ["--models", *self.models]
        parts += ["--baselines", ",".join(dict.fromkeys(["zero-chroma", *self.baselines]))]
        if self.gt_size:
            parts += ["--gt-size", str(self.gt_size)]
        if self.working_size != "auto":
            parts += ["--working-size", "native" if self.working_size is None else str(self.working_size)]
        if self.limit is not None:
            parts += ["--limit", str(self.limit)]
        if self.seed:
            parts += ["--seed", str(self.seed)]
        if self.hints:
            parts += ["--hints", ",".join(str(n) for n in self.hints)]
        parts += ["--out", str(self.out)]
        return " ".join(shlex.quote(p) for p in parts)


@dataclass
class EvalResult:
    """What a run produced: the report folder, the means and what was skipped."""

    out_dir: Path
    stats: dict[str, dict[str, Stat]]
    grayscale: list[str]
    unreadable: dict[str, str]
    table_markdown: str

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        """``{method: {metric: mean}}`` as in ``summary.json``."""
        return {m: {c: s.mean for c, s in ms.items()} for m, ms in self.stats.items()}


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    existing = [f for f in REPORT_FILES if (out / f).exists()]
    if existing and not overwrite:
        raise MedcolorError(f"{out}: already holds a report ({existing[0]}); pass --overwrite to replace it")


def _method_names(config: EvalConfig) -> list[str]:
    baselines = list(dict.fromkeys(["zero-chroma", *config.baselines]))
    names = [*baselines, *config.models]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"method name(s) given twice: {', '.join(dupes)} (each --models entry names its row)")
    return baselines


def evaluate(config: EvalConfig, log=None) -> EvalResult:
    """Run the whole protocol and write the report into ``config.out``.

    Raises :class:`InputError` for a missing/empty data folder or one with no
    usable colour image, :class:`~medcolor.errors.UnknownModelError` for a model
    that cannot be loaded (before any image is processed) and
    :class:`UsageError` for conflicting names.
    """
    out = Path(config.out)
    _check_out(out, config.overwrite)
    baselines = _method_names(config)
    if config.hints and not config.models:
        raise UsageError("--hints scores models with simulated hints: give at least one --models entry")
    # load models first so an unknown one fails before minutes of work
    models = [ModelMethod(spec, spec, device=config.device, work_size=config.working_size) for spec in config.models]
    gtset = load_ground_truth(config.data, size=config.gt_size, limit=config.limit, log=log)
    if not gtset.samples:
        why = []
        if gtset.grayscale:
            why.append(f"{len(gtset.grayscale)} grayscale")
        if gtset.unreadable:
            why.append(f"{len(gtset.unreadable)} unreadable")
        raise InputError(gtset.root, f"no colour ground-truth image to evaluate ({', '.join(why)} skipped)")
    methods = build_baselines(baselines, gtset.samples, seed=config.seed) + models
    if config.hints:
        from .hinted import hinted_methods, hints_note

        methods += hinted_methods(models, config.hints, seed=config.seed)

    notes = []
    extra = {}
    if config.lpips:
        from .perceptual import LpipsScorer, lpips_status

        ok, note = lpips_status()
        notes.append(note)
        if ok:
            extra["lpips"] = LpipsScorer()
    result = run_methods(gtset.samples, methods, grid=config.grid, log=log, extra_metrics=extra)

    info = {
        "command": config.command_line(),
        "data": str(gtset.root),
        "n_images": len(gtset.samples),
        "methods": [m.name for m in methods],
        "grayscale": gtset.grayscale,
        "unreadable": gtset.unreadable,
        "protocol": protocol_text(config.gt_size, {m.name: m.working_size for m in models}),
        "baselines": baseline_notes(baselines, config.seed, gtset.samples),
        "notes": notes + ([hints_note(config.hints, config.seed)] if config.hints else []),
    }
    stats = write_report(out, result.rows, result.grid, info)
    return EvalResult(out_dir=out, stats=stats, grayscale=gtset.grayscale, unreadable=gtset.unreadable,
                      table_markdown=markdown_table(stats))


def side_by_side(summaries: dict[str, dict[str, dict[str, float]]],
                 columns: tuple[str, ...] = ("deltae2000", "psnr", "colorfulness_ratio")) -> str:
    """Markdown table: one row per method, ``columns`` of every set next to each other."""
    from .report import LABELS

    sets = list(summaries)
    methods = list(dict.fromkeys(m for s in sets for m in summaries[s]))
    head = "| method | " + " | ".join(f"{s}: {LABELS[c].replace('|', chr(92) + '|')}"
                                     for s in sets for c in columns) + " |"
    lines = [head, "|---|" + "---:|" * (len(sets) * len(columns))]
    for m in methods:
        cells = [f"{summaries[s][m][c]:.2f}" if m in summaries[s] else "-" for s in sets for c in columns]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate_sets(config: EvalConfig, folders: list[str | Path], log=None) -> dict[str, EvalResult]:
    """:func:`evaluate` on several ground-truth folders: one report per set in ``out/SET``, plus
    ``out/summary.json`` (``{set: {method: {metric: mean}}}``) and ``out/summary.md`` side by side."""
    import json

    from ..fileio import atomic_write

    out = Path(config.out)
    results = {}
    for name, folder in zip(set_names(folders), folders):
        results[name] = evaluate(replace(config, data=folder, out=out / name), log=log)
    summaries = {name: r.summary for name, r in results.items()}
    atomic_write(out / "summary.json", lambda p: p.write_text(json.dumps(summaries, indent=2) + "\n"))
    command = replace(config, data=list(folders)).command_line()
    text = f"# Evaluation on {len(folders)} sets\n\n`{command}`\n\n{side_by_side(summaries)}\n"
    atomic_write(out / "summary.md", lambda p: p.write_text(text))
    return results
