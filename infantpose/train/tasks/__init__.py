"""Training per stage: each module builds its stage's dataset, loss and validation.

    detector.py   whole frames -> box targets; IoU against the labelled boxes
    pose2d.py     crops -> heatmap targets, or a pretrained network as it is with a fitted joint
                  regressor; PCKh@1 through the runtime's 2D stage
    lifter.py     2D -> 3D sequences (with a pose bank, or fine-tuned on a 2D network's output);
                  MPJPE through the runtime's lifter stage

Every module has ``setup(ctx) -> Setup``; :func:`infantpose.train.stages.train` does the rest (recipe,
samples, model, the engine). A model that defines ``training_loss(batch, device)`` brings its own loss
(a new head needs no edit here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from infantpose.train.recipes import Recipe


@dataclass
class Context:
    """What a stage's task gets: the recipe (and its name), the samples, the built model, the run's
    options, and ``extra``: facts the checkpoint records (the task may add to it)."""

    recipe: Recipe
    name: str
    params: Any  # the stage's typed params (a lifter's: a dict until its data's statistics are known)
    train_s: list
    val_s: list
    model: nn.Module
    out: Path
    seed: int = 0
    init: Path | None = None
    pose2d: Path | None = None
    realism: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Setup:
    """A stage's training set, loss ``(model, batch, device) -> scalar``, validation ``model -> metrics``,
    the metric that picks the best epoch (and whether higher is better), and the completed params."""

    train_set: Any
    loss: Callable[..., Any]
    validate: Callable[[nn.Module], dict[str, float]]
    metric: str
    mode: str
    params: Any
    collate: Callable | None = None


def model_loss(model: nn.Module, default: Callable[..., Any]) -> Callable[..., Any]:
    """The model's own ``training_loss(batch, device)`` when it has one, else the stage's ``default``."""
    own = getattr(model, "training_loss", None)
    return default if own is None else (lambda m, batch, device: m.training_loss(batch, device))
