"""Model cards: what a saved model is and how it was made, as a typed record.

The trainer writes the card next to the weights at every checkpoint
(``RUN/model.json``, ``RUN/best/model.json``); ``medcolor export`` carries it
unchanged, so a run directory and the model exported from it colorize
identically (same architecture, arguments and working size) and describe
themselves the same way.  Nothing in a card is typed in by hand.

On disk the card is the JSON config of :mod:`medcolor.weights`::

    {"format_version": 2, "architecture": "effcolor_lite0", "kwargs": {...}, "meta": {...card fields...}}

Format 1 files (free-form ``meta``) are read too: known keys are kept, the rest
go to ``extra``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import MedcolorError
from .models.registry import DEFAULT_WORKING_SIZE, Capabilities, model_entry
from .options import LEARNED_HINT_METHODS

__all__ = ["ModelCard", "ModelCardError", "CARD_VERSION", "DEFAULT_WORKING_SIZE"]

CARD_VERSION = 2


class ModelCardError(MedcolorError, ValueError):
    """A model card (the JSON config beside the weights) that is malformed."""


def _is_metrics(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values())
        for k, v in value.items())


@dataclass
class ModelCard:
    """A model's card.

    Attributes:
        architecture, kwargs: ``create_model(architecture, **kwargs)`` rebuilds the network.
        working_size: short side (pixels) the model colorizes at; ``None`` = native size.
        description: one line on what the model is (the recipe's description).
        recipe: the training recipe's name.
        trainer: the program that wrote the card.
        commands: the command lines that trained it (a resumed run has several).
        lineage: the earlier stages it was fine-tuned from (``model.init``), oldest first,
            each ``{"init": spec, "recipe": name, "commands": [...]}`` as their cards recorded them.
        data: ``{"train": [folders], "val": [folders]}`` as given to the trainer.
        compute: ``device``, ``world_size``, ``wall_s``, ``images_seen``, ``date``.
        step: optimizer steps done.
        selected: which weights these are (``last`` or ``best <metric> on <set>``).
        validation: ``{set name: {metric: value}}`` at ``step``, one entry per validation set.
        zero_chroma: the same metrics for no colour at all (the gray baseline), per set.
        calibration: decoding temperature chosen after training and the curve it was chosen on.
        extra: fields of older card formats, kept verbatim.
    """

    architecture: str
    kwargs: dict = field(default_factory=dict)
    working_size: int | None = DEFAULT_WORKING_SIZE
    description: str = ""
    recipe: str = ""
    trainer: str = "medcolor train"
    commands: list[str] = field(default_factory=list)
    lineage: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, list[str]] = field(default_factory=dict)
    compute: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    selected: str = "last"
    validation: dict[str, dict[str, float]] = field(default_factory=dict)
    zero_chroma: dict[str, dict[str, float]] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("architecture", "description", "recipe", "trainer", "selected"):
            if not isinstance(getattr(self, name), str):
                raise ModelCardError(f"model card: {name} must be text, got {getattr(self, name)!r}")
        if not (self.working_size is None or (isinstance(self.working_size, int) and self.working_size > 0)):
            raise ModelCardError(f"model card: working_size must be a positive integer or null, "
                                    f"got {self.working_size!r}")
        if not all(isinstance(c, str) for c in self.commands):
            raise ModelCardError("model card: commands must be a list of command lines")
        if not all(isinstance(st, dict) and all(isinstance(c, str) for c in st.get("commands", ()))
                   for st in self.lineage):
            raise ModelCardError("model card: lineage must be a list of stages with their command lines")
        for name in ("validation", "zero_chroma"):
            if not _is_metrics(getattr(self, name)):
                raise ModelCardError(f"model card: {name} must map set names to metric values")

    # ------------------------------------------------------------------ files
    def to_config(self) -> dict:
        """The JSON config written beside the weights."""
        meta = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("architecture", "kwargs", "extra")}
        meta.update(self.extra)
        return {"format_version": CARD_VERSION, "architecture": self.architecture, "kwargs": dict(self.kwargs),
                "meta": meta}

    @classmethod
    def from_config(cls, config: dict) -> "ModelCard":
        """Parse a saved config (format 1 or 2); raises :class:`ModelCardError` on a malformed card."""
        if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
            raise ModelCardError("model card: no architecture name")
        meta = dict(config.get("meta") or {})
        names = {f.name for f in dataclasses.fields(cls)} - {"architecture", "kwargs", "extra"}
        known = {k: meta.pop(k) for k in list(meta) if k in names}
        if known.get("working_size") in ("native", 0):
            known["working_size"] = None
        if isinstance(known.get("commands"), str):
            known["commands"] = [known["commands"]]
        return cls(architecture=config["architecture"], kwargs=dict(config.get("kwargs") or {}), extra=meta,
                   **known)

    def stage(self, spec: str) -> dict[str, Any]:
        """This card as one stage of a later model's lineage (that model set ``model.init=spec``)."""
        return {"init": str(spec), "recipe": self.recipe, "commands": list(self.commands)}

    @property
    def capabilities(self) -> Capabilities:
        """What the model can do (:class:`~medcolor.models.registry.Capabilities`): its architecture's
        record with this card's working size and the temperature it was saved with."""
        caps = model_entry(self.architecture).capabilities.replace(working_size=self.working_size,
                                                                    hint_method=self.hint_method)
        if caps.bins and "T" in self.kwargs:
            caps = caps.replace(temperature=float(self.kwargs["T"]))
        return caps

    @property
    def hint_method(self) -> str:
        """The method the trainer's hint sweep chose (``learned`` or ``learned+levin`` when the network's
        own hint input beat Levin refinement), else ``levin``."""
        sweep = (self.calibration or {}).get("hints") or {}
        return sweep["method"] if sweep.get("method") in LEARNED_HINT_METHODS else "levin"

    # ------------------------------------------------------------------ text
    def summary(self, set_name: str | None = None) -> str:
        """One line for ``medcolor models``: description and the headline validation figure."""
        text = self.description or self.architecture
        sets = [set_name] if set_name else list(self.validation)
        for s in sets:
            v, z = self.validation.get(s, {}), self.zero_chroma.get(s, {})
            if "deltae2000" in v:
                text += f"; {s}: ΔE2000 {v['deltae2000']:.2f}"
                if "deltae2000" in z:
                    text += f" (zero chroma {z['deltae2000']:.2f})"
                break
        return text
