"""Each shipped model colorizes held-out images of its own domain better than gray does.

For every model :func:`medcolor.weights.list_pretrained` returns, the bundled colour
samples of its domain (``tests/data/DOMAIN``) are reduced to gray with their own L*
(the evaluation protocol's input), colorized, and scored by CIEDE2000 against the
colour original.  The model must beat the zero-chroma rendering (the gray image
itself) by a clear margin, which random weights of the same architecture do not
(checked too).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

import medcolor
from medcolor.evaluate.protocol import render_input

DATA = Path(__file__).parent / "data"
# Shipped model -> (folder of samples of its domain, the largest allowed ratio of its mean
# deltaE2000 to zero chroma's). A new shipped model needs samples here. The limits sit
# between the trained models' ratios (effcolor photo 0.80 and histology 0.46, fastcolor
# dermoscopy 0.29; the earlier fastcolor photo model 0.91) and those of random fastcolor
# weights (photo 1.6-1.9, histology 0.82-1.29, dermoscopy 0.70-1.46 over three seeds):
# dermoscopy patches are nearly one colour, so even a constant guess does fairly well.
DOMAIN = {"photo": ("photo", 0.95), "histology": ("histology", 0.6), "dermoscopy": ("dermoscopy", 0.5)}


def _mean_delta_e(gt: np.ndarray, pred: np.ndarray) -> float:
    return float(deltaE_ciede2000(rgb2lab(gt), rgb2lab(pred)).mean())


def _scores(model: str, folder: Path) -> tuple[float, float]:
    """Mean over the folder's images of (model, zero-chroma) deltaE2000."""
    ours, gray = [], []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".png", ".jpg"):
            continue
        with Image.open(path) as im:
            gt = np.asarray(im.convert("RGB"))  # (H, W, 3) uint8
        g = render_input(gt)  # (H, W) uint8 gray with the ground truth's L*
        pred = medcolor.colorize(g, model=model, device="cpu")
        assert pred.shape == gt.shape and pred.dtype == np.uint8
        ours.append(_mean_delta_e(gt, pred))
        gray.append(_mean_delta_e(gt, np.repeat(g[..., None], 3, axis=-1)))
    assert ours, f"no samples in {folder}"
    return float(np.mean(ours)), float(np.mean(gray))


@pytest.mark.parametrize("name", medcolor.list_pretrained())
def test_shipped_model_file_is_small(name):
    path = Path(medcolor.weights.PRETRAINED_DIR) / f"{name}.safetensors"
    assert path.stat().st_size <= 25 * 1024 * 1024


@pytest.mark.parametrize("name", medcolor.list_pretrained())
def test_shipped_model_beats_zero_chroma_on_its_domain(name):
    if name not in DOMAIN:
        pytest.fail(f"shipped model {name!r} has no bundled samples: add them under tests/data/ and to DOMAIN")
    folder, ratio = DOMAIN[name]
    ours, zero = _scores(name, DATA / folder)
    assert ours <= ratio * zero, f"{name}: mean deltaE2000 {ours:.2f} vs {zero:.2f} for zero chroma"


@pytest.mark.parametrize("name", [n for n in medcolor.list_pretrained() if n in DOMAIN])
def test_the_check_fails_for_untrained_weights(name, tmp_path):
    """The same check on a random-init model of the shipped architecture does not pass."""
    import torch

    from medcolor.models import create_model
    from medcolor.weights import save_model

    arch = medcolor.load_model(name).medcolor_arch
    torch.manual_seed(0)
    path = save_model(create_model(arch["name"], **arch["kwargs"]).eval(), tmp_path / "random")
    folder, ratio = DOMAIN[name]
    ours, zero = _scores(str(path), DATA / folder)
    assert ours > ratio * zero


# Images unlike the photo model's training data: medical grayscale (X-ray, CT, MR) from the examples.
_UNLIKE_PHOTOS = ("chest_xray_cr.dcm", "head_ct.dcm", "shoulder_mr.png")


def _mean_confidence(image) -> float:
    """Mean confidence over the pixels that are not background: display gray in (8%, 92%).

    A black or white background is trivially colourless, so the model is rightly sure there.
    """
    out = medcolor.colorize(image, model="photo", device="cpu", return_confidence=True)
    assert out.confidence.min() >= 0.0 and out.confidence.max() <= 1.0
    gray = out.rgb.astype(np.float32).mean(-1) / 255.0  # L* is kept, so this is the input's gray
    content = (gray > 0.08) & (gray < 0.92)
    return float(out.confidence[content].mean())


def test_photo_confidence_is_lower_on_images_unlike_its_training_data():
    """The shipped photo model knows when it is guessing: less sure on X-ray, CT and MR than on photographs."""
    examples = Path(__file__).parent.parent / "examples"
    photos = []
    for path in sorted((DATA / "photo").iterdir()):
        with Image.open(path) as im:
            photos.append(_mean_confidence(render_input(np.asarray(im.convert("RGB")))))
    unlike = [_mean_confidence(str(examples / name)) for name in _UNLIKE_PHOTOS]
    assert np.mean(unlike) < 0.9 * np.mean(photos), (unlike, photos)
