"""Inference backends: one model run by PyTorch or by ONNX Runtime on the CPU, the faster one chosen.

A backend has one method, ``predict(L, hints=None) -> (ab, confidence or None)``
with the shapes of :meth:`medcolor.models.effcolor.EffColor.predict`: ``L``
``(B, 1, H, W)`` L* in [0, 100] -> ``ab`` ``(B, 2, H, W)`` a*b* in Lab units and,
for models that predict a distribution over a*b* bins, ``confidence``
``(B, 1, H, W)`` in [0, 1] (``None`` for models that regress a*b*).

* :class:`TorchBackend` runs the model itself.
* :class:`OnnxBackend` runs the model's ONNX graph (:func:`medcolor.export.write_onnx`:
  decoding included, dynamic batch and spatial axes) in ONNX Runtime's CPU
  provider with all graph optimisations and one intra-op thread per core
  (threads that wait sleep rather than spin, leaving the cores to the rest of the pipeline).
  The graph has no hint input: a prediction with hints runs in PyTorch.

:func:`select_backend` exports the model once into a user cache folder
(``$MEDCOLOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/medcolor/onnx``, else
``~/.cache/medcolor/onnx``), named by a hash of the weights, the architecture and
the decoding policy, written atomically; a later call, in any process, loads that
file (ONNX is protobuf: nothing is unpickled).  It then checks that the two
backends agree within :data:`TOLERANCE` on a small input, times both on
``example_shape`` (once per cached graph, shape and thread count; the timings are
kept beside the graph) and returns the faster.  Without ``onnxruntime`` (the
``export`` extra) it returns the PyTorch backend: silently with ``prefer="auto"``,
with one line on the ``medcolor.backend`` logger when ONNX was asked for.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from .device import cpu_cores
from .errors import MedcolorError, UsageError
from .export import DEFAULT_OPSET, compare_outputs, decoding_policy, output_names, torch_outputs, write_onnx
from .fileio import atomic_write

__all__ = ["Backend", "TorchBackend", "OnnxBackend", "select_backend", "cache_dir", "graph_key", "cached_graph",
           "TOLERANCE", "PREFER_CHOICES", "DEFAULT_EXAMPLE_SHAPE"]

log = logging.getLogger(__name__)

#: Largest |ONNX Runtime - PyTorch| accepted on any output (a*b* units; confidence in [0, 1]).
TOLERANCE = 1e-3
PREFER_CHOICES = ("auto", "torch", "onnx")
#: What the pipeline feeds the network: 8 frames at the default working size.
DEFAULT_EXAMPLE_SHAPE = (8, 1, 256, 256)
CHECK_SHAPE = (2, 1, 70, 90)  # not a multiple of any stride: the check covers the padding path
_FORMAT = 1  # bump when write_onnx changes what a graph computes, so cached graphs are rebuilt


class Backend(Protocol):
    """What the pipeline calls: :meth:`predict` with the shapes given in the module docstring."""

    name: str

    def predict(self, L: torch.Tensor, hints: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


class TorchBackend:
    """The model itself, in inference mode."""

    name = "torch"

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def predict(self, L: torch.Tensor, hints: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        with torch.inference_mode():
            ab, conf = torch_outputs(self.model, L, hints)
        return ab.float(), None if conf is None else conf.float()


class OnnxBackend:
    """The model's ONNX graph in ONNX Runtime (CPU); predictions with hints run in PyTorch.

    Args:
        path: the ``.onnx`` file (from :func:`cached_graph` or :func:`medcolor.export.write_onnx`).
        model: the same model in PyTorch, for hints.
        threads: intra-op threads (default: the cores this process may use).
    """

    name = "onnx"

    def __init__(self, path: str | Path, model: nn.Module, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or cpu_cores())
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only: no per-node placement chatter
        # Idle worker threads sleep instead of spinning: between two batches the pipeline's own
        # torch work (resizing, recombination, smoothing) needs those cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path, self.threads = Path(path), opts.intra_op_num_threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]
        if self.outputs != output_names(model):
            raise MedcolorError(f"{path}: graph outputs {self.outputs}, the model has {output_names(model)}")
        self.fallback = TorchBackend(model)

    def predict(self, L: torch.Tensor, hints: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if hints is not None:
            return self.fallback.predict(L, hints)
        if L.dim() != 4 or L.shape[1] != 1:
            raise ValueError(f"expected L* of shape (B, 1, H, W), got {tuple(L.shape)}")
        x = np.ascontiguousarray(L.detach().to("cpu", torch.float32).numpy())
        outs = self.session.run(None, {"L": x})
        return torch.from_numpy(outs[0]), (torch.from_numpy(outs[1]) if len(outs) > 1 else None)


# --------------------------------------------------------------------- cache
def cache_dir() -> Path:
    """Folder of the cached ONNX graphs: ``$MEDCOLOR_CACHE_DIR`` or ``<user cache>/medcolor/onnx``."""
    env = os.environ.get("MEDCOLOR_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from .models.pretrained import _cache_dir

    return _cache_dir() / "onnx"


def graph_key(model: nn.Module, opset: int = DEFAULT_OPSET) -> str:
    """Hex SHA-256 of everything the exported graph depends on.

    The weights and buffers (names, dtypes, shapes, bytes), the architecture and its
    arguments, the decoding policy, the outputs, the opset and the torch version: a
    retrained or recalibrated model gets a new graph.
    """
    h = hashlib.sha256()
    arch = getattr(model, "medcolor_arch", None) or {"name": type(model).__qualname__}
    head = {"format": _FORMAT, "class": f"{type(model).__module__}.{type(model).__qualname__}", "arch": arch,
            "decoding": decoding_policy(model), "outputs": output_names(model), "opset": opset,
            "torch": torch.__version__.split("+")[0]}
    h.update(json.dumps(head, sort_keys=True, default=str).encode())
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def cached_graph(model: nn.Module, folder: str | Path | None = None, *, opset: int = DEFAULT_OPSET) -> Path:
    """The ONNX graph of ``model`` in the cache ``folder`` (default :func:`cache_dir`), exported if missing."""
    folder = Path(folder) if folder is not None else cache_dir()
    name = (getattr(model, "medcolor_arch", None) or {}).get("name", type(model).__name__)
    path = folder / f"{name}-{graph_key(model, opset)[:24]}.onnx"
    if not path.is_file():
        was_training = model.training
        model.eval()
        try:
            atomic_write(path, lambda tmp: write_onnx(model, tmp, opset=opset))
        finally:
            model.train(was_training)
    return path


def _record_path(graph: Path) -> Path:
    return graph.with_suffix(".timings.json")


def _read_record(graph: Path) -> dict:
    try:
        record = json.loads(_record_path(graph).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(graph: Path, record: dict) -> None:
    try:
        atomic_write(_record_path(graph), lambda p: p.write_text(json.dumps(record, indent=1) + "\n"))
    except OSError as exc:  # a read-only cache still works, it only times again next time
        log.debug("could not write %s: %s", _record_path(graph), exc)


# --------------------------------------------------------------------- choice
def _seconds(backend: Backend, L: torch.Tensor, repeats: int) -> float:
    """Best of ``repeats`` timed calls after one warm-up call."""
    backend.predict(L)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        backend.predict(L)
        best = min(best, time.perf_counter() - t)
    return best


def _agreement(onnx: OnnxBackend, model: nn.Module) -> float:
    L = torch.rand(*CHECK_SHAPE, generator=torch.Generator().manual_seed(0)) * 100.0
    x = L.numpy()
    with torch.inference_mode():
        ref = torch_outputs(model, L)
    return compare_outputs(onnx.session.run(None, {"L": x}), ref, str(onnx.path))


def _ort_errors() -> tuple[type[BaseException], ...]:
    """The exceptions onnxruntime raises for a bad or unreadable graph (they derive from Exception only)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    names = ("Fail", "InvalidArgument", "NoSuchFile", "NoModel", "InvalidProtobuf", "InvalidGraph",
             "RuntimeException", "NotImplemented")
    return tuple(getattr(state, n) for n in names if hasattr(state, n))


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _load_onnx(model: nn.Module, folder, threads: int | None) -> OnnxBackend:
    """Export (or reuse) and open the graph; a cached file that does not load is exported again once."""
    path = cached_graph(model, folder)
    try:
        return OnnxBackend(path, model, threads=threads)
    except _ort_errors() as exc:
        log.debug("cached graph %s does not load (%s); exporting it again", path, exc)
        path.unlink(missing_ok=True)
        return OnnxBackend(cached_graph(model, folder), model, threads=threads)


def select_backend(model: nn.Module, *, prefer: str = "auto",
                   example_shape: tuple[int, int, int, int] = DEFAULT_EXAMPLE_SHAPE,
                   cache: str | Path | None = None, threads: int | None = None, retime: bool = False,
                   repeats: int = 2) -> Backend:
    """The backend to run ``model`` (eval mode) with: see the module docstring.

    Args:
        prefer: ``auto`` (the faster of the two that agree), ``torch``, or ``onnx`` (ONNX Runtime
            whenever it is installed and agrees with PyTorch within :data:`TOLERANCE`).
        example_shape: the ``(B, 1, H, W)`` input the two are timed on (what the caller will feed).
        cache: folder of the cached graphs (default :func:`cache_dir`).
        threads: ONNX Runtime intra-op threads (default: the cores this process may use).
        retime: time both again even when the cache holds timings for this shape and thread count.
        repeats: timed calls per backend (the best counts).

    A model that is not on the CPU always runs in PyTorch (ONNX Runtime here is CPU only).
    """
    if prefer not in PREFER_CHOICES:
        raise UsageError(f"unknown backend {prefer!r}; choose one of {', '.join(PREFER_CHOICES)}")
    torch_backend = TorchBackend(model)
    if prefer == "torch":
        return torch_backend
    device = _model_device(model)
    if device.type != "cpu":
        if prefer == "onnx":
            log.warning("medcolor: the ONNX backend runs on the CPU only; the model on %s runs in PyTorch", device)
        return torch_backend
    try:
        import onnx  # noqa: F401  (write_onnx needs it)
        import onnxruntime  # noqa: F401
    except ImportError:
        if prefer == "onnx":
            log.warning("medcolor: onnxruntime is not installed (pip install 'medcolor[export]'); running in PyTorch")
        return torch_backend
    try:
        onnx_backend = _load_onnx(model, cache, threads)
        diff = _agreement(onnx_backend, model)
    except (RuntimeError, OSError, ValueError, MedcolorError, *_ort_errors()) as exc:
        log.warning("medcolor: ONNX backend unavailable for this model (%s); running in PyTorch",
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return torch_backend
    if not diff <= TOLERANCE:
        log.warning("medcolor: ONNX Runtime differs from PyTorch by %.2g (> %g); running in PyTorch", diff, TOLERANCE)
        return torch_backend
    if prefer == "onnx":
        return onnx_backend
    record = _read_record(onnx_backend.path)
    slot = f"{'x'.join(map(str, example_shape))}/ort{onnx_backend.threads}/torch{torch.get_num_threads()}"
    timing = record.get(slot)
    if retime or not isinstance(timing, dict) or not {"torch", "onnx"} <= timing.keys():
        L = torch.rand(*example_shape, generator=torch.Generator().manual_seed(1)) * 100.0
        timing = {"torch": _seconds(torch_backend, L, repeats), "onnx": _seconds(onnx_backend, L, repeats),
                  "max_abs_diff": diff}
        _write_record(onnx_backend.path, {**record, slot: timing})
    chosen = onnx_backend if timing["onnx"] < timing["torch"] else torch_backend
    log.info("medcolor: %s backend (%s: torch %.3f s, onnx %.3f s)", chosen.name, slot, timing["torch"],
             timing["onnx"])
    return chosen
