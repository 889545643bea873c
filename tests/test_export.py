"""ONNX export: onnxruntime agrees with PyTorch on non-square, dynamic shapes; CLI behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from medcolor.cli import main
from medcolor.export import export_onnx, load_for_export
from medcolor.models import create_model
from medcolor.weights import save_model


def _ort_vs_torch(path, model, shape, seed=0):
    import onnxruntime as ort

    L = torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 100
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["L"] and [o.name for o in sess.get_outputs()] == ["ab"]
    out = sess.run(["ab"], {"L": L.numpy()})[0]
    with torch.no_grad():
        ref = model(L).numpy()
    assert out.shape == ref.shape == (shape[0], 2, *shape[2:])
    return float(np.abs(out - ref).max())


@pytest.mark.parametrize("name", ["fastcolor", "unet"])
def test_onnxruntime_matches_pytorch_on_dynamic_shapes(name, tmp_path):
    torch.manual_seed(0)
    model = create_model(name).eval()
    path = save_model(model, tmp_path / name)  # export from a weights path
    res = export_onnx(str(path), tmp_path / f"{name}.onnx")
    assert not res.random_init and res.max_abs_diff < 0.05
    for shape in [(1, 1, 97, 131), (2, 1, 64, 80), (1, 1, 40, 200)]:
        assert _ort_vs_torch(res.path, model, shape) < 0.05, shape


def test_export_from_a_run_directory(tmp_path):
    torch.manual_seed(1)
    model = create_model("fastcolor", widths=[8, 16, 16, 32, 32]).eval()
    run = tmp_path / "run"
    save_model(model, run / "model")
    m, name, random_init = load_for_export(str(run))
    assert not random_init and m.medcolor_arch["kwargs"]["widths"] == [8, 16, 16, 32, 32]


def test_cli_export_end_to_end(tmp_path, capsys):
    out = tmp_path / "fc.onnx"
    assert main(["export", "fastcolor", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert out.is_file() and "random weights" in captured.err and "max |diff|" in captured.out
    # no overwrite without --overwrite, one line on stderr
    assert main(["export", "fastcolor", "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    out.write_bytes(b"stale")  # --overwrite must replace this with a real model
    assert main(["export", "fastcolor", "-o", str(out), "--overwrite", "--no-check"]) == 0
    import onnx

    assert out.read_bytes() != b"stale"
    onnx.checker.check_model(onnx.load(str(out)))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # atomic: no leftovers


def test_cli_export_refuses_discriminators_and_bad_models(tmp_path, capsys):
    assert main(["export", "patchgan", "-o", str(tmp_path / "d.onnx")]) == 1
    err = capsys.readouterr().err
    assert "discriminator" in err and len(err.strip().splitlines()) == 1
    disc = save_model(create_model("global_discriminator"), tmp_path / "disc")
    assert main(["export", str(disc), "-o", str(tmp_path / "d.onnx")]) == 1
    assert "cannot be exported" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nope"), "-o", str(tmp_path / "n.onnx")]) == 1
    assert main(["export", "fastcolor", "-o", str(tmp_path / "x.txt")]) == 2
    assert not (tmp_path / "d.onnx").exists()


def test_bin_model_graph_carries_decoding_policy_and_confidence(tmp_path):
    """effcolor: outputs ab and confidence, decoded with the model's T and confidence_power (in the metadata)."""
    import json

    import onnx
    import onnxruntime as ort

    from medcolor.export import check_onnx

    torch.manual_seed(0)
    model = create_model("effcolor_lite0", widths=[32, 16, 16, 16], T=0.45, confidence_power=0.5).eval()
    path = save_model(model, tmp_path / "eff")
    res = export_onnx(str(path), tmp_path / "eff.onnx")
    assert res.max_abs_diff < 1e-3
    props = {p.key: p.value for p in onnx.load(str(res.path)).metadata_props}
    assert json.loads(props["medcolor.decoding"]) == {"T": 0.45, "confidence_power": 0.5}
    assert props["medcolor.outputs"] == "ab,confidence"
    assert json.loads(props["medcolor.card"])["architecture"] == "effcolor_lite0"
    sess = ort.InferenceSession(str(res.path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["ab", "confidence"]
    L = torch.rand(3, 1, 50, 70, generator=torch.Generator().manual_seed(3)) * 100
    ab, conf = sess.run(None, {"L": L.numpy()})
    with torch.no_grad():
        ab_ref, conf_ref = model.predict(L)
    assert ab.shape == (3, 2, 50, 70) and conf.shape == (3, 1, 50, 70)
    assert np.abs(ab - ab_ref.numpy()).max() < 1e-3 and np.abs(conf - conf_ref.numpy()).max() < 1e-3
    # the policy is in the graph: another confidence_power gives other colours than this file
    model.confidence_power = 0.0
    assert check_onnx(res.path, model, shape=(1, 1, 50, 70)) > 1e-2
