"""`make demo`: examples/demo.py colorizes the bundled samples and writes a side-by-side figure.

The figure is checked for what it must show: one row per sample and model, a gray
input tile on the left, and on the right a tile that has colour and keeps the
input's lightness L*.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from medcolor.color import rgb_to_lab_np
from medcolor.weights import list_pretrained

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ROW, GAP = 256, 4  # tile height and the white gap between tiles and rows (examples/demo.py)
LABEL_ROWS = 16  # the name label drawn over the top of the gray tile


def _sample_counts() -> tuple[int, int]:
    """(samples, samples in a folder named after a domain model): the demo's rows with the default model, and after."""
    samples = [p for p in EXAMPLES.rglob("*") if p.is_file() and p.suffix not in (".py", ".md")]
    domain = [p for p in samples if p.parent != EXAMPLES and p.parent.name in list_pretrained()]
    assert len(samples) >= 6 and domain, "the bundled samples are missing"
    return len(samples), len(domain)


def _split_row(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (gray, colour) tiles of one figure row: equal widths ``w``, white columns ``w:w+GAP``, white after."""
    white = (band == 255).all(axis=(0, 2))
    width = band.shape[1]
    for w in range(1, (width - GAP) // 2 + 1):
        if white[w:w + GAP].all() and white[2 * w + GAP:].all():
            return band[:, :w], band[:, w + GAP:2 * w + GAP]
    raise AssertionError("a figure row is not a gray tile, a 4-px gap and a colour tile of the same size")


def test_demo_figure_shows_each_sample_coloured_with_its_lightness_kept(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    n_default, n_domain = _sample_counts()
    match = re.search(r"demo: (\d+) samples colorized; figure written to (.+)$", done.stdout.strip())
    assert match and int(match.group(1)) == n_default + n_domain, done.stdout
    assert Path(match.group(2)) == out / "side_by_side.png"

    fig = np.asarray(Image.open(out / "side_by_side.png").convert("RGB"))
    assert fig.shape[0] == (n_default + n_domain) * (ROW + GAP)
    tiles, colourful = [], []
    for i in range(n_default + n_domain):
        gray, colour = _split_row(fig[i * (ROW + GAP):i * (ROW + GAP) + ROW])
        lab_in, lab_out = rgb_to_lab_np(gray[LABEL_ROWS:]), rgb_to_lab_np(colour[LABEL_ROWS:])
        assert np.hypot(lab_in[..., 1], lab_in[..., 2]).max() < 0.1, f"row {i}: the input tile is not gray"
        chroma = np.hypot(lab_out[..., 1], lab_out[..., 2])
        assert np.percentile(chroma, 90) > 3.0, f"row {i}: the output tile has no colour"
        # the output's L* is the input's (within 1.0 at full size; both tiles are resized the same way)
        dl = np.abs(lab_out[..., 0] - lab_in[..., 0])
        assert dl.mean() < 0.5 and np.percentile(dl, 99) < 1.0, f"row {i}: L* changed ({dl.mean():.2f} mean)"
        tiles.append(gray[LABEL_ROWS:])
        colourful.append(float((chroma > 10).mean()))
    # the domain models' rows come last; each colours its sample (H&E: purple and pink) more than
    # the default model does in the row with the same input tile
    for i in range(n_default, n_default + n_domain):
        same = [j for j in range(n_default) if tiles[j].shape == tiles[i].shape and np.array_equal(tiles[j], tiles[i])]
        assert len(same) == 1, f"row {i}: no row of the default model shows the same input"
        assert colourful[i] > colourful[same[0]] + 0.05, (i, colourful)
