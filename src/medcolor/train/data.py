"""Training data: colour folders or gray/colour pairs, a hash split, augmentation.

Workers decode images and crop them; they return uint8 tensors so that the
sRGB -> Lab conversion runs batched on the training device (see
:func:`medcolor.train.steps.to_lab_batch`).

Data order is a pure function of ``(seed, epoch, position)``: the sampler is a
:class:`torch.utils.data.DistributedSampler` (one replica outside torchrun)
that can start mid-epoch, and it hands each sample its own augmentation seed,
so a resumed run sees exactly the batches an uninterrupted run would.
"""
from __future__ import annotations

import hashlib
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, DistributedSampler

from ..color import is_near_gray
from ..errors import InputError, UsageError
from ..io.formats import RASTER_EXTENSIONS
from .config import DataConfig

__all__ = ["Sample", "ScanResult", "DataSources", "as_list", "scan_folder", "scan_pairs", "scan_sources",
           "hash_split", "TrainDataset", "StepSampler", "load_val_batch", "random_crop_box", "stain_jitter",
           "composite"]


@dataclass(frozen=True)
class Sample:
    color: str  # path of the colour image (the target)
    gray: str | None = None  # paired mode: path of the grayscale input


@dataclass
class ScanResult:
    samples: list[Sample] = field(default_factory=list)
    near_gray: int = 0
    unreadable: int = 0
    unmatched: int = 0

    def summary(self, what: str) -> str:
        s = f"{what}: {len(self.samples)} colour images, skipped {self.near_gray} near-gray and {self.unreadable} unreadable"
        return s + (f", {self.unmatched} without a pair" if self.unmatched else "")


#: What decoding an unreadable, corrupt, truncated or oversized image raises; such a file is skipped
#: with a warning, both by the scan and when it becomes unreadable during training.
UNREADABLE = (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError,
              Image.DecompressionBombWarning)
#: Consecutive unreadable samples tolerated in a row before a training step gives up.
MAX_SUBSTITUTES = 16


@contextmanager
def _open_image(path: str | Path):
    """``Image.open`` that refuses decompression bombs (over Pillow's ~89 M pixel limit) instead of warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            yield im


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in RASTER_EXTENSIONS)


def _near_gray(path: Path, max_chroma: float) -> bool:
    """:func:`medcolor.color.is_near_gray` on a 64-px thumbnail; raises one of :data:`UNREADABLE` if unreadable."""
    with _open_image(path) as im:
        im.draft("RGB", (64, 64))  # JPEG: decode at reduced scale, much faster
        im = im.convert("RGB")
        im.thumbnail((64, 64))
        rgb = np.asarray(im)
    return is_near_gray(rgb, max_chroma=max_chroma)


def _check_folder(folder: str | Path, what: str) -> Path:
    p = Path(folder)
    if not p.is_dir():
        raise InputError(p, f"{what} folder does not exist")
    return p


def scan_folder(folder: str | Path, gray_threshold: float, what: str = "data") -> ScanResult:
    """All colour images under ``folder`` (recursive); near-gray and unreadable files are counted.

    Raises :class:`InputError` for a missing or empty folder or one without colour images.
    """
    root = _check_folder(folder, what)
    files = _image_files(root)
    if not files:
        raise InputError(root, f"{what} folder holds no images ({', '.join(RASTER_EXTENSIONS)})")
    result = ScanResult()
    for f in files:
        try:
            gray = _near_gray(f, gray_threshold)
        except UNREADABLE as exc:
            warnings.warn(f"{f}: unreadable image skipped ({type(exc).__name__}: {exc})", stacklevel=2)
            result.unreadable += 1
            continue
        if gray:
            result.near_gray += 1
        else:
            result.samples.append(Sample(str(f)))
    if not result.samples:
        raise InputError(root, f"{what} folder holds no colour images ({result.near_gray} near-gray, "
                               f"{result.unreadable} unreadable)")
    return result


def scan_pairs(gray_dir: str | Path, color_dir: str | Path, gray_threshold: float) -> ScanResult:
    """Pair ``gray_dir/REL`` with ``color_dir/REL`` by relative path (the extension may differ)."""
    colors = scan_folder(color_dir, gray_threshold, "colour")
    groot, croot = _check_folder(gray_dir, "gray"), Path(color_dir)
    grays = {p.relative_to(groot).with_suffix("").as_posix(): p for p in _image_files(groot)}
    result = ScanResult(near_gray=colors.near_gray, unreadable=colors.unreadable)
    for s in colors.samples:
        key = Path(s.color).relative_to(croot).with_suffix("").as_posix()
        if key in grays:
            result.samples.append(Sample(s.color, str(grays[key])))
        else:
            result.unmatched += 1
    if not result.samples:
        raise InputError(groot, f"no gray image matches a colour image of {croot} by relative path")
    return result


def hash_split(samples: list[Sample], val_fraction: float) -> tuple[list[Sample], list[Sample]]:
    """Deterministic train/val split by a hash of each file's name (stable across machines)."""
    train, val = [], []
    for s in samples:
        h = int(hashlib.sha1(Path(s.color).name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (val if h < val_fraction else train).append(s)
    if not val and len(train) > 1:  # tiny sets: keep at least one validation image
        val.append(train.pop())
    return train, val


@dataclass
class DataSources:
    """Where the images come from (stored in checkpoints so ``--resume`` needs no paths)."""

    data: str | list[str] | None = None  # folder(s) of colour images
    val: str | list[str] | None = None  # validation folder(s); None = deterministic hash split of `data`
    gray_dir: str | None = None  # paired mode: gray inputs ...
    color_dir: str | None = None  # ... matched by relative path with colour targets


def as_list(value: str | list[str] | None) -> list[str]:
    """A folder option that may be one path, several, or none -> a list."""
    return [] if not value else [value] if isinstance(value, str) else list(value)


def scan_sources(cfg: DataConfig, src: DataSources) -> tuple[list[Sample], list[Sample], list[str]]:
    """``(train, val, summary lines)`` of the sources; ``val`` is empty when ``src.val`` names folders.

    Without validation folders, ``cfg.val_fraction`` of the training images are held out
    by :func:`hash_split`. Raises :class:`~medcolor.errors.UsageError` when no source is given.
    """
    thr = cfg.gray_threshold
    if src.gray_dir or src.color_dir:
        if not (src.gray_dir and src.color_dir):
            raise UsageError("paired mode needs both --gray-dir and --color-dir")
        scanned = scan_pairs(src.gray_dir, src.color_dir, thr)
    elif src.data:
        scans = [scan_folder(f, thr, "data") for f in as_list(src.data)]
        scanned = scans[0]
        for extra in scans[1:]:
            scanned.samples += extra.samples
            scanned.near_gray += extra.near_gray
            scanned.unreadable += extra.unreadable
    else:
        raise UsageError("give --data DIR (colour images) or --gray-dir and --color-dir")
    lines = [scanned.summary("train data")]
    if src.val:
        train, val = scanned.samples, []
        for folder in as_list(src.val):
            lines.append(scan_folder(folder, thr, "validation").summary(f"validation set {Path(folder).name}"))
    else:
        train, val = hash_split(scanned.samples, cfg.val_fraction)
        lines.append(f"no --val: hash split gives {len(train)} training and {len(val)} validation images")
    return train, val, lines


def random_crop_box(width: int, height: int, cfg: DataConfig, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a random resized crop, as torchvision's RandomResizedCrop.

    The crop's area is at least ``(cfg.min_crop_side * cfg.size)**2`` source pixels (when the
    image has them), so that a small ``crop_scale`` cuts many crops out of a large photo
    without magnifying a small one.
    """
    area = width * height
    lo_r, hi_r = math.log(cfg.crop_ratio[0]), math.log(cfg.crop_ratio[1])
    lo_s = min(max(cfg.crop_scale[0], (cfg.min_crop_side * cfg.size) ** 2 / area), cfg.crop_scale[1])
    for _ in range(10):
        target = area * rng.uniform(lo_s, cfg.crop_scale[1])
        ratio = math.exp(rng.uniform(lo_r, hi_r))
        w, h = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
        if 0 < w <= width and 0 < h <= height:
            left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            return left, top, left + w, top + h
    s = min(width, height)  # fallback: centred square
    left, top = (width - s) // 2, (height - s) // 2
    return left, top, left + s, top + s


def _load_crop(path: str, box: tuple[int, int, int, int], full: tuple[int, int], size: int, mode: str) -> np.ndarray:
    """Decode ``path``, crop ``box`` (in full-resolution coordinates) and resize to ``size``²."""
    with _open_image(path) as im:
        crop_short = max(1, min(box[2] - box[0], box[3] - box[1]))
        scale = max(size / crop_short, 1e-3)
        im.draft(mode, (max(1, int(full[0] * scale)), max(1, int(full[1] * scale))))
        fx, fy = im.size[0] / full[0], im.size[1] / full[1]  # draft may have reduced the decode size
        im = im.convert(mode)
        out = im.resize((size, size), Image.BICUBIC, box=(box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy),
                        reducing_gap=2.0)
        return np.array(out)  # writable copy (torch.from_numpy needs one)


def _image_size(path: str) -> tuple[int, int]:
    with _open_image(path) as im:
        return im.size


class TrainDataset(Dataset):
    """Random resized crops of colour images (and their gray pairs).

    Indexed by ``(index, aug_seed)`` from :class:`StepSampler`; returns
    ``{"rgb": (3, S, S) uint8}`` plus ``"gray": (1, S, S) uint8`` in paired mode.

    A file that became unreadable after the scan (deleted, truncated, permissions
    changed) is skipped with a warning and the next sample in the list takes its
    place with the same augmentation seed, so the run goes on and stays
    reproducible; :data:`MAX_SUBSTITUTES` failures in a row stop it with an
    :class:`~medcolor.errors.InputError`.
    """

    def __init__(self, samples: list[Sample], cfg: DataConfig) -> None:
        self.samples, self.cfg = list(samples), cfg
        if cfg.composite_p > 0 and not cfg.objects:
            raise UsageError("config key 'data.composite_p' needs 'data.objects=FOLDER' (RGBA cut-outs)")
        self.objects = _cutouts(cfg.objects) if cfg.composite_p > 0 else []

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key
        failed = []
        for offset in range(min(len(self.samples), MAX_SUBSTITUTES)):
            sample = self.samples[(index + offset) % len(self.samples)]
            try:
                return self._load(sample, seed)
            except UNREADABLE as exc:
                failed.append(sample.color)
                warnings.warn(f"{sample.gray or sample.color}: image unreadable during training, skipped "
                              f"({type(exc).__name__}: {exc})", stacklevel=2)
        raise InputError(None, f"{len(failed)} training images in a row are unreadable, last {failed[-1]}")

    def _load(self, s: Sample, seed: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(seed)
        full = _image_size(s.color)
        box = random_crop_box(*full, self.cfg, rng)
        geometry = _Geometry.draw(self.cfg, rng)
        rgb = _load_crop(s.color, box, full, self.cfg.size, "RGB")  # (S, S, 3) uint8
        if self.objects and s.gray is None and rng.random() < self.cfg.composite_p:
            rgb = composite(rgb, self.objects[int(rng.integers(len(self.objects)))], rng)
        if self.cfg.stain_jitter > 0:
            rgb = stain_jitter(rgb, self.cfg.stain_jitter, rng)
        out = {"rgb": torch.from_numpy(geometry.apply(rgb)).permute(2, 0, 1)}
        if s.gray is not None:
            gsize = _image_size(s.gray)
            gbox = tuple(round(v * g / f) for v, g, f in zip(box, gsize * 2, full * 2))
            g = _load_crop(s.gray, gbox, gsize, self.cfg.size, "L")  # (S, S) uint8
            out["gray"] = torch.from_numpy(geometry.apply(g))[None]
        return out


def _cutouts(folder: str) -> list[str]:
    """The RGBA images of ``folder`` (cut-outs with transparency), for :func:`composite`."""
    files = [str(p) for p in _image_files(_check_folder(folder, "objects"))]
    if not files:
        raise InputError(Path(folder), "objects folder holds no images")
    return files


def composite(rgb: np.ndarray, cutout: str, rng: np.random.Generator,
              scale: tuple[float, float] = (0.25, 0.7)) -> np.ndarray:
    """Paste the cut-out ``cutout`` (RGBA; opaque images are pasted whole) onto ``(S, S, 3)`` uint8 ``rgb``.

    Its long side becomes a random fraction ``scale`` of S, it may be mirrored, and it
    lands at a random place (it may overhang the border); alpha-blended.
    """
    size = rgb.shape[0]
    with _open_image(cutout) as im:
        im = im.convert("RGBA")
        side = max(2, round(size * rng.uniform(*scale)))
        f = side / max(im.size)
        im = im.resize((max(1, round(im.size[0] * f)), max(1, round(im.size[1] * f))), Image.BICUBIC)
        if rng.random() < 0.5:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        obj = np.asarray(im, dtype=np.float32)
    h, w = obj.shape[:2]
    top, left = int(rng.integers(-h // 4, size - 3 * h // 4 + 1)), int(rng.integers(-w // 4, size - 3 * w // 4 + 1))
    y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + h, size), min(left + w, size)
    if y1 <= y0 or x1 <= x0:
        return rgb
    piece = obj[y0 - top:y1 - top, x0 - left:x1 - left]
    alpha = piece[..., 3:] / 255.0
    out = rgb.astype(np.float32)
    out[y0:y1, x0:x1] = alpha * piece[..., :3] + (1.0 - alpha) * out[y0:y1, x0:x1]
    return (out + 0.5).clip(0, 255).astype(np.uint8)


@dataclass(frozen=True)
class _Geometry:
    """Flips and a quarter-turn rotation, drawn once per sample and applied to both images of a pair."""

    hflip: bool
    vflip: bool
    quarter_turns: int

    @classmethod
    def draw(cls, cfg: DataConfig, rng: np.random.Generator) -> "_Geometry":
        h = cfg.hflip and rng.random() < 0.5
        v = cfg.vflip and rng.random() < 0.5
        k = int(rng.integers(0, 4)) if cfg.rot90 else 0
        return cls(h, v, k)

    def apply(self, img: np.ndarray) -> np.ndarray:
        """``(S, S[, C])`` -> the same shape, contiguous."""
        if self.hflip:
            img = img[:, ::-1]
        if self.vflip:
            img = img[::-1]
        if self.quarter_turns:
            img = np.rot90(img, self.quarter_turns, axes=(0, 1))
        return np.ascontiguousarray(img)


def stain_jitter(rgb: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """H&E stain-intensity augmentation (Tellez et al. 2018): scale and shift each HED channel.

    ``rgb``: ``(S, S, 3)`` uint8 -> the same, with each of the haematoxylin, eosin
    and DAB optical densities multiplied by ``1 + N(0, sigma)`` and shifted by ``N(0, sigma)``
    (in skimage's HED units, scaled by the channel's range).
    """
    from skimage.color import hed2rgb, rgb2hed

    hed = rgb2hed(rgb)  # (S, S, 3) optical densities
    scale = 1.0 + rng.normal(0.0, sigma, 3)
    shift = rng.normal(0.0, sigma, 3) * (np.abs(hed).max(axis=(0, 1)) + 1e-6)
    out = hed2rgb(hed * scale + shift)  # float in [0, 1]
    return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class StepSampler(DistributedSampler):
    """DistributedSampler that starts mid-epoch and yields ``(index, aug_seed)``.

    Each replica's epoch order is ``DistributedSampler``'s (a permutation seeded
    by ``seed + epoch``); ``start`` skips the samples already consumed, so the
    order is a pure function of (seed, epoch, position).
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self):
        indices = list(super().__iter__())[self.start:]
        for pos, idx in enumerate(indices, start=self.start):
            # per-sample augmentation seed, independent of worker count and timing
            yield idx, (self.seed * 1_000_003 + self.epoch) * 1_000_003 + pos * self.num_replicas + self.rank

    def __len__(self) -> int:
        return self.num_samples - self.start


def _val_pair(s: Sample, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Centre crop of one validation sample: ``(3, S, S)`` uint8 and ``(1, S, S)`` uint8 gray or None."""
    full = _image_size(s.color)
    short = min(full)
    left, top = (full[0] - short) // 2, (full[1] - short) // 2
    box = (left, top, left + short, top + short)
    rgb = torch.from_numpy(_load_crop(s.color, box, full, size, "RGB")).permute(2, 0, 1)
    if s.gray is None:
        return rgb, None
    gsize = _image_size(s.gray)
    gbox = tuple(round(v * g / f) for v, g, f in zip(box, gsize * 2, full * 2))
    return rgb, torch.from_numpy(_load_crop(s.gray, gbox, gsize, size, "L"))[None]


def load_val_batch(samples: list[Sample], size: int, limit: int) -> dict[str, torch.Tensor]:
    """Validation images, short side resized to ``size`` and centre-cropped: uint8 batch tensors.

    Returns ``{"rgb": (N, 3, S, S)}`` plus ``"gray": (N, 1, S, S)`` in paired mode.
    """
    rgbs, grays = [], []
    for s in samples[:limit]:
        try:
            rgb, gray = _val_pair(s, size)
        except UNREADABLE as exc:  # became unreadable after the scan
            warnings.warn(f"{s.gray or s.color}: validation image unreadable, skipped ({type(exc).__name__}: "
                          f"{exc})", stacklevel=2)
            continue
        rgbs.append(rgb)
        if gray is not None:
            grays.append(gray)
    if not rgbs:
        raise InputError(None, f"none of the {min(limit, len(samples))} validation images can be read")
    out = {"rgb": torch.stack(rgbs)}
    if grays:
        out["gray"] = torch.stack(grays)
    return out
