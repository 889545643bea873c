"""Inference backends: ONNX Runtime agrees with PyTorch, the graph cache, the choice and the fallbacks."""
from __future__ import annotations

import logging
import sys

import pytest
import torch

from medcolor import backend as backend_mod
from medcolor.backend import OnnxBackend, TorchBackend, cached_graph, graph_key, select_backend
from medcolor.errors import UsageError
from medcolor.models import create_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return create_model("fastcolor", widths=[8, 8, 8, 8, 8]).eval()


@pytest.fixture(scope="module")
def photo():
    from medcolor.weights import load_model

    return load_model("photo")


@pytest.fixture(scope="module")
def photo_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


def _max_diff(a, b):
    return float((a - b).abs().max())


def test_tiny_model_onnx_equals_torch(tiny, tmp_path):
    onnx = select_backend(tiny, prefer="onnx", cache=tmp_path)
    assert isinstance(onnx, OnnxBackend)
    ref = TorchBackend(tiny)
    for shape in [(1, 1, 37, 53), (3, 1, 64, 48)]:  # dynamic batch and spatial axes
        L = torch.rand(*shape, generator=torch.Generator().manual_seed(1)) * 100
        (ab, conf), (ab_ref, conf_ref) = onnx.predict(L), ref.predict(L)
        assert conf is None and conf_ref is None  # a regression model has no confidence
        assert ab.shape == (shape[0], 2, *shape[2:]) and _max_diff(ab, ab_ref) < 1e-3


def test_default_model_onnx_equals_torch_with_confidence(photo, photo_cache):
    onnx = select_backend(photo, prefer="onnx", cache=photo_cache)
    assert isinstance(onnx, OnnxBackend) and onnx.outputs == ["ab", "confidence"]
    L = torch.rand(2, 1, 75, 130, generator=torch.Generator().manual_seed(2)) * 100
    (ab, conf), (ab_ref, conf_ref) = onnx.predict(L), TorchBackend(photo).predict(L)
    assert ab.shape == (2, 2, 75, 130) and conf.shape == (2, 1, 75, 130)
    assert _max_diff(ab, ab_ref) < 1e-3 and _max_diff(conf, conf_ref) < 1e-3
    assert float(ab.abs().max()) > 1.0 and 0.0 <= float(conf.min()) <= float(conf.max()) <= 1.0


def test_hints_run_in_pytorch(photo, photo_cache):
    onnx = select_backend(photo, prefer="onnx", cache=photo_cache)
    L = torch.full((1, 1, 64, 64), 60.0)
    hints = torch.zeros(1, 3, 64, 64)
    hints[:, 0, 20:30, 20:30], hints[:, 2, 20:30, 20:30] = 40.0, 1.0
    ab, _ = onnx.predict(L, hints)
    ab_ref, _ = TorchBackend(photo).predict(L, hints)
    assert torch.equal(ab, ab_ref)


def test_cache_is_reused_and_invalidated_when_weights_change(tiny, tmp_path, monkeypatch):
    first = cached_graph(tiny, tmp_path)
    stamp = first.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("the cached graph should have been reused")

    monkeypatch.setattr(backend_mod, "write_onnx", no_export)
    assert select_backend(tiny, prefer="onnx", cache=tmp_path).path == first
    assert first.stat().st_mtime_ns == stamp
    monkeypatch.undo()
    with torch.no_grad():
        tiny.head.bias.add_(1.0)  # retrained weights: a new graph, which follows the new weights
    onnx = select_backend(tiny, prefer="onnx", cache=tmp_path)
    assert onnx.path != first and sorted(p.name for p in tmp_path.glob("*.onnx")) == sorted([first.name,
                                                                                            onnx.path.name])
    L = torch.rand(1, 1, 32, 40) * 100
    assert _max_diff(onnx.predict(L)[0], TorchBackend(tiny).predict(L)[0]) < 1e-3
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".medcolor-tmp")]  # atomic writes


def test_key_follows_the_decoding_policy():
    torch.manual_seed(0)
    model = create_model("eccv16", width=64).eval()
    key = graph_key(model)
    model.T = 0.5  # recalibrated: same weights, other colours
    assert graph_key(model) != key


def test_corrupt_cached_graph_is_exported_again(tiny, tmp_path):
    path = cached_graph(tiny, tmp_path)
    path.write_bytes(b"not an onnx file")
    onnx = select_backend(tiny, prefer="onnx", cache=tmp_path)
    assert isinstance(onnx, OnnxBackend) and onnx.path == path and path.stat().st_size > 1000


def test_auto_times_once_and_picks_the_faster(tiny, tmp_path, monkeypatch):
    calls = []

    def fake_seconds(backend, L, repeats):
        calls.append(backend.name)
        return {"torch": 2.0, "onnx": 1.0}[backend.name]

    monkeypatch.setattr(backend_mod, "_seconds", fake_seconds)
    assert select_backend(tiny, example_shape=(2, 1, 32, 32), cache=tmp_path).name == "onnx"
    assert sorted(calls) == ["onnx", "torch"]
    assert select_backend(tiny, example_shape=(2, 1, 32, 32), cache=tmp_path).name == "onnx"
    assert len(calls) == 2  # the timings were read back from the cache
    monkeypatch.setattr(backend_mod, "_seconds", lambda backend, L, repeats: {"torch": 1.0, "onnx": 3.0}[backend.name])
    assert select_backend(tiny, example_shape=(2, 1, 32, 32), cache=tmp_path, retime=True).name == "torch"
    # really timed: both backends run on this machine and the record holds positive seconds
    monkeypatch.undo()
    chosen = select_backend(tiny, example_shape=(1, 1, 48, 48), cache=tmp_path, repeats=1)
    record = backend_mod._read_record(cached_graph(tiny, tmp_path))
    slot = next(v for k, v in record.items() if k.startswith("1x1x48x48/"))
    assert slot["torch"] > 0 and slot["onnx"] > 0 and slot["max_abs_diff"] < 1e-3
    assert chosen.name == ("onnx" if slot["onnx"] < slot["torch"] else "torch")


def test_torch_when_asked_and_when_outputs_disagree(tiny, tmp_path, monkeypatch, caplog):
    assert isinstance(select_backend(tiny, prefer="torch", cache=tmp_path), TorchBackend)
    assert not list(tmp_path.iterdir())  # prefer=torch exports nothing
    monkeypatch.setattr(backend_mod, "TOLERANCE", -1.0)
    with caplog.at_level(logging.WARNING, logger="medcolor.backend"):
        assert isinstance(select_backend(tiny, prefer="onnx", cache=tmp_path), TorchBackend)
    assert "differs from PyTorch" in caplog.text
    with pytest.raises(UsageError, match="unknown backend"):
        select_backend(tiny, prefer="tensorrt")


@pytest.mark.parametrize("prefer, lines", [("auto", 0), ("onnx", 1)])
def test_without_onnxruntime_falls_back_to_torch(tiny, tmp_path, monkeypatch, caplog, prefer, lines):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    with caplog.at_level(logging.DEBUG, logger="medcolor.backend"):
        b = select_backend(tiny, prefer=prefer, cache=tmp_path)
    assert isinstance(b, TorchBackend) and not list(tmp_path.iterdir())
    assert len(caplog.records) == lines
    if lines:
        assert "onnxruntime is not installed" in caplog.text and "medcolor[export]" in caplog.text
    L = torch.rand(1, 1, 24, 24) * 100
    assert b.predict(L)[0].shape == (1, 2, 24, 24)


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCOLOR_CACHE_DIR", str(tmp_path / "c"))
    assert backend_mod.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("MEDCOLOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert backend_mod.cache_dir() == tmp_path / "xdg" / "medcolor" / "onnx"


def test_cli_colorizes_a_volume_through_onnx_runtime(tmp_path, monkeypatch):
    """`medcolor colorize --backend onnx`: the same picture as PyTorch (within rounding), confidence too."""
    import nibabel as nib
    import numpy as np

    from medcolor.cli import main
    from medcolor.io.writer import confidence_paths

    monkeypatch.setenv("MEDCOLOR_CACHE_DIR", str(tmp_path / "cache"))
    z, y, x = np.mgrid[0:3, 0:40, 0:48]
    vol = (300 * np.cos(x / 5.0 + z) + 100).astype(np.int16)
    src = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(vol.transpose(2, 1, 0), np.eye(4)), src)
    outs = {}
    for name in ("torch", "onnx"):
        out = tmp_path / name
        assert main(["colorize", str(src), "-o", str(out), "--format", "nii", "--working-size", "32",
                     "--backend", name, "--confidence", "-q"]) == 0
        outs[name] = (np.asarray(nib.load(out / "v.nii.gz").dataobj),
                      np.asarray(nib.load(confidence_paths([out / "v.nii.gz"])[0]).get_fdata()))
    rgb = {k: np.stack([v[0][c] for c in ("R", "G", "B")], -1).astype(int) for k, v in outs.items()}
    assert np.abs(rgb["torch"] - rgb["onnx"]).max() <= 1
    assert np.abs(outs["torch"][1] - outs["onnx"][1]).max() <= 1 / 255 + 1e-6
