"""``medcolor evaluate`` end to end: report files, hand-computed zero-chroma row, bad input."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from medcolor.cli import main

COLOURS = [(200, 60, 40), (40, 150, 220), (90, 180, 60)]


def _gray_level(rgb: tuple[int, int, int]) -> int:
    """The protocol's input for a constant colour, computed independently of medcolor:
    the sRGB gray whose CIE L* (skimage) equals the colour's, rounded to uint8."""
    L = rgb2lab(np.array([[rgb]], np.uint8))[0, 0, 0]
    y = ((L + 16) / 116) ** 3 if L > 8 else L / 903.3  # CIE L* -> relative luminance
    v = 1.055 * y ** (1 / 2.4) - 0.055 if y > 0.0031308 else 12.92 * y  # sRGB encoding
    return int(round(v * 255))


@pytest.fixture
def gt_dir(tmp_path):
    d = tmp_path / "gt"
    d.mkdir()
    for i, c in enumerate(COLOURS):
        Image.fromarray(np.full((24, 32, 3), c, np.uint8)).save(d / f"c{i}.png")
    Image.fromarray(np.full((24, 32), 100, np.uint8)).save(d / "gray.png")
    return d


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_zero_chroma_row_matches_hand_computed_values(gt_dir, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(gt_dir), "--out", str(out), "--grid", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == ["zero-chroma"]
    z = summary["zero-chroma"]
    c1 = (0.01 * 255) ** 2  # SSIM's luminance constant (the contrast term C2 cancels on flat images)
    psnrs, ssims, des = [], [], []
    for c in COLOURS:
        g = _gray_level(c)
        mse = np.mean([(v - g) ** 2 for v in c])
        psnrs.append(10 * math.log10(255 ** 2 / mse))
        # constant images: variances and covariance are 0, so SSIM is the luminance term per channel
        ssims.append(np.mean([(2 * v * g + c1) / (v * v + g * g + c1) for v in c]))
        des.append(float(deltaE_ciede2000(rgb2lab(np.array([[c]], np.uint8)),
                                          rgb2lab(np.array([[(g, g, g)]], np.uint8)))[0, 0]))
    assert z["psnr"] == pytest.approx(np.mean(psnrs), abs=1e-6)
    assert z["ssim"] == pytest.approx(np.mean(ssims), abs=1e-9)
    assert z["deltae2000"] == pytest.approx(np.mean(des), abs=0.02)
    assert z["colorfulness"] == 0 and z["colorfulness_ratio"] == 0
    assert z["max_dl"] < 1e-6
    run = json.loads((out / "run.json").read_text())
    assert run["grayscale"] == ["gray.png"] and run["n_images"] == 3
    assert run["command"] == f"medcolor evaluate --data {gt_dir} --baselines zero-chroma --out {out}"
    assert "| zero-chroma | 3 |" in capsys.readouterr().out


def test_e2e_with_model_writes_every_report_file(gt_dir, tmp_path, tiny_model_path, rng, capsys):
    # a textured image too, and an unreadable file: reported, exit code 1
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(gt_dir / "noise.png")
    (gt_dir / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    out = tmp_path / "report"
    spec = str(tiny_model_path)
    code = main(["evaluate", "--data", str(gt_dir), "--models", spec, "--baselines", "zero-chroma",
                 "--working-size", "32", "--device", "cpu", "--out", str(out)])
    assert code == 1  # bad.jpg could not be read
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "bad.jpg" in line] == [
        line for line in err.splitlines() if line.startswith(f"skipped {gt_dir / 'bad.jpg'}: cannot read as an image")]
    assert "bad.jpg" in err and "Traceback" not in err
    rows = _csv(out / "per_image.csv")
    assert len(rows) == 4 * 2 and {r["method"] for r in rows} == {"zero-chroma", spec}
    for r in rows:
        assert float(r["time_s"]) >= 0 and 0 < float(r["ssim"]) <= 1
    model_rows = [r for r in rows if r["method"] == spec]
    # the model keeps the input's L* (pipeline guarantee) and adds some colour
    assert max(float(r["max_dl"]) for r in model_rows) <= 1.0
    assert max(float(r["colorfulness"]) for r in model_rows) > 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"zero-chroma", spec}
    assert set(summary[spec]) >= {"psnr", "ssim", "deltae2000", "ab_rmse", "colorfulness",
                                  "colorfulness_ratio", "max_dl", "time_s"}
    md = (out / "summary.md").read_text()
    assert "±" in md and "Protocol" in md and "Difference to zero-chroma" in md
    page = (out / "report.html").read_text()
    assert "<table class='summary'>" in page and "LPIPS" in page
    charts = sorted(p.name for p in out.glob("chart_*.png"))
    assert "chart_psnr.png" in charts and "chart_deltae2000.png" in charts
    grid = list((out / "grid").glob("*.png"))
    assert len(grid) == 4 * 4  # 4 images x (input, ground truth, zero-chroma, model)
    for p in [*grid, *(out / c for c in charts)]:
        assert f"{p.relative_to(out)}" in page
        with Image.open(p) as im:
            im.verify()
    run = json.loads((out / "run.json").read_text())
    assert list(run["unreadable"]) == ["bad.jpg"] and run["grayscale"] == ["gray.png"]
    assert any(f"{spec}: 32 px" in line for line in run["protocol"])
    assert "--working-size 32" in run["command"]


def test_models_share_inputs_and_names_are_kept(gt_dir, tmp_path, tiny_model_path, capsys):
    # the same weights under two spellings: two rows keyed by the given strings, identical scores
    a, b = str(tiny_model_path), str(tiny_model_path.with_suffix(".json"))
    out = tmp_path / "r"
    assert main(["evaluate", "--data", str(gt_dir), "--models", a, b, "--working-size", "32",
                 "--device", "cpu", "--grid", "0", "--out", str(out)]) == 0
    rows = _csv(out / "per_image.csv")
    by = {(r["method"], r["image"]): r for r in rows}
    for img in ("c0.png", "c1.png", "c2.png"):
        for col in ("psnr", "ssim", "deltae2000", "max_dl"):
            assert by[(a, img)][col] == by[(b, img)][col]
    assert list(json.loads((out / "summary.json").read_text())) == ["zero-chroma", a, b]
    capsys.readouterr()
    _one_line_error(capsys, main(["evaluate", "--data", str(gt_dir), "--models", a, a, "--out", str(out),
                                  "--overwrite"]), 2, "given twice")


def _one_line_error(capsys, code, expected_code, *needles):
    err = capsys.readouterr().err.strip()
    assert code == expected_code
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for n in needles:
        assert n in err
    return err


def test_bad_input_messages(gt_dir, tmp_path, capsys):
    out = str(tmp_path / "r")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(capsys, main(["evaluate", "--data", str(empty), "--out", out]), 1, "no image files")
    _one_line_error(capsys, main(["evaluate", "--data", str(gt_dir), "--models", "no-such-model",
                                  "--out", out]), 1, "no-such-model")
    only_gray = tmp_path / "only_gray"
    only_gray.mkdir()
    Image.fromarray(np.full((20, 20), 9, np.uint8)).save(only_gray / "g.png")
    capsys.readouterr()
    code = main(["evaluate", "--data", str(only_gray), "--out", out])
    assert code == 1 and "1 grayscale" in capsys.readouterr().err
    _one_line_error(capsys, main(["evaluate", "--data", str(gt_dir), "--baselines", "magic", "--out", out]),
                    2, "unknown baseline")
    _one_line_error(capsys, main(["evaluate", "--data", str(gt_dir), "--baselines", "welsh",
                                  "--limit", "1", "--out", out]), 2, "at least 2")


def test_existing_report_needs_overwrite(gt_dir, tmp_path, capsys):
    out = str(tmp_path / "r")
    assert main(["evaluate", "--data", str(gt_dir), "--out", out, "--grid", "0"]) == 0
    capsys.readouterr()
    _one_line_error(capsys, main(["evaluate", "--data", str(gt_dir), "--out", out]), 1, "--overwrite")
    assert main(["evaluate", "--data", str(gt_dir), "--out", out, "--overwrite", "--limit", "1"]) == 0
    assert json.loads((tmp_path / "r" / "run.json").read_text())["n_images"] == 1
