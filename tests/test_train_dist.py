"""Process-level trainer tests: resume after ``kill -9`` at a fixed point, and 2-process DDP under torchrun (gloo, CPU)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from test_train import make_colour_folder

from medcolor.fileio import TEMP_SUFFIX

TINY_FAST = ["model.kwargs.widths=[8,8,16,16,16]"]


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("WORLD_SIZE", None)
    return env


def _log(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]


def _digests(run: Path) -> dict[int, float]:
    """Last logged data fingerprint of each step (a killed run may have logged steps it later redid)."""
    return {e["step"]: e["data_digest"] for e in _log(run) if e["event"] == "train"}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run / "model.safetensors"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_colour_folder(tmp_path_factory.mktemp("colour"), n=8)


def _args(data_dir: Path, run: Path, steps: int) -> list[str]:
    return ["train", "--recipe", "fastcolor-photo", "--data", str(data_dir), "--out", str(run), "--steps", str(steps),
            "--batch-size", "2", "--size", "32", "--device", "cpu", "--ckpt-every", "1", "data.workers=1",
            "log_every=1", "val_every=1000", "data.val_max_images=2", *TINY_FAST]


# `medcolor train ARGS` in a process that stops for good at a fixed point: when checkpoint STOP is
# written to its temporary file and about to be renamed into place (the steps before STOP are saved,
# step STOP is trained), it prints one line and waits to be killed.  Usage: -c CODE STOP ARGS...
PAUSE_AT_CHECKPOINT = """
import os, signal, sys
stop = "step_%08d.pt" % int(sys.argv[1])
def hook(event, args):
    if event == "os.rename" and os.path.basename(os.fspath(args[1])) == stop:
        print("paused at checkpoint", sys.argv[1], flush=True)
        while True:
            signal.pause()
sys.addaudithook(hook)
from medcolor.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_resume_after_kill_reaches_the_step_with_the_same_data_order(data_dir, tmp_path):
    steps, stop = 6, 3
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    proc = subprocess.Popen([sys.executable, "-c", PAUSE_AT_CHECKPOINT, str(stop), *_args(data_dir, killed, steps)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(300, proc.kill)  # a run that never reaches the point fails; it never hangs
    watchdog.start()
    try:
        paused = any(line.strip() == f"paused at checkpoint {stop}" for line in iter(proc.stdout.readline, ""))
        assert paused, "the run ended without reaching the checkpoint"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
        proc.stdout.close()
    # what kill -9 left: the checkpoints before `stop`, and checkpoint `stop` still in its temporary file
    ckpts = killed / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("step_*.pt")) == [f"step_{k:08d}.pt" for k in range(1, stop)]
    assert len(list(ckpts.glob(f".step_{stop:08d}.pt.*{TEMP_SUFFIX}"))) == 1

    resumed = subprocess.run([sys.executable, "-m", "medcolor", "train", "--resume", str(killed)], env=_env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed {killed} from step {stop - 1}" in resumed.stdout
    assert not list(killed.rglob(f"*{TEMP_SUFFIX}"))

    subprocess.run([sys.executable, "-m", "medcolor", *_args(data_dir, straight, steps)], env=_env(), check=True,
                   capture_output=True, timeout=300)
    a, b = _digests(killed), _digests(straight)
    assert sorted(a) == list(range(1, steps + 1))
    assert a == b  # identical data order and augmentation, step by step
    wa, wb = _weights(killed), _weights(straight)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert json.loads((killed / "model.json").read_text())["meta"]["step"] == steps


def test_torchrun_two_cpu_processes(data_dir, tmp_path):
    run = tmp_path / "ddp"
    # torch.distributed.run is torchrun; through the interpreter it needs no script on PATH
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "medcolor",
           "train", "--recipe", "gan-mse", "--data", str(data_dir), "--out", str(run), "--steps", "3",
           "--batch-size", "2", "--size", "32", "--device", "cpu", "data.workers=0", "log_every=1", "grad_accum=2",
           "data.val_max_images=2", "model.kwargs.widths=[8,16,16,32,32]", "discriminator.kwargs.widths=[8,16,16,32]"]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world size 2" in proc.stdout
    log = _log(run)
    starts = [e for e in log if e["event"] == "start"]
    assert len(starts) == 1 and starts[0]["world_size"] == 2  # only rank 0 writes
    assert [e["step"] for e in log if e["event"] == "train"] == [1, 2, 3]
    assert all("loss/d" in e for e in log if e["event"] == "train")
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.startswith("step_")) == \
        ["step_00000003.pt"]
    import medcolor

    assert medcolor.load_model(run)(torch.full((1, 1, 32, 32), 50.0)).shape == (1, 2, 32, 32)
