"""Atomic writes: recognisable temporary names, and the clean-up of a killed writer's leftovers."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from medcolor.fileio import TEMP_SUFFIX, atomic_write, is_temp_name, remove_stale_temps


def test_temporary_file_is_named_recognisably(tmp_path):
    seen = []

    def write(p: Path) -> None:
        seen.append(p)
        p.write_text("x")

    atomic_write(tmp_path / "sub" / "a.png", write)
    assert (tmp_path / "sub" / "a.png").read_text() == "x"
    assert seen[0].parent == tmp_path / "sub" and seen[0].name.startswith(".a.png.")
    assert is_temp_name(seen[0].name) and seen[0].name.endswith(TEMP_SUFFIX)
    assert not seen[0].exists()


def test_weights_module_still_exports_atomic_write():
    from medcolor import weights

    assert weights.atomic_write is atomic_write


def test_remove_stale_temps_only_touches_leftovers(tmp_path):
    (tmp_path / "deep").mkdir()
    stale = [tmp_path / f".a.png.x1{TEMP_SUFFIX}", tmp_path / "deep" / f".b.dcm.y2{TEMP_SUFFIX}"]
    keep = [tmp_path / "a.png", tmp_path / ".hidden", tmp_path / f"visible{TEMP_SUFFIX}", tmp_path / ".c.tmp"]
    for p in stale + keep:
        p.write_text("x")
    (tmp_path / f".dir{TEMP_SUFFIX}").mkdir()
    assert sorted(remove_stale_temps(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in keep) and (tmp_path / f".dir{TEMP_SUFFIX}").is_dir()
    assert remove_stale_temps(tmp_path / "missing") == []


def test_a_killed_writer_leaves_a_recognisable_file_that_the_next_run_removes(tmp_path):
    # a writer killed with SIGKILL mid-write cannot clean up after itself
    code = ("import sys, time\nfrom medcolor.fileio import atomic_write\n"
            "def w(p):\n    p.write_text('half'); print('writing', flush=True); time.sleep(60)\n"
            "atomic_write(sys.argv[1], w)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "out.png")], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and is_temp_name(left[0].name) and not (tmp_path / "out.png").exists()
    assert remove_stale_temps(tmp_path) == left and not list(tmp_path.iterdir())

