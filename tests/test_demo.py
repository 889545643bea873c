"""`make demo`: examples/demo.py colorizes the bundled samples and writes the side-by-side figure."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_writes_the_figure(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "side_by_side.png").is_file()
    assert "samples colorized" in done.stdout
