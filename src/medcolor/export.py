"""ONNX export of a colorizer: ``L`` (B, 1, H, W) float32 L* -> ``ab`` (B, 2, H, W) a*b*.

The model is traced with the TorchScript-based exporter (``dynamo=False``) with
dynamic batch, height and width.  The padding to the model's stride and the
crop back are traced as shape arithmetic, so any H and W work at run time
provided the trace took the padding path: the sample input is therefore
deliberately not a multiple of any stride (97 x 131).  The dynamo exporter
needs ``onnxscript``, which medcolor does not depend on.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import MedcolorError, UsageError
from .fileio import atomic_write

__all__ = ["ExportResult", "load_for_export", "export_onnx", "check_onnx", "export_safetensors"]

SAMPLE_SIZE = (97, 131)  # odd, so the trace records the padding to the stride
DEFAULT_OPSET = 17


@dataclass(frozen=True)
class ExportResult:
    path: Path
    model_name: str
    random_init: bool  # True when MODEL was a bare architecture name
    max_abs_diff: float | None  # onnxruntime vs PyTorch on a check input (a*b* units), if checked


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


def check_onnx(path: str | Path, model: nn.Module, shape: tuple[int, ...] = (2, 1, 83, 117),
               seed: int = 0) -> float:
    """Max |onnxruntime - PyTorch| in a*b* units on random L* of ``shape``."""
    from ._optional import require

    ort = require("onnxruntime", "checking an ONNX export")

    g = torch.Generator().manual_seed(seed)
    L = torch.rand(*shape, generator=g) * 100.0
    with torch.no_grad():
        ref = model(L).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(["ab"], {"L": L.numpy()})[0]
    if out.shape != ref.shape:
        raise MedcolorError(f"{path}: ONNX output shape {out.shape} differs from PyTorch {ref.shape}")
    return float(np.abs(out - ref).max())


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
    sample = torch.rand(1, 1, *SAMPLE_SIZE) * 100.0
    dyn = {0: "batch", 2: "height", 3: "width"}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            # The exporter warns about Python ints taken from shapes; the padding
            # branch is fixed by the odd sample size and checked below.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            torch.onnx.export(model, (sample,), str(tmp), dynamo=False, input_names=["L"],
                              output_names=["ab"], dynamic_axes={"L": dyn, "ab": dyn},
                              opset_version=opset)

    # Check the temporary file before it replaces anything.
    diff: list[float] = []

    def write_and_check(tmp: Path) -> None:
        write(tmp)
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
