"""The training loop shared by all stages: epochs, atomic checkpoints, exact resume,
best-by-validation, JSONL log, progress bar, seeds, AMP on CUDA, DDP under torchrun.

Run directory layout::

    RUN/last.pt       model + optimiser + scheduler + epoch (for --resume)
    RUN/best.pt       best validation metric so far (for export)
    RUN/log.jsonl     one line per epoch
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from infantpose.errors import InfantposeError
from infantpose.train.checkpoint import atomic_save, load_checkpoint, make_checkpoint


@dataclass
class FitConfig:
    """Optimisation settings (learning rate decays by ``lr_gamma`` every epoch)."""

    out: Path
    epochs: int
    batch: int
    lr: float
    weight_decay: float = 0.0
    lr_gamma: float = 1.0
    seed: int = 0
    resume: bool = False
    device: str = "auto"
    workers: int = 0
    metric: str = "val_loss"
    mode: str = "min"  # "min" or "max" for the metric
    progress: bool = True
    max_steps: int | None = None  # per epoch; for smoke tests


def _dist() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun, else (0, 1, 0)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when present (this rank's GPU under torchrun), else CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        return torch.device("cuda", _dist()[2])
    return torch.device(device)


def _better(value: float, best: float | None, mode: str) -> bool:
    return best is None or (value < best if mode == "min" else value > best)


def fit(
    model: nn.Module,
    train_set: Any,
    loss_fn: Callable[[nn.Module, Any, torch.device], torch.Tensor],
    validate: Callable[[nn.Module], dict[str, float]],
    cfg: FitConfig,
    checkpoint_info: dict[str, Any],
    collate: Callable | None = None,
) -> dict[str, Any]:
    """Train ``model``; returns the best metrics. ``checkpoint_info`` has stage, arch,
    model_kwargs and params for :func:`make_checkpoint` plus anything to record."""
    rank, world, _ = _dist()
    device = resolve_device(cfg.device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    torch.manual_seed(cfg.seed)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_gamma)
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    cfg.out.mkdir(parents=True, exist_ok=True)
    start_epoch, best, history = 0, None, []
    last_path, best_path, log_path = cfg.out / "last.pt", cfg.out / "best.pt", cfg.out / "log.jsonl"
    if cfg.resume and last_path.is_file():
        state = load_checkpoint(last_path)
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_epoch, best, history = state["epoch"] + 1, state.get("best"), state.get("history", [])
    elif cfg.resume:
        raise InfantposeError(f"{last_path}: nothing to resume from")
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    per_rank = max(1, cfg.batch // world)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        # Same order and augmentation on every run: resume is exact.
        torch.manual_seed(cfg.seed * 100003 + epoch)
        train_set.epoch = epoch
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(train_set))[rank::world]
        loader = DataLoader(
            train_set, batch_size=per_rank, sampler=order.tolist(), num_workers=cfg.workers,
            collate_fn=collate, drop_last=len(order) > per_rank,
        )  # fmt: skip
        net.train()
        losses = []
        steps = len(loader) if cfg.max_steps is None else min(cfg.max_steps, len(loader))
        bar = _progress(cfg.progress and rank == 0, f"epoch {epoch + 1}/{cfg.epochs}", steps)
        with bar as (prog, task):
            for step, batch in enumerate(loader):
                if step >= steps:
                    break
                ctx = torch.autocast("cuda", dtype=torch.float16) if amp else nullcontext()
                with ctx:
                    loss = loss_fn(net, batch, device)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                losses.append(float(loss.detach()))
                if prog is not None:
                    prog.update(
                        task,
                        advance=1,
                        description=f"epoch {epoch + 1}/{cfg.epochs} loss {np.mean(losses):.5f}",
                    )
        sched.step()
        model.eval()
        metrics = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else float("nan")}
        if rank == 0:
            with torch.no_grad():
                metrics.update(validate(model))
            metrics["lr"] = sched.get_last_lr()[0]
            metrics["seconds"] = time.perf_counter() - t0
            history.append(metrics)
            improved = _better(metrics[cfg.metric], best, cfg.mode)
            if improved:
                best = metrics[cfg.metric]
            info = dict(checkpoint_info)
            stage, arch, kwargs, params = (info.pop(k) for k in ("stage", "arch", "model_kwargs", "params"))
            ckpt = make_checkpoint(stage, arch, kwargs, params, model, metrics=metrics, epoch=epoch, **info)
            if improved:
                atomic_save(ckpt, best_path)
            atomic_save(
                {**ckpt, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "scaler": scaler.state_dict(), "best": best, "history": history},
                last_path,
            )  # fmt: skip
            with open(log_path, "a") as f:
                f.write(json.dumps(metrics) + "\n")
            shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
            print(f"[{checkpoint_info['stage']}] {shown}{' (best)' if improved else ''}", flush=True)
    if world > 1:
        torch.distributed.barrier()
    return {"best": best, "metric": cfg.metric, "history": history}


class _progress:
    """A rich progress bar as a context manager yielding (progress, task) or (None, None)."""

    def __init__(self, enabled: bool, description: str, total: int) -> None:
        self.enabled, self.description, self.total = enabled, description, total
        self._p = None

    def __enter__(self) -> tuple[Any, Any]:
        if not self.enabled:
            return None, None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self._p.__enter__()
        return self._p, self._p.add_task(self.description, total=self.total)

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
