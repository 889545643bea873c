"""Tests of the trainer: config, data, losses, every recipe for a few steps, resume, bad input.

Everything runs at 32 px on a handful of synthetic colour images with tiny
model widths; the perceptual loss uses an untrained VGG (``weights=random``,
test-only) because the tests must never need the network.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from medcolor.card import ModelCard
from medcolor.cli import main
from medcolor.errors import InputError, MedcolorError, UsageError
from medcolor.train import apply_overrides, list_recipes, load_recipe
from medcolor.train.config import DataConfig, PerceptualConfig, ScheduleConfig
from medcolor.train.data import Sample, StepSampler, TrainDataset, hash_split, scan_folder, scan_pairs
from medcolor.train.losses import GANLoss, PerceptualLoss, rebalanced_cross_entropy, total_variation
from medcolor.train.optim import lr_factor
from medcolor.weights import read_config

torch.set_num_threads(1)

# Per-recipe overrides that shrink the networks so each recipe trains in seconds.
TINY = {
    "fastcolor-photo": ["model.kwargs.widths=[8,8,16,16,16]"],
    "autoencoder-mse": ["model.kwargs.widths=[8,16,16,32]"],
    "unet-mse": ["model.kwargs.widths=[8,16,16,32]"],
    "unet-fusion-mse": ["model.kwargs.widths=[8,16,16,32]", "model.kwargs.embed_size=75"],
    "resnet18-unet-mse": [],
    "resnet34-unet-mse": [],
    "gan-mse": ["model.kwargs.widths=[8,16,16,32,32]", "discriminator.kwargs.widths=[8,16,16,32]"],
    "eccv16-classification": ["model.kwargs.width=32"],
    "eccv16-vgg-gan": ["model.kwargs.width=32", "discriminator.kwargs.widths=[8,16,16,32]",
                       "losses.perceptual.weights=random"],  # untrained VGG: test-only, offline
    "resnet18-unet-patchgan": ["discriminator.kwargs.ndf=8", "phases.1.start=1"],
}
# argparse takes the key=value overrides as one trailing group: options first, overrides last.
COMMON = ["--steps", "2", "--batch-size", "2", "--size", "32", "--device", "cpu", "data.workers=0",
          "data.val_max_images=2", "log_every=1"]
OPTS, OVERRIDES = COMMON[:8], COMMON[8:]


def _colour_image(i: int, h: int = 40, w: int = 56) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 4 + i * 30) % 256, (y * 5 + i * 50) % 256, ((x + y) * 3 + i * 7) % 256], -1).astype(np.uint8)


def make_colour_folder(root, n: int = 6, extra_gray: int = 0, broken: int = 0):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sub = root / ("sub" if i % 3 == 0 else "")
        sub.mkdir(exist_ok=True)
        Image.fromarray(_colour_image(i, 40 + 2 * i)).save(sub / f"c{i}.{'png' if i % 2 else 'jpg'}")
    for i in range(extra_gray):
        g = _colour_image(i)[..., 0]
        Image.fromarray(np.stack([g, g, g], -1)).save(root / f"gray{i}.png")
    for i in range(broken):
        (root / f"broken{i}.png").write_bytes(b"not a png at all")
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_colour_folder(tmp_path_factory.mktemp("colour"), n=6, extra_gray=1, broken=1)


# ---------------------------------------------------------------- config
def test_every_recipe_loads_and_validates():
    names = list_recipes()
    assert set(TINY) <= set(names)
    for name in names:
        cfg = load_recipe(name).validate()
        assert cfg.recipe == name and cfg.description


def test_patchgan_recipe_has_two_phases_with_a_step_boundary():
    cfg = load_recipe("resnet18-unet-patchgan")
    assert [p.name for p in cfg.phases] == ["l1-pretrain", "cgan"]
    assert cfg.phase_at(0).losses == {"l1": 1.0}
    assert cfg.phase_at(cfg.phases[1].start).losses == {"l1": 100.0, "gan": 1.0}
    assert cfg.optim.lr == 2e-4 and tuple(cfg.optim.betas) == (0.5, 0.999)
    assert cfg.data.size == 256 and cfg.batch_size == 16


def test_overrides_set_nested_fields_and_reject_unknown_keys():
    cfg = apply_overrides(load_recipe("fastcolor-photo"), ["optim.lr=1e-4", "data.crop_scale=[0.2,0.9]", "ema=0"])
    assert cfg.optim.lr == 1e-4 and cfg.data.crop_scale == (0.2, 0.9) and cfg.ema == 0.0
    cfg = apply_overrides(load_recipe("resnet18-unet-patchgan"), ["phases.1.start=10"])
    assert cfg.phases[1].start == 10
    with pytest.raises(UsageError, match="unknown config key 'optim.learning_rate'"):
        apply_overrides(load_recipe("fastcolor-photo"), ["optim.learning_rate=1"])
    with pytest.raises(UsageError, match="must be an integer"):
        apply_overrides(load_recipe("fastcolor-photo"), ["steps=many"])
    with pytest.raises(UsageError, match="expected key=value"):
        apply_overrides(load_recipe("fastcolor-photo"), ["steps"])
    with pytest.raises(UsageError, match="unknown loss"):
        apply_overrides(load_recipe("fastcolor-photo"), ["phases.0.losses.wasserstein=1"]).validate()


@pytest.mark.parametrize("override, message", [
    ("data.crop_scale=[0.5]", "'data.crop_scale' must be a list of 2 values"),
    ("data.crop_scale=[0.9,0.2]", "'data.crop_scale' must satisfy 0 < min <= max <= 1"),
    ("model.kwargs={bogus: 1}", "'model.kwargs': fastcolor takes no argument 'bogus'"),
    ("optim.betas=[0.9]", "'optim.betas' must be a list of 2 values"),
    ("optim.betas=[0.9,1.5]", "'optim.betas' must be two numbers in \\[0, 1\\)"),
    ("optim.name=adagrad", "'optim.name' must be one of adam, adamw, sgd"),
    ("schedule.name=step", "'schedule.name' must be one of"),
    ("model.name=nonet", "'model.name': unknown model 'nonet'"),
    ("model.name=patchgan", "'model.name': 'patchgan' is a discriminator"),
    ("optim.lr=-1", "'optim.lr' must be >= 0"),
    ("ema=1", "'ema' must lie in \\[0, 1\\)"),
    ("data=3", "'data' must be a mapping"),
    ("losses.perceptual.layers=[a]", "'losses.perceptual.layers.0' must be an integer"),
    ("phases.0.losses.huber=-1", "'phases.0.losses.huber' must be a number >= 0"),
    ("hints={patch_min: 5, patch_max: 2}", "'hints' needs patch_min <= patch_max"),
])
def test_bad_overrides_are_one_line_usage_errors(override, message):
    with pytest.raises(UsageError, match=message) as info:
        apply_overrides(load_recipe("fastcolor-photo"), [override])
    assert "\n" not in str(info.value)


def test_cli_reports_a_bad_override_in_one_line(tmp_path, capsys):
    code = main(["train", "--recipe", "fastcolor-photo", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "optim.betas=[0.9]"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "'optim.betas' must be a list of 2 values" in err
    assert not (tmp_path / "r").exists()


def test_flag_values_are_set_without_parsing():
    from medcolor.train import load_config

    cfg = load_config("fastcolor-photo", ["optim.lr=1e-4"], values={"steps": 7, "data.size": 64, "device": "cpu"})
    assert (cfg.steps, cfg.data.size, cfg.device, cfg.optim.lr) == (7, 64, "cpu", 1e-4)
    with pytest.raises(UsageError, match="'steps' must be >= 1"):
        load_config("fastcolor-photo", values={"steps": 0})


def test_recipes_inherit_from_a_base(tmp_path):
    photo, derm = load_recipe("fastcolor-photo"), load_recipe("fastcolor-dermoscopy")
    assert derm.optim == photo.optim and derm.schedule == photo.schedule and derm.ema == photo.ema
    assert derm.data.size == 32 and derm.data.hflip and derm.data.vflip and derm.description != photo.description
    assert load_recipe("gan-mse").discriminator.name == "global_discriminator"
    assert "_base" not in list_recipes() and "_gan" not in list_recipes()
    child = tmp_path / "mine.yaml"
    child.write_text("base: fastcolor-photo\ndescription: mine\noptim: {lr: 1.0e-4}\n")
    cfg = load_recipe(str(child))
    assert cfg.recipe == "mine" and cfg.optim.lr == 1e-4 and cfg.optim.name == "adamw"
    loop = tmp_path / "loop.yaml"
    loop.write_text("base: loop.yaml\n")
    with pytest.raises(UsageError, match="cycle"):
        load_recipe(str(loop))


def test_unknown_recipe_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown recipe 'nope'"):
        load_recipe("nope")


def test_lr_schedules():
    cos = ScheduleConfig(name="cosine", warmup=10, min_lr_ratio=0.1)
    assert lr_factor(0, 100, cos) == pytest.approx(0.1)
    assert lr_factor(9, 100, cos) == pytest.approx(1.0)
    assert lr_factor(10, 100, cos) == pytest.approx(1.0)
    assert lr_factor(100, 100, cos) == pytest.approx(0.1)
    lin = ScheduleConfig(name="linear", min_lr_ratio=0.0)
    assert lr_factor(50, 100, lin) == pytest.approx(0.5)


# ---------------------------------------------------------------- data
def test_scan_counts_near_gray_and_unreadable(data_dir):
    with pytest.warns(UserWarning, match="unreadable"):
        scan = scan_folder(data_dir, gray_threshold=2.0)
    assert len(scan.samples) == 6 and scan.near_gray == 1 and scan.unreadable == 1
    assert "skipped 1 near-gray and 1 unreadable" in scan.summary("train data")


def test_scan_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        scan_folder(tmp_path / "missing", 2.0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        scan_folder(tmp_path / "empty", 2.0)
    gray = tmp_path / "gray"
    gray.mkdir()
    Image.fromarray(np.full((20, 20), 128, np.uint8)).convert("RGB").save(gray / "g.png")
    with pytest.raises(InputError, match="no colour images"):
        scan_folder(gray, 2.0)


def test_hash_split_is_deterministic():
    samples = [Sample(f"/x/img{i}.png") for i in range(200)]
    a, b = hash_split(samples, 0.1), hash_split(list(reversed(samples)), 0.1)
    assert {s.color for s in a[1]} == {s.color for s in b[1]}
    assert 5 < len(a[1]) < 40 and len(a[0]) + len(a[1]) == 200


def test_sampler_order_is_a_pure_function_of_seed_epoch_position():
    ds = list(range(10))
    s = StepSampler(ds, num_replicas=1, rank=0, seed=3)
    s.set_position(2, 0)
    full = list(s)
    s2 = StepSampler(ds, num_replicas=1, rank=0, seed=3)
    s2.set_position(2, 4)
    assert list(s2) == full[4:]
    s.set_position(3, 0)
    assert [i for i, _ in s] != [i for i, _ in full]  # a new epoch reshuffles
    halves = [StepSampler(ds, num_replicas=2, rank=r, seed=3) for r in (0, 1)]
    for h in halves:
        h.set_position(2, 0)
    assert sorted(i for h in halves for i, _ in h) == list(range(10))


def test_dataset_crops_are_deterministic_and_sized(data_dir):
    samples = scan_folder(data_dir, 2.0).samples
    ds = TrainDataset(samples, DataConfig(size=24, crop_scale=(0.3, 1.0)))
    a, b, c = ds[(0, 123)], ds[(0, 123)], ds[(0, 124)]
    assert a["rgb"].shape == (3, 24, 24) and a["rgb"].dtype == torch.uint8
    assert torch.equal(a["rgb"], b["rgb"])
    assert not torch.equal(a["rgb"], c["rgb"])


def test_geometry_and_stain_augmentation(data_dir):
    samples = scan_folder(data_dir, 2.0).samples
    cfg = DataConfig(size=24, hflip=True, vflip=True, rot90=True, stain_jitter=0.05)
    ds = TrainDataset(samples, cfg)
    a, b = ds[(1, 7)], ds[(1, 7)]
    assert torch.equal(a["rgb"], b["rgb"]) and a["rgb"].shape == (3, 24, 24)
    plain = TrainDataset(samples, DataConfig(size=24, hflip=False))[(1, 7)]
    assert not torch.equal(a["rgb"], plain["rgb"])  # augmentations change the crop
    from medcolor.train.data import stain_jitter

    img = np.full((8, 8, 3), (200, 120, 180), np.uint8)
    assert np.abs(stain_jitter(img, 1e-9, np.random.default_rng(0)).astype(int) - img).max() <= 1  # round trip
    assert np.abs(stain_jitter(img, 0.2, np.random.default_rng(0)).astype(int) - img).max() > 2


def test_paired_scan_and_dataset(tmp_path):
    colour = make_colour_folder(tmp_path / "colour", n=4)
    gray = tmp_path / "gray"
    for p in colour.rglob("*.*"):
        rel = p.relative_to(colour).with_suffix(".png")
        (gray / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.open(p).convert("L").save(gray / rel)
    scan = scan_pairs(gray, colour, 2.0)
    assert len(scan.samples) == 4 and all(s.gray for s in scan.samples)
    item = TrainDataset(scan.samples, DataConfig(size=16))[(1, 5)]
    assert item["gray"].shape == (1, 16, 16) and item["rgb"].shape == (3, 16, 16)


# ---------------------------------------------------------------- losses
def test_losses_behave():
    gan = GANLoss("vanilla")
    assert gan.discriminator(torch.full((2, 1), 9.0), torch.full((2, 1), -9.0)) < 1e-3
    for mode in ("lsgan", "hinge"):
        g = GANLoss(mode)
        assert g.discriminator(torch.ones(4), -torch.ones(4)) <= g.discriminator(-torch.ones(4), torch.ones(4))
    assert total_variation(torch.ones(1, 2, 8, 8)) == 0
    logits = torch.zeros(1, 3, 2, 2)
    logits[:, 1] = 10.0
    target = torch.zeros(1, 3, 2, 2)
    target[:, 1] = 1.0
    assert rebalanced_cross_entropy(logits, target) < 1e-3
    weighted = float(rebalanced_cross_entropy(logits, target, torch.full((1, 1, 2, 2), 2.0)))
    assert weighted == pytest.approx(2 * float(rebalanced_cross_entropy(logits, target)), rel=1e-5)


def test_perceptual_loss_offline_error_and_random_test_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(MedcolorError, match="vgg19-dcbb9e9d.pth"):
        PerceptualLoss(PerceptualConfig(weights="imagenet"))
    with pytest.raises(MedcolorError, match="not found"):
        PerceptualLoss(PerceptualConfig(weights=str(tmp_path / "nope.pth")))
    loss = PerceptualLoss(PerceptualConfig(arch="vgg16", layers=(3, 8), weights="random"))
    x = torch.rand(1, 3, 32, 32)
    assert loss(x, x) == 0 and loss(x, torch.rand(1, 3, 32, 32)) > 0


# ---------------------------------------------------------------- end to end
def _train(args: list[str]) -> int:
    return main(["train", *args])


@pytest.mark.parametrize("recipe", sorted(TINY))
def test_every_recipe_trains_a_few_steps(recipe, data_dir, tmp_path):
    run = tmp_path / "run"
    assert _train(["--recipe", recipe, "--data", str(data_dir), "--out", str(run), *COMMON, *TINY[recipe]]) == 0
    lines = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    train = [x for x in lines if x["event"] == "train"]
    assert [x["step"] for x in train] == [1, 2]
    assert all(np.isfinite(x["loss/total"]) for x in train)
    # no --val: the held-out part of --data is scored with the evaluation protocol
    assert any(x["event"] == "val" and x["val/held-out/deltae2000"] > 0 for x in lines)
    import medcolor

    model = medcolor.load_model(run)  # the run directory is a model
    with torch.no_grad():
        ab = model(torch.full((1, 1, 32, 40), 60.0))
    assert ab.shape == (1, 2, 32, 40) and torch.isfinite(ab).all()
    assert (run / "checkpoints" / "step_00000002.pt").is_file() and (run / "checkpoints" / "best.pt").is_file()
    best = medcolor.load_model(run / "best")  # the best-validation weights are a model too
    assert best.medcolor_card.selected == "best deltae2000 on held-out so far"


def _weights(run):
    from safetensors.torch import load_file

    return load_file(str(run / "model.safetensors"))


def test_resume_continues_exactly(data_dir, tmp_path, capsys):
    args = ["--recipe", "fastcolor-photo", "--data", str(data_dir), "--ckpt-every", "2", *OPTS]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train([*args, "--out", str(straight), *OVERRIDES, *TINY["fastcolor-photo"], "steps=4"]) == 0
    assert _train([*args, "--out", str(split), *OVERRIDES, *TINY["fastcolor-photo"]]) == 0
    capsys.readouterr()
    assert _train(["--resume", str(split), "--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert f"resumed {split} from step 2" in out
    events = [json.loads(x) for x in (split / "log.jsonl").read_text().splitlines()]
    assert any(e["event"] == "resume" and e["step"] == 2 for e in events)
    a, b = _weights(straight), _weights(split)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert json.loads((split / "model.json").read_text())["meta"]["step"] == 4
    # the run directory is a model for the other commands too
    gray = tmp_path / "gray.png"
    Image.fromarray(_colour_image(1)[..., 1]).save(gray)
    assert main(["colorize", str(gray), "--model", str(split), "-o", str(tmp_path / "col"), "-q"]) == 0
    assert (tmp_path / "col" / "gray.png").is_file()
    assert main(["export", str(split), "-o", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").stat().st_size > 0


def test_keep_last_prunes_old_checkpoints(data_dir, tmp_path):
    run = tmp_path / "run"
    args = ["--recipe", "autoencoder-mse", "--data", str(data_dir), "--out", str(run), "--ckpt-every", "1", *COMMON,
            *TINY["autoencoder-mse"], "steps=3", "keep_last=2", "val_every=100"]
    assert _train(args) == 0
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["best.pt", "step_00000002.pt", "step_00000003.pt"]
    payload = torch.load(run / "checkpoints" / "step_00000003.pt", weights_only=True)
    assert payload["step"] == 3 and payload["config"]["recipe"] == "autoencoder-mse"
    assert {"model", "opt_g", "sched_g", "scaler", "rng"} <= payload.keys()


def test_paired_mode_trains(tmp_path):
    colour = make_colour_folder(tmp_path / "colour", n=5)
    gray = tmp_path / "gray"
    gray.mkdir()
    for p in colour.rglob("*.*"):
        rel = p.relative_to(colour).with_suffix(".png")
        (gray / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.open(p).convert("L").save(gray / rel)
    run = tmp_path / "run"
    assert _train(["--recipe", "unet-mse", "--gray-dir", str(gray), "--color-dir", str(colour), "--out", str(run),
                   *COMMON, *TINY["unet-mse"]]) == 0
    assert (run / "model.safetensors").is_file()


# ---------------------------------------------------------------- bad input: one line, non-zero exit
def _one_line_error(capsys, args, expect, code):
    rc = _train(args)
    err = capsys.readouterr().err.strip()
    assert rc == code, err
    assert len(err.splitlines()) == 1 and expect in err and "Traceback" not in err
    return err


def test_bad_inputs_give_one_line(tmp_path, data_dir, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    gray = tmp_path / "gray"
    gray.mkdir()
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(gray / "g.png")
    out = ["--out", str(tmp_path / "run")]
    _one_line_error(capsys, ["--recipe", "unet-mse", "--data", str(empty), *out], "holds no images", 1)
    _one_line_error(capsys, ["--recipe", "unet-mse", "--data", str(gray), *out], "no colour images", 1)
    _one_line_error(capsys, ["--recipe", "nope", "--data", str(data_dir), *out], "unknown recipe 'nope'", 2)
    _one_line_error(capsys, ["--recipe", "unet-mse", "--data", str(data_dir), *out, "optim.nope=1"],
                    "unknown config key 'optim.nope'", 2)
    _one_line_error(capsys, ["--resume", str(tmp_path / "missing")], "does not exist", 1)
    _one_line_error(capsys, ["--resume", str(empty)], "no checkpoint", 1)
    _one_line_error(capsys, ["--recipe", "unet-mse", "--data", str(tmp_path / "nowhere"), *out], "does not exist", 1)
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


REAL_PHOTOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "photo")  # 4 bundled photos


def test_trains_on_a_few_real_photos(tmp_path):
    run = tmp_path / "run"
    assert _train(["--recipe", "fastcolor-photo", "--data", REAL_PHOTOS, "--val", REAL_PHOTOS, "--out", str(run),
                   "--steps", "2", "--batch-size", "2", "--size", "64", "--device", "cpu", "data.workers=0",
                   *TINY["fastcolor-photo"]]) == 0
    events = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["event"] == "start")
    assert "train data: 4 colour images, skipped 0 near-gray and 0 unreadable" in start["data"]
    base = next(e for e in events if e["event"] == "baseline_zero_chroma")
    assert 0 < base["photo"]["deltae2000"] < 50 and base["photo"]["psnr"] > 10


def _learnable_image(seed: int, side: int = 48) -> np.ndarray:
    """A smooth random lightness field coloured by one fixed rule (dark blue to light orange).

    The colour is a function of the lightness, so a network can learn it in a few dozen steps.
    """
    coarse = np.random.default_rng(seed).integers(0, 256, (4, 4), dtype=np.uint8)
    v = np.asarray(Image.fromarray(coarse).resize((side, side), Image.BICUBIC), np.float64) / 255.0
    rgb = np.stack([0.15 + 0.85 * v, 0.1 + 0.5 * v, 0.6 - 0.5 * v], -1)
    return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def test_a_short_run_learns_colour_the_loss_falls(tmp_path):
    """40 steps of the photo recipe (tiny widths): the training loss falls, and the model beats gray on held-out images.

    Catches a trainer that no longer learns (wrong target or sign, optimizer or schedule not
    stepping, EMA or export of stale weights), which the few-step runs above cannot see.
    """
    from medcolor.train import load_config, start_run

    folders = {"train": range(8), "val": range(100, 104)}
    for name, seeds in folders.items():
        (tmp_path / name).mkdir()
        for seed in seeds:
            Image.fromarray(_learnable_image(seed)).save(tmp_path / name / f"{seed}.png")
    cfg = load_config("fastcolor-photo", [*TINY["fastcolor-photo"], "ema=0.9", "schedule.warmup=5", "val_every=10",
                                          "working_size=32", "log_every=1", "data.workers=0"],
                      values={"steps": 40, "batch_size": 4, "data.size": 32, "device": "cpu"})
    run = tmp_path / "run"
    final = start_run(cfg, run, data=str(tmp_path / "train"), val=str(tmp_path / "val"))
    events = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    losses = [e["loss/total"] for e in events if e["event"] == "train"]
    assert len(losses) == 40
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.6 * first, f"training loss {first:.4f} -> {last:.4f}"
    scores = [e["val/val/deltae2000"] for e in events if e["event"] == "val"]
    zero = next(e for e in events if e["event"] == "baseline_zero_chroma")["val"]["deltae2000"]
    assert len(scores) == 4 and final["val/val/deltae2000"] == scores[-1]
    assert scores[-1] < 0.8 * zero, f"validation ΔE2000 {scores}, zero chroma {zero:.2f}"
    # the exported model is the one validated: it colours a held-out image by the rule it learnt
    import medcolor
    from medcolor.color import rgb_to_gray_np

    target = _learnable_image(100).astype(np.float64)
    gray = rgb_to_gray_np(target.astype(np.uint8))  # same L* as the target
    rgb = medcolor.colorize(gray, model=run, device="cpu").astype(np.float64)
    as_gray = np.repeat(gray[..., None] * 255.0, 3, -1)
    err, err_gray = np.abs(rgb - target).mean(), np.abs(as_gray - target).mean()
    assert err < 0.7 * err_gray, f"mean RGB error {err:.1f}, as gray {err_gray:.1f}"


def test_init_from_saved_model_and_interleaved_overrides(tmp_path, tiny_model_path, capsys):
    """model.init starts from saved weights; overrides may come before or after options."""
    from PIL import Image as _Image
    from safetensors.torch import load_file

    from medcolor.cli import main as _main

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        _Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(data / f"c{i}.png")
    run = tmp_path / "run"
    code = _main(["train", "--recipe", "fastcolor-photo", "--data", str(data), "--out", str(run),
                  f"model.init={tiny_model_path}", "model.kwargs={widths: [8, 8, 8, 8, 8]}", "--steps", "1",
                  "--size", "32", "--batch-size", "2", "data.workers=0", "optim.lr=0", "ema=0", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    start, end = load_file(str(tiny_model_path)), load_file(str(run / "model.safetensors"))
    # lr 0: the weights are the initial ones (BatchNorm running statistics do move)
    assert all(torch.equal(start[k], end[k]) for k in start if "running" not in k and "num_batches" not in k)
    # the card records where it came from; a further stage carries the whole chain, oldest first
    first = ModelCard.from_config(read_config(run / "model.safetensors"))
    assert first.lineage == [{"init": str(tiny_model_path), "recipe": "", "commands": []}]
    assert first.recipe == "fastcolor-photo" and "model.init=" in first.commands[0]
    code = _main(["train", "--recipe", "fastcolor-photo", "--data", str(data), "--out", str(tmp_path / "run2"),
                  f"model.init={run}", "model.kwargs={widths: [8, 8, 8, 8, 8]}", "--steps", "1", "--size", "32",
                  "--batch-size", "2", "data.workers=0", "ema=0", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    second = ModelCard.from_config(read_config(tmp_path / "run2" / "model.safetensors"))
    assert second.lineage == [*first.lineage, first.stage(str(run))]
    assert second.lineage[1]["commands"] == first.commands
    bad = _main(["train", "--recipe", "unet-mse", "--data", str(data), "--out", str(tmp_path / "r2"),
                 f"model.init={tiny_model_path}", "--steps", "1", "--size", "32", "--batch-size", "2",
                 "--device", "cpu"])
    assert bad == 2 and "holds a 'fastcolor' model" in capsys.readouterr().err
