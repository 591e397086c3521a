"""One model factory, driven by the architecture name stored in recipes and checkpoints."""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

# Architecture name (recipes, checkpoints) -> (module under train/models, factory in it).
MODELS: dict[str, tuple[str, str]] = {
    "centre": ("detector", "CentreDetector"),
    "fasterrcnn": ("detector", "fasterrcnn"),
    "simple_baseline": ("pose2d", "SimpleBaseline"),
    "blazepose": ("blazepose", "BlazePoseHeatmaps"),
    "movenet": ("movenet", "MoveNetHeads"),
    "martinez": ("lifter", "MartinezLifter"),
    "temporal": ("lifter", "TemporalLifter"),
}
ARCHS = tuple(MODELS)


def build_model(arch: str, **kwargs: Any) -> nn.Module:
    """Instantiate architecture ``arch`` with its keyword arguments (from a recipe or checkpoint)."""
    if arch not in MODELS:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")
    module, factory = MODELS[arch]
    return getattr(importlib.import_module(f"infantpose.train.models.{module}"), factory)(**kwargs)
