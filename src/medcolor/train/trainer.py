"""The training loop: phases, AMP, gradient accumulation, EMA, validation, checkpoints, export.

One optimizer *step* consumes ``grad_accum`` micro-batches of ``batch_size``
images per process.  Phases switch the loss weights at step boundaries (e.g.
L1 pre-training, then conditional-GAN fine-tuning).  Rank 0 validates, logs,
checkpoints and exports ``RUN/model.safetensors`` (the EMA weights when EMA is
on) at every checkpoint, so a run directory is itself a loadable model.
"""
from __future__ import annotations

import contextlib
import datetime
import time
import warnings
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..card import ModelCard
from ..errors import InputError, UsageError
from ..fileio import atomic_write, remove_stale_temps
from ..hints import sample_counts, simulate_hints
from ..models import create_model
from ..models.registry import model_capabilities
from ..weights import save_model
from . import checkpoint as ckpt
from .classification import CETarget, estimate_class_weights
from .config import TrainConfig, to_dict
from .data import DataSources, StepSampler, TrainDataset, as_list, scan_sources
from .distributed import DistInfo, all_reduce_mean, barrier, broadcast_object, unwrap, wrap_ddp
from .ema import ModelEMA
from .monitor import Monitor
from .optim import amp_dtype, build_optimizer, build_scheduler
from .steps import GeneratorHarness, LossComputer, to_lab_batch
from .validate import calibrate_decoding, hint_sweep, image_grid, load_val_sets, validate, zero_chroma

__all__ = ["DataSources", "Trainer"]



def init_from_saved(model: torch.nn.Module, spec: str, skip: list[str] | tuple[str, ...] = ()) -> list[dict]:
    """Load the weights of a saved model of the same architecture into ``model`` (fine-tuning),
    except the tensors whose names start with a prefix in ``skip``.

    Returns the new model's lineage: the saved model's own lineage and then the saved model.
    """
    from ..errors import UnknownModelError
    from ..weights import load_weights_into

    try:
        card = load_weights_into(model, spec, allow_missing=True, skip=tuple(skip))
    except UnknownModelError as exc:
        raise UsageError(f"model.init={spec}: {exc}") from None
    return [*card.lineage, card.stage(spec)]


def freeze_except(model: torch.nn.Module, prefixes: list[str] | None) -> list[torch.nn.Module]:
    """Freeze every parameter whose name starts with none of ``prefixes``; ``None`` freezes nothing.

    Returns the submodules with nothing left to train (kept in eval mode while training).
    """
    if prefixes is None:
        return []
    names = [n for n, p in model.named_parameters()]
    if not any(n.startswith(tuple(prefixes)) for n in names):
        raise UsageError(f"config key 'trainable': no parameter of {type(model).__name__} starts with "
                         f"{', '.join(prefixes)}")
    for n, p in model.named_parameters():
        p.requires_grad_(n.startswith(tuple(prefixes)))
    return [m for m in model.modules() if not any(p.requires_grad for p in m.parameters())]


class Trainer:
    """Builds everything from a config and runs (or resumes) the loop.

    Args:
        cfg: resolved configuration (validated).
        run_dir: output directory.
        sources: data folders.
        info: distributed context from :func:`~medcolor.train.distributed.setup_distributed`.
        resume: a loaded checkpoint payload to continue from, or ``None``.
        command: the command line that started or resumed the run (recorded in the card).
    """

    def __init__(self, cfg: TrainConfig, run_dir: Path, sources: DataSources, info: DistInfo,
                 resume: dict | None = None, command: str | None = None) -> None:
        self.cfg, self.run_dir, self.sources, self.info = cfg, Path(run_dir), sources, info
        self.device = info.device
        torch.manual_seed(cfg.seed)
        self.zero_chroma: dict = {}
        self.calibration: dict = {}
        self.commands: list[str] = [command] if command and info.is_main else []
        self.lineage: list[dict] = []  # the stages model.init came from (card.lineage)
        self.elapsed, self._t_start = 0.0, time.perf_counter()
        self._build_data()
        self._build_models(resume)
        self._build_optimisation()
        self.step, self.best, self._best_pending = 0, float("inf"), False
        self.last_metrics: dict = {}
        if resume is not None:
            self._load_state(resume)

    # ------------------------------------------------------------------ builders
    def _build_data(self) -> None:
        """Scan the sources (rank 0; every rank gets the same lists), the loader, the validation sets."""
        cfg, info, sources = self.cfg, self.info, self.sources
        scanned = scan_sources(cfg.data, sources) if info.is_main else None
        train, val, self.data_lines = broadcast_object(scanned, info)
        if len(train) < cfg.batch_size * info.world_size:
            raise InputError(sources.data or sources.color_dir, f"only {len(train)} training images, fewer than "
                             f"batch size {cfg.batch_size} x {info.world_size} process(es)")
        self.dataset = TrainDataset(train, cfg.data)
        self.sampler = StepSampler(self.dataset, info.world_size, info.rank, cfg.seed)
        self.steps_per_epoch = len(self.sampler) // cfg.batch_size  # micro-batches per epoch per process
        self.loader = DataLoader(self.dataset, batch_size=cfg.batch_size, sampler=self.sampler, drop_last=True,
                                 num_workers=cfg.data.workers, persistent_workers=cfg.data.workers > 0,
                                 pin_memory=self.device.type == "cuda",
                                 # own generator: creating an iterator must not draw from the global RNG,
                                 # or a resumed run's dropout stream would shift
                                 generator=torch.Generator().manual_seed(cfg.seed))
        self.val_sets = (load_val_sets(as_list(sources.val), [s.color for s in val], cfg.data.val_max_images)
                         if info.is_main else {})

    def _build_models(self, resume: dict | None) -> None:
        """The colorizer (initialised from saved weights on a fresh run), the discriminator, the losses."""
        cfg, info = self.cfg, self.info
        self.model = create_model(cfg.model.name, **cfg.model.kwargs)
        caps = model_capabilities(self.model)
        if cfg.hints is not None and not caps.hints:
            raise UsageError(f"hints: model {cfg.model.name!r} does not take hints (set hints: null)")
        if cfg.model.init and resume is None:
            self.lineage = init_from_saved(self.model, cfg.model.init, cfg.model.init_skip)
        with_logits = any(p.losses.get("ce") for p in cfg.phases)
        if with_logits:
            if not caps.bins:
                raise UsageError(f"the 'ce' loss needs a classification model (eccv16), not {cfg.model.name!r}")
            if resume is None:  # fresh run: rebalancing weights from the training crops (resume restores them)
                weights = estimate_class_weights(self.dataset, self.model, seed=cfg.seed) if info.is_main else None
                self.model.set_class_weights(broadcast_object(weights, info))
        self.frozen = freeze_except(self.model, cfg.trainable)
        self.model.to(self.device)
        self.gen = wrap_ddp(GeneratorHarness(self.model, with_logits), info)
        self.disc = None
        if cfg.discriminator is not None:
            self.disc = wrap_ddp(create_model(cfg.discriminator.name, **cfg.discriminator.kwargs).to(self.device), info)
        self.losses = LossComputer(cfg.losses, any(p.losses.get("perceptual") for p in cfg.phases),
                                   CETarget(self.model) if with_logits else None).to(self.device)

    def _build_optimisation(self) -> None:
        """Optimizers, schedules, AMP and EMA."""
        cfg = self.cfg
        self.opt_g = build_optimizer([p for p in self.model.parameters() if p.requires_grad], cfg.optim)
        self.sched_g = build_scheduler(self.opt_g, cfg.steps, cfg.schedule)
        self.opt_d = build_optimizer(self.disc.parameters(), cfg.d_optim) if self.disc is not None else None
        self.sched_d = build_scheduler(self.opt_d, cfg.steps, cfg.schedule) if self.opt_d is not None else None
        self.amp = amp_dtype(cfg.amp, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)
        self.ema = ModelEMA(self.model, cfg.ema) if cfg.ema > 0 else None

    # ------------------------------------------------------------------ state
    def _payload(self) -> dict:
        p = {"format": 1, "config": to_dict(self.cfg), "sources": vars(self.sources).copy(),
             "model": self.model.state_dict(), "opt_g": self.opt_g.state_dict(), "sched_g": self.sched_g.state_dict(),
             "scaler": self.scaler.state_dict(), "rng": ckpt.rng_state(), "best": self.best,
             "zero_chroma": self.zero_chroma, "commands": self.commands, "lineage": self.lineage,
             "elapsed": self._elapsed(),
             "last_metrics": self.last_metrics}
        if self.disc is not None:
            p.update(disc=unwrap(self.disc).state_dict(), opt_d=self.opt_d.state_dict(), sched_d=self.sched_d.state_dict())
        if self.ema is not None:
            p["ema"] = self.ema.state_dict()
        return p

    def _load_state(self, p: dict) -> None:
        self.model.load_state_dict(p["model"])
        self.opt_g.load_state_dict(p["opt_g"])
        self.sched_g.load_state_dict(p["sched_g"])
        self.scaler.load_state_dict(p["scaler"])
        if self.disc is not None and "disc" in p:
            unwrap(self.disc).load_state_dict(p["disc"])
            self.opt_d.load_state_dict(p["opt_d"])
            self.sched_d.load_state_dict(p["sched_d"])
        if self.ema is not None and "ema" in p:
            self.ema.load_state_dict(p["ema"])
        self.step, self.best = int(p["step"]), float(p.get("best", float("inf")))
        self.zero_chroma = p.get("zero_chroma", {})
        self.commands = list(p.get("commands", [])) + self.commands
        self.lineage = list(p.get("lineage", []))
        self.elapsed = float(p.get("elapsed", 0.0))
        self.last_metrics = p.get("last_metrics", {})
        ckpt.set_rng_state(p["rng"])

    def export_model(self) -> torch.nn.Module:
        """The network to validate and export: the EMA copy when EMA is on."""
        return self.ema.module if self.ema is not None else self.model

    def _elapsed(self) -> float:
        return self.elapsed + time.perf_counter() - self._t_start

    def card(self, selected: str = "last") -> ModelCard:
        """The model card of the weights exported now (written beside them at every checkpoint)."""
        cfg, net = self.cfg, self.export_model()
        kwargs = {k: v for k, v in net.medcolor_arch["kwargs"].items()}
        if model_capabilities(net).bins:  # the calibrated decoding policy
            kwargs.update(T=float(net.T), confidence_power=float(net.confidence_power))
        rounded = {s: {k: round(v, 4) for k, v in m.items()} for s, m in self.last_metrics.items()}
        return ModelCard(
            architecture=net.medcolor_arch["name"], kwargs=kwargs, working_size=cfg.working_size,
            description=cfg.description, recipe=cfg.recipe, commands=self.commands, lineage=self.lineage,
            data={"train": as_list(self.sources.data) or as_list(self.sources.color_dir),
                  "val": as_list(self.sources.val) or ["held-out part of the training data"]},
            compute={"device": str(self.device), "world_size": self.info.world_size,
                     "threads": torch.get_num_threads(), "wall_s": round(self._elapsed(), 1),
                     "images_seen": self.step * cfg.batch_size * cfg.grad_accum * self.info.world_size,
                     "date": datetime.date.today().isoformat()},
            step=self.step, selected=selected, validation=rounded,
            zero_chroma={s: {k: round(v, 4) for k, v in m.items()} for s, m in self.zero_chroma.items()},
            calibration=self.calibration)

    def _checkpoint(self, mon: Monitor, metrics: dict[str, float]) -> None:
        if self.info.is_main:
            path = ckpt.save_checkpoint(self.run_dir, self.step, self._payload())
            if self._best_pending:  # validation at this step was the best so far
                ckpt.mark_best(self.run_dir, path)
                # RUN/best is itself a model (early stopping): medcolor colorize --model RUN/best
                first = next(iter(self.val_sets), "validation")
                save_model(self.export_model(), self.run_dir / "best" / "model.safetensors",
                           card=self.card(selected=f"best deltae2000 on {first} so far"))
                self._best_pending = False
            ckpt.prune_checkpoints(self.run_dir, self.cfg.keep_last)
            save_model(self.export_model(), self.run_dir / "model.safetensors", card=self.card())
            mon.record("checkpoint", self.step, {"path": str(path)})
        barrier(self.info)

    # ------------------------------------------------------------------ data
    def batches(self, micro: int):
        """Micro-batches from global micro-batch index ``micro`` on, across epochs, forever."""
        while True:
            epoch, offset = divmod(micro, self.steps_per_epoch)
            self.sampler.set_position(epoch, offset * self.cfg.batch_size)
            for batch in self.loader:
                yield batch
                micro += 1

    # ------------------------------------------------------------------ loop
    def _autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def train_step(self, batches, log: bool = False) -> dict[str, float | torch.Tensor]:
        """One optimizer step. Losses come back as device tensors (no CPU-GPU sync);
        ``log`` adds the data fingerprint, which reads the batch on the CPU."""
        cfg = self.cfg
        phase = cfg.phase_at(self.step)
        use_gan = phase.losses.get("gan", 0) > 0
        self.gen.train()
        for m in self.frozen:  # frozen parts keep their batch-norm statistics
            m.eval()
        self.opt_g.zero_grad(set_to_none=True)
        if use_gan:
            self.disc.train()
            self.opt_d.zero_grad(set_to_none=True)
        logs: dict[str, float | torch.Tensor] = {}
        for j in range(cfg.grad_accum):
            batch = next(batches)
            if log:  # order fingerprint for tests: equal digests at equal steps <=> the same images and crops
                logs["data_digest"] = logs.get("data_digest", 0.0) + float(batch["rgb"].double().mean())
            lab = to_lab_batch(batch, self.device)
            hints = self._hints(lab, j)
            last = j == cfg.grad_accum - 1
            with contextlib.ExitStack() as stack:
                if not last:  # accumulate locally; DDP all-reduces on the last micro-batch only
                    for m in (self.gen, self.disc if use_gan else None):
                        if isinstance(m, torch.nn.parallel.DistributedDataParallel):
                            stack.enter_context(m.no_sync())
                with self._autocast():
                    ab, logits = self.gen(lab.L, hints)  # (B, 2, H, W) Lab units; (B, Q, h, w) or None
                if use_gan:
                    with self._autocast():
                        d_loss, d_parts = self.losses.discriminator_loss(self.disc, lab, ab)
                    self.scaler.scale(d_loss / cfg.grad_accum).backward()
                    for k, v in d_parts.items():
                        logs[k] = logs.get(k, 0.0) + v / cfg.grad_accum
                    unwrap(self.disc).requires_grad_(False)  # the generator's GAN term must not train D
                try:
                    with self._autocast():
                        g_loss, g_parts = self.losses.generator_loss(
                            phase, lab, ab, logits, unwrap(self.disc) if use_gan else None)
                    self.scaler.scale(g_loss / cfg.grad_accum).backward()
                finally:
                    if use_gan:
                        unwrap(self.disc).requires_grad_(True)
            for k, v in {**g_parts, "loss/total": g_loss.detach()}.items():
                logs[k] = logs.get(k, 0.0) + v / cfg.grad_accum
        if use_gan:
            self._optimizer_step(self.opt_d, self.disc.parameters(), cfg.d_optim.grad_clip)
        self._optimizer_step(self.opt_g, self.model.parameters(), cfg.optim.grad_clip)
        self.scaler.update()
        self.sched_g.step()
        if self.sched_d is not None:
            # D's schedule follows the global step even in phases that do not train D
            # (e.g. L1 pre-training), so torch's "step() before optimizer.step()" warning is moot.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
                self.sched_d.step()
        if self.ema is not None:
            self.ema.update(self.model)
        logs["lr"] = self.opt_g.param_groups[0]["lr"]
        return logs

    def _hints(self, lab, micro: int) -> torch.Tensor | None:
        """Simulated hints ``(B, 3, H, W)`` for hint models, reproducible from (seed, rank, step)."""
        h = self.cfg.hints
        if h is None:
            return None
        seed = ((self.cfg.seed * 1_000_003 + self.info.rank) * 10_000_019 + self.step) * 64 + micro
        gen = torch.Generator().manual_seed(seed)
        counts = sample_counts(lab.ab.shape[0], h, gen)
        return simulate_hints(lab.ab, counts, patch=(h.patch_min, h.patch_max), gaussian=h.gaussian, generator=gen)

    def _optimizer_step(self, opt: torch.optim.Optimizer, params, clip: float) -> None:
        if clip > 0:
            self.scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([p for p in params if p.requires_grad], clip)
        self.scaler.step(opt)

    def _validate(self, mon: Monitor) -> dict[str, float]:
        if not self.info.is_main or not self.val_sets:
            return {}
        nested, preview = validate(self.export_model(), self.val_sets, working_size=self.cfg.working_size,
                                   device=self.device)
        self.last_metrics = nested
        metrics = {f"val/{s}/{k}": v for s, m in nested.items() for k, v in m.items()}
        mon.record("val", self.step, metrics)
        mon.scalars(self.step, metrics)
        if preview.numel():
            mon.image("val/gray_pred_target", self.step, image_grid(preview))
        for s, m in nested.items():
            mon.message(f"step {self.step} {s}: psnr {m['psnr']:.3f}, deltae2000 {m['deltae2000']:.3f}, "
                        f"colorfulness ratio {m['colorfulness_ratio']:.3f} "
                        f"(zero chroma {self.zero_chroma.get(s, {}).get('deltae2000', float('nan')):.3f})")
        score = next(iter(nested.values()))["deltae2000"]  # selection: the first validation set
        if score < self.best:
            self.best = score
            if self.step % self.cfg.ckpt_every == 0 or self.step == self.cfg.steps:
                self._best_pending = True  # the checkpoint written next at this step becomes best.pt
            else:
                ckpt.save_checkpoint(self.run_dir, self.step, self._payload(), best=True)
        return metrics

    def _calibrate(self, mon: Monitor) -> None:
        """Choose the decoding policy on the first validation set (models that predict bins)."""
        net = self.export_model()
        if not self.info.is_main or not self.val_sets or not model_capabilities(net).bins:
            return
        name, samples = next(iter(self.val_sets.items()))
        self.calibration = dict(calibrate_decoding(net, samples, working_size=self.cfg.working_size,
                                                   device=self.device), set=name)
        if self.cfg.hints is not None:  # a hint model: learned hints or Levin refinement by default?
            self.calibration["hints"] = hint_sweep(net, samples, working_size=self.cfg.working_size,
                                                   device=self.device, seed=self.cfg.seed)
            mon.message(f"hint sweep on {name}: default hint method {self.calibration['hints']['method']}")
        mon.record("calibration", self.step, self.calibration)
        mon.message(f"calibrated the decoding on {name}: T = {self.calibration['T']}, "
                    f"confidence power = {self.calibration['confidence_power']}")

    def run(self, resumed: bool = False) -> dict[str, float]:
        """Train until ``cfg.steps``; returns the last validation metrics (rank 0)."""
        cfg, info = self.cfg, self.info
        mon = Monitor(self.run_dir, cfg.steps, self.step, enabled=info.is_main)
        try:
            if info.is_main:
                remove_stale_temps(self.run_dir)  # what a killed earlier run's atomic writes left
                atomic_write(self.run_dir / "config.yaml", lambda p: p.write_text(_yaml(to_dict(cfg))))
                for line in self.data_lines:
                    mon.message(line)
                mon.message(f"recipe {cfg.recipe}: model {cfg.model.name}, world size {info.world_size}, "
                            f"device {self.device}, amp {self.amp or 'off'}, {cfg.steps} steps")
                if resumed:
                    mon.message(f"resumed {self.run_dir} from step {self.step}")
                mon.record("resume" if resumed else "start", self.step,
                           {"recipe": cfg.recipe, "world_size": info.world_size, "device": str(self.device),
                            "data": self.data_lines})
                if not self.zero_chroma and self.val_sets:
                    self.zero_chroma = zero_chroma(self.val_sets)
                    mon.record("baseline_zero_chroma", self.step, self.zero_chroma)
            metrics: dict[str, float] = {}
            batches = self.batches(self.step * cfg.grad_accum)
            t0, done, images = time.perf_counter(), 0, cfg.batch_size * cfg.grad_accum * info.world_size
            while self.step < cfg.steps:
                log = (self.step + 1) % cfg.log_every == 0 or self.step + 1 == cfg.steps
                logs = self.train_step(batches, log=log)
                self.step += 1
                done += 1
                if not log:
                    mon.advance(1)
                else:  # the only place the losses are read back from the device
                    logs = all_reduce_mean({k: float(v) for k, v in logs.items()}, info)
                    mon.advance(1, {k: v for k, v in logs.items() if k in ("loss/total", "loss/d")})
                    logs["images_per_s"] = done * images / max(time.perf_counter() - t0, 1e-9)
                    logs["phase"] = cfg.phase_at(self.step - 1).name
                    mon.record("train", self.step, logs)
                    mon.scalars(self.step, logs)
                final = self.step == cfg.steps
                if final:
                    self._calibrate(mon)
                if self.step % cfg.val_every == 0 or final:
                    metrics = self._validate(mon) or metrics
                if self.step % cfg.ckpt_every == 0 or final:
                    self._checkpoint(mon, metrics)
            if info.is_main:
                mon.record("end", self.step, metrics)
                mon.message(f"finished at step {self.step}; model exported to {self.run_dir / 'model.safetensors'}")
            return metrics
        finally:
            mon.close()


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)
