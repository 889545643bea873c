"""Training configuration: typed dataclasses, YAML recipes and ``key=value`` overrides.

A recipe is a YAML file in ``medcolor/configs/`` (``NAME.yaml``) or any path to
a YAML file.  Its keys mirror :class:`TrainConfig`; nested sections are nested
dataclasses.  An override such as ``optim.lr=1e-4`` or ``phases.1.start=2000``
sets one field (the value is parsed as YAML); an unknown key is a
:class:`~medcolor.errors.UsageError` naming the key and the known ones.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import UsageError
from ..hints import HintSampling

__all__ = ["ModelSpec", "DataConfig", "OptimConfig", "ScheduleConfig", "PerceptualConfig", "LossConfig",
           "PhaseConfig", "TrainConfig", "CONFIG_DIR", "list_recipes", "load_recipe", "apply_overrides",
           "from_dict", "to_dict"]

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
LOSS_NAMES = ("l1", "mse", "huber", "perceptual", "gan", "ce", "tv")


@dataclass
class ModelSpec:
    """A registry model: ``create_model(name, **kwargs)``."""

    name: str = "fastcolor"
    kwargs: dict = field(default_factory=dict)
    # Start from saved weights (a run directory, .safetensors path or shipped model name) of
    # the same architecture: fine-tuning, e.g. photo -> histology, or a second stage at a larger size.
    init: Optional[str] = None


@dataclass
class DataConfig:
    """Data loading and augmentation.

    ``size`` is the square training crop in pixels; ``crop_scale`` the range of
    the crop's area as a fraction of the whole image (random resized crop).
    """

    size: int = 256
    crop_scale: tuple = (0.5, 1.0)
    crop_ratio: tuple = (0.75, 1.3333333)
    hflip: bool = True
    vflip: bool = False  # microscopy / dermoscopy have no "up"
    rot90: bool = False  # random multiple of 90 degrees
    stain_jitter: float = 0.0  # H&E: std of the per-image scale and shift of the HED stain channels (e.g. 0.05)
    gray_threshold: float = 2.0  # mean Lab chroma (a*, b* units) below which an image is near-gray
    val_fraction: float = 0.1  # hash split used when no --val folder is given
    val_max_images: int = 64
    workers: int = 2


@dataclass
class OptimConfig:
    name: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-3
    betas: tuple = (0.9, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max gradient norm; 0 = off


@dataclass
class ScheduleConfig:
    name: str = "constant"  # constant | cosine | linear (decay to min_lr_ratio after warmup)
    warmup: int = 0  # steps of linear warm-up from 0
    min_lr_ratio: float = 0.0


@dataclass
class PerceptualConfig:
    """VGG feature (content) loss.

    ``weights``: ``imagenet`` (torchvision's cache, never downloaded), a path to
    a local ``vgg16-397923af.pth`` / ``vgg19-dcbb9e9d.pth``, or ``random`` (an
    untrained VGG: only for tests, never for real training).
    """

    arch: str = "vgg19"  # vgg16 | vgg19
    layers: tuple = (3, 8, 17, 26)  # indices in vgg.features after which features are compared
    weights: str = "imagenet"


@dataclass
class LossConfig:
    huber_delta: float = 0.1  # on normalised ab (ab / AB_SCALE)
    gan_mode: str = "vanilla"  # vanilla (BCE with logits) | lsgan | hinge
    perceptual: PerceptualConfig = field(default_factory=PerceptualConfig)


@dataclass
class PhaseConfig:
    """A span of training from step ``start`` with its loss weights (``{name: weight}``)."""

    name: str = "main"
    start: int = 0
    losses: dict = field(default_factory=lambda: {"huber": 1.0})


@dataclass
class TrainConfig:
    recipe: str = "custom"
    description: str = ""
    seed: int = 0
    model: ModelSpec = field(default_factory=ModelSpec)
    discriminator: Optional[ModelSpec] = None
    data: DataConfig = field(default_factory=DataConfig)
    batch_size: int = 16
    steps: int = 3000
    grad_accum: int = 1
    optim: OptimConfig = field(default_factory=OptimConfig)
    d_optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    ema: float = 0.0  # EMA decay of the generator; 0 = off
    amp: str = "auto"  # auto (bf16 on capable GPUs) | bf16 | fp16 | off
    losses: LossConfig = field(default_factory=LossConfig)
    phases: list[PhaseConfig] = field(default_factory=lambda: [PhaseConfig()])
    # Simulated user hints (Zhang et al. 2017) for models that accept them; null = none.
    hints: Optional[HintSampling] = None
    # Short side (pixels) the model colorizes at; null = native size (e.g. 32-px dermoscopy patches).
    working_size: Optional[int] = 256
    val_every: int = 250
    ckpt_every: int = 500
    keep_last: int = 3
    log_every: int = 10
    device: str = "auto"

    def validate(self) -> "TrainConfig":
        """Check cross-field rules; raises :class:`UsageError` with one line."""
        for name, value in (("steps", self.steps), ("batch_size", self.batch_size), ("grad_accum", self.grad_accum),
                            ("data.size", self.data.size), ("ckpt_every", self.ckpt_every),
                            ("val_every", self.val_every), ("keep_last", self.keep_last)):
            if value < 1:
                raise UsageError(f"{name} must be >= 1, got {value}")
        if not self.phases:
            raise UsageError("phases must hold at least one phase")
        starts = [p.start for p in self.phases]
        if starts[0] != 0 or starts != sorted(starts):
            raise UsageError(f"phase starts must begin at 0 and increase, got {starts}")
        uses_gan = False
        for p in self.phases:
            for k, w in p.losses.items():
                if k not in LOSS_NAMES:
                    raise UsageError(f"phase {p.name!r}: unknown loss {k!r}; known: {', '.join(LOSS_NAMES)}")
                if not isinstance(w, (int, float)):
                    raise UsageError(f"phase {p.name!r}: loss weight {k}={w!r} is not a number")
            uses_gan |= p.losses.get("gan", 0) > 0
        if uses_gan and self.discriminator is None:
            raise UsageError("a phase uses the 'gan' loss but no discriminator is configured")
        if self.losses.gan_mode not in ("vanilla", "lsgan", "hinge"):
            raise UsageError(f"losses.gan_mode must be vanilla, lsgan or hinge, got {self.losses.gan_mode!r}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise UsageError(f"amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        if not 0.0 <= self.ema < 1.0:
            raise UsageError(f"ema must be in [0, 1), got {self.ema}")
        lo, hi = self.data.crop_scale
        if not 0 < lo <= hi <= 1:
            raise UsageError(f"data.crop_scale must satisfy 0 < min <= max <= 1, got {self.data.crop_scale}")
        return self

    def phase_at(self, step: int) -> PhaseConfig:
        """The phase in force at 0-based optimizer ``step``."""
        current = self.phases[0]
        for p in self.phases:
            if p.start <= step:
                current = p
        return current


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _convert(value: Any, tp: Any, path: str) -> Any:
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise UsageError(f"config key {path!r} cannot be null")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise UsageError(f"config key {path!r} must be a mapping, got {value!r}")
        return from_dict(tp, value, path)
    origin = typing.get_origin(tp)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"config key {path!r} must be a list, got {value!r}")
        (item_tp,) = typing.get_args(tp) or (Any,)
        return [_convert(v, item_tp, f"{path}.{i}") for i, v in enumerate(value)]
    if tp is tuple:
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"config key {path!r} must be a list, got {value!r}")
        return tuple(value)
    if tp is dict:
        if not isinstance(value, dict):
            raise UsageError(f"config key {path!r} must be a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise UsageError(f"config key {path!r} must be true or false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads "1e-4" as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"config key {path!r} must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise UsageError(f"config key {path!r} must be an integer, got {value!r}")
        return int(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise UsageError(f"config key {path!r} must be a string, got {value!r}")
        return str(value)
    return value


def from_dict(cls: type, data: dict, path: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict; unknown keys raise :class:`UsageError`."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise UsageError(f"unknown config key {where!r}; known keys{' in ' + path if path else ''}: {', '.join(names)}")
    kwargs = {k: _convert(v, hints[k], f"{path}.{k}" if path else k) for k, v in data.items()}
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict:
    """JSON/YAML-able dict of a config (tuples become lists)."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    return plain(dataclasses.asdict(cfg))


def list_recipes() -> list[str]:
    """Names of the recipes shipped in ``medcolor/configs``."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str) -> TrainConfig:
    """Load a shipped recipe by name, or a YAML file by path."""
    import yaml

    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = CONFIG_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise UsageError(f"unknown recipe {name_or_path!r}; known recipes: {', '.join(list_recipes())}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a recipe must be a YAML mapping")
    data.setdefault("recipe", path.stem)
    return from_dict(TrainConfig, data)


def _set_path(tree: Any, keys: list[str], value: Any, full: str) -> None:
    node = tree
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise UsageError(f"bad override {full!r}: {key!r} is not an index below {len(node)}")
            key = int(key)
        elif not isinstance(node, dict):
            raise UsageError(f"bad override {full!r}: {'.'.join(keys[:i])!r} is not a section")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and node.get(key) is None:
                node[key] = {}
            node = node[key]


def apply_overrides(cfg: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply ``key=value`` strings (values parsed as YAML) and re-validate the types."""
    import yaml

    tree = to_dict(cfg)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad override {item!r}: expected key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        _set_path(tree, key.strip().split("."), value, item)
    return from_dict(TrainConfig, tree)
