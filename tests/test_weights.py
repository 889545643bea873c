"""safetensors + JSON model files: round trip, metadata-only load, refusal of pickles, errors."""
from __future__ import annotations

import json

import pytest
import torch

from medcolor.errors import UnknownModelError
from medcolor.models import create_model
from medcolor.weights import load_model, read_config, resolve_model, save_model


def test_round_trip(tmp_path):
    net = create_model("fastcolor", widths=[8, 8, 8, 8, 16]).eval()
    path = save_model(net, tmp_path / "m", meta={"description": "x"})
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    cfg = json.loads(path.with_suffix(".json").read_text())
    assert cfg["architecture"] == "fastcolor" and cfg["kwargs"]["widths"] == [8, 8, 8, 8, 16]
    back = load_model(path)
    x = torch.rand(1, 1, 40, 52) * 100
    with torch.no_grad():
        assert torch.equal(net(x), back(x))
    assert not back.training
    assert back.medcolor_meta["description"] == "x"


def test_lone_safetensors_rebuilds_from_metadata(tmp_path):
    path = save_model(create_model("fastcolor", widths=[8, 8, 8, 8, 8]), tmp_path / "m.safetensors")
    path.with_suffix(".json").unlink()
    assert read_config(path)["architecture"] == "fastcolor"
    assert load_model(path)(torch.rand(1, 1, 32, 32) * 100).shape == (1, 2, 32, 32)


def test_run_directory(tmp_path):
    save_model(create_model("fastcolor", widths=[8, 8, 8, 8, 8]), tmp_path / "run" / "model")
    assert resolve_model(tmp_path / "run") == tmp_path / "run" / "model.safetensors"


def test_pickle_is_refused(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(1)}, p)
    with pytest.raises(UnknownModelError, match="not a .safetensors"):
        load_model(p)


def test_unknown_name_lists_known():
    with pytest.raises(UnknownModelError, match="unknown model 'nope'"):
        load_model("nope")
    with pytest.raises(UnknownModelError, match="known models: .*fastcolor"):
        create_model("nope")


def test_empty_dir(tmp_path):
    with pytest.raises(UnknownModelError, match="no model.safetensors"):
        resolve_model(tmp_path)


def test_mismatched_weights(tmp_path):
    path = save_model(create_model("fastcolor", widths=[8, 8, 8, 8, 8]), tmp_path / "m")
    cfg = json.loads(path.with_suffix(".json").read_text())
    cfg["kwargs"]["widths"] = [8, 8, 8, 8, 16]
    path.with_suffix(".json").write_text(json.dumps(cfg))
    with pytest.raises(UnknownModelError, match="do not match"):
        load_model(path)


def test_fine_tuning_skips_tensors_of_a_replaced_module(tmp_path):
    """``skip`` leaves out the file's tensors under a prefix: a module whose design changed since."""
    from safetensors.torch import load_file, save_file

    from medcolor.weights import load_weights_into

    torch.manual_seed(0)
    path = save_model(create_model("fastcolor", widths=[8, 8, 8, 8, 8]), tmp_path / "m")
    state = load_file(str(path))
    prefix = next(iter(state)).split(".")[0] + "."
    state[prefix + "old_design.weight"] = torch.zeros(3)  # a tensor the current module does not have
    save_file(state, str(path), metadata={k: v for k, v in _metadata(path).items()})
    fresh = create_model("fastcolor", widths=[8, 8, 8, 8, 8])
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    with pytest.raises(UnknownModelError, match="unexpected 1"):
        load_weights_into(fresh, path, allow_missing=True)
    fresh = create_model("fastcolor", widths=[8, 8, 8, 8, 8])
    fresh.load_state_dict(before)
    load_weights_into(fresh, path, allow_missing=True, skip=(prefix,))
    after = fresh.state_dict()
    for k, v in state.items():
        if k in after:  # skipped tensors keep their initial values, the rest come from the file
            assert torch.equal(after[k], before[k] if k.startswith(prefix) else v), k


def _metadata(path):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return f.metadata() or {}


def test_atomic_write_permissions_and_cleanup(tmp_path):
    import os

    from medcolor.weights import atomic_write

    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", lambda p: p.write_text("x"))
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644

    def boom(p):
        p.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "b.txt", boom)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt"]
