"""ONNX export of a colorizer: ``L`` (B, 1, H, W) float32 L* -> ``ab`` (B, 2, H, W) a*b* [+ ``confidence``].

The graph computes what the model's :meth:`predict` computes, decoding included:
for models that predict a distribution over a*b* bins (``effcolor``) the annealed
mean at the model's temperature ``T`` with its chroma shrinkage
``confidence ** confidence_power`` is part of the graph, and a second output
``confidence`` (B, 1, H, W) in [0, 1] follows ``ab``.  The decoding policy and
the model card are also written into the file's metadata (``medcolor.*`` keys),
so a reader can tell how the numbers were decoded.

The model is traced with the TorchScript-based exporter (``dynamo=False``) with
dynamic batch, height and width.  The padding to the model's stride and the
crop back are traced as shape arithmetic, so any H and W work at run time
provided the trace took the padding path: the sample input is therefore
deliberately not a multiple of any stride (97 x 131).  The dynamo exporter
needs ``onnxscript``, which medcolor does not depend on.  Hints are not an
input of the graph: hinted predictions run in PyTorch.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import MedcolorError, UsageError
from .fileio import atomic_write

__all__ = ["ExportResult", "load_for_export", "export_onnx", "check_onnx", "compare_outputs", "export_safetensors",
           "write_onnx", "has_confidence", "output_names", "decoding_policy", "torch_outputs", "onnx_metadata"]

SAMPLE_SIZE = (97, 131)  # odd, so the trace records the padding to the stride
DEFAULT_OPSET = 17
METADATA_PREFIX = "medcolor."


@dataclass(frozen=True)
class ExportResult:
    path: Path
    model_name: str
    random_init: bool  # True when MODEL was a bare architecture name
    max_abs_diff: float | None  # onnxruntime vs PyTorch on a check input (a*b* units), if checked


def has_confidence(model: nn.Module) -> bool:
    """True for models whose ``predict`` returns ``(ab, confidence)`` (their registry capabilities say so)."""
    from .models.registry import model_capabilities

    return model_capabilities(model).confidence


def output_names(model: nn.Module) -> list[str]:
    """The outputs of ``model``'s ONNX graph: ``["ab", "confidence"]`` or ``["ab"]``."""
    return ["ab", "confidence"] if has_confidence(model) else ["ab"]


def decoding_policy(model: nn.Module) -> dict[str, float]:
    """``{"T": ..., "confidence_power": ...}`` of a bin classifier; ``{}`` for a model that regresses a*b*."""
    from .models.registry import model_capabilities

    caps = model_capabilities(model)
    if not caps.bins:
        return {}
    return {"T": float(caps.temperature), "confidence_power": float(caps.confidence_power or 0.0)}


def torch_outputs(model: nn.Module, L: torch.Tensor, hints: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(ab, confidence or None)`` of ``model`` in PyTorch: what the ONNX graph computes (plus hints)."""
    if has_confidence(model):
        return model.predict(L) if hints is None else model.predict(L, hints)
    return (model(L) if hints is None else model(L, hints)), None


class _Graph(nn.Module):
    """The module that is traced: L* -> ab, or L* -> (ab, confidence)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, L: torch.Tensor):
        ab, conf = torch_outputs(self.model, L)
        return ab if conf is None else (ab, conf)


def onnx_metadata(model: nn.Module) -> dict[str, str]:
    """The ``medcolor.*`` metadata written into the ONNX file: outputs, decoding policy and card."""
    meta = {"outputs": ",".join(output_names(model)), "decoding": json.dumps(decoding_policy(model))}
    card = getattr(model, "medcolor_card", None)
    if card is not None:
        meta["card"] = json.dumps(card.to_config())
    arch = getattr(model, "medcolor_arch", None)
    if arch is not None:
        meta["architecture"] = json.dumps(arch)
    return {METADATA_PREFIX + k: v for k, v in meta.items()}


def write_onnx(model: nn.Module, path: str | Path, *, opset: int = DEFAULT_OPSET) -> None:
    """Trace ``model`` (eval mode, on the CPU) into the ONNX file ``path`` with dynamic axes and metadata.

    Writes ``path`` directly; callers wrap it in :func:`~medcolor.fileio.atomic_write`.
    """
    import onnx

    names = output_names(model)
    sample = torch.rand(1, 1, *SAMPLE_SIZE, generator=torch.Generator().manual_seed(0)) * 100.0
    dyn = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings(), torch.no_grad():
        # The exporter warns about Python ints taken from shapes; the padding
        # branch is fixed by the odd sample size and checked by check_onnx.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(_Graph(model).eval(), (sample,), str(path), dynamo=False, input_names=["L"],
                          output_names=names, dynamic_axes={n: dyn for n in ["L", *names]},
                          opset_version=opset)
    proto = onnx.load(str(path))
    for key, value in onnx_metadata(model).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def load_for_export(spec: str) -> tuple[nn.Module, str, bool]:
    """Model for ``spec``: registered architecture (random init), shipped name, run dir or weights path.

    Returns ``(model in eval mode, display name, random_init)``.  Discriminators
    raise :class:`MedcolorError`.
    """
    from .models import list_models, model_entry
    from .weights import load_model, read_config, resolve_model

    if spec in list_models():
        entry = model_entry(spec)
        if not entry.exportable:
            raise MedcolorError(f"{spec} is a {entry.kind}, not a colorizer: it cannot be exported")
        from .models import create_model

        return create_model(spec).eval(), spec, True
    arch = read_config(resolve_model(spec))["architecture"]
    entry = model_entry(arch)
    if not entry.exportable:
        raise MedcolorError(f"{spec}: holds a {arch} {entry.kind}, not a colorizer: it cannot be exported")
    return load_model(spec).eval(), str(spec), False


def compare_outputs(outs: list[np.ndarray], ref: tuple[torch.Tensor, torch.Tensor | None], where: str) -> float:
    """Max |difference| over the outputs of a session and of :func:`torch_outputs` (same order)."""
    refs = [r for r in ref if r is not None]
    if len(outs) != len(refs):
        raise MedcolorError(f"{where}: ONNX graph has {len(outs)} outputs, PyTorch {len(refs)}")
    diff = 0.0
    for out, r in zip(outs, refs):
        r = r.detach().float().cpu().numpy()
        if out.shape != r.shape:
            raise MedcolorError(f"{where}: ONNX output shape {out.shape} differs from PyTorch {r.shape}")
        diff = max(diff, float(np.abs(out - r).max()))
    return diff


def check_onnx(path: str | Path, model: nn.Module, shape: tuple[int, ...] = (2, 1, 83, 117),
               seed: int = 0) -> float:
    """Max |onnxruntime - PyTorch| over all outputs (a*b* units; confidence in [0, 1]) on random L* of ``shape``."""
    from ._optional import require

    ort = require("onnxruntime", "checking an ONNX export")

    g = torch.Generator().manual_seed(seed)
    L = torch.rand(*shape, generator=g) * 100.0
    with torch.no_grad():
        ref = torch_outputs(model, L)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return compare_outputs(sess.run(None, {"L": L.numpy()}), ref, str(path))


def export_onnx(spec: str, out: str | Path, *, overwrite: bool = False, opset: int = DEFAULT_OPSET,
                check: bool = True) -> ExportResult:
    """Export ``spec`` (see :func:`load_for_export`) to the ONNX file ``out``, written atomically.

    Raises :class:`UsageError` if ``out`` exists and ``overwrite`` is false.
    """
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise UsageError(f"{out}: the output file must end in .onnx")
    if out.exists() and not overwrite:
        raise UsageError(f"{out}: already exists (use --overwrite to replace it)")
    model, name, random_init = load_for_export(spec)
    diff: list[float] = []

    def write_and_check(tmp: Path) -> None:  # check the temporary file before it replaces anything
        write_onnx(model, tmp, opset=opset)
        if check:
            diff.append(check_onnx(tmp, model))

    atomic_write(out, write_and_check)
    return ExportResult(out, name, random_init, diff[0] if diff else None)


def export_safetensors(spec: str, out: str | Path, *, overwrite: bool = False) -> ExportResult:
    """Write a trained model (run dir, weights path or shipped name) as ``out`` (.safetensors) + ``.json``.

    The weights and the card (:class:`~medcolor.card.ModelCard`) are carried
    unchanged, so the export colorizes exactly as ``spec`` does; this is how the
    models inside the package are produced from training runs.
    """
    from .weights import save_model

    out = Path(out)
    if out.suffix.lower() != ".safetensors":
        raise UsageError(f"{out}: the output file must end in .safetensors")
    if not overwrite and (out.exists() or out.with_suffix(".json").exists()):
        raise UsageError(f"{out}: already exists (use --overwrite to replace it)")
    model, name, random_init = load_for_export(spec)
    if random_init:
        raise UsageError(f"{spec} is an architecture name: safetensors export needs trained weights "
                         f"(a run directory or a .safetensors path)")
    save_model(model, out, card=model.medcolor_card)
    return ExportResult(out, name, False, None)
