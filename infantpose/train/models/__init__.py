"""One model factory, driven by the architecture name stored in recipes and checkpoints."""

from __future__ import annotations

from typing import Any

from torch import nn

ARCHS = ("centre", "fasterrcnn", "simple_baseline", "blazepose", "martinez", "temporal")


def build_model(arch: str, **kwargs: Any) -> nn.Module:
    """Instantiate architecture ``arch`` with its keyword arguments (from a recipe or checkpoint)."""
    if arch == "centre":
        from infantpose.train.models.detector import CentreDetector

        return CentreDetector(**kwargs)
    if arch == "fasterrcnn":
        from infantpose.train.models.detector import fasterrcnn

        return fasterrcnn(**kwargs)
    if arch == "simple_baseline":
        from infantpose.train.models.pose2d import SimpleBaseline

        return SimpleBaseline(**kwargs)
    if arch == "blazepose":
        from infantpose.train.models.blazepose import BlazePoseHeatmaps

        return BlazePoseHeatmaps(**kwargs)
    if arch == "martinez":
        from infantpose.train.models.lifter import MartinezLifter

        return MartinezLifter(**kwargs)
    if arch == "temporal":
        from infantpose.train.models.lifter import TemporalLifter

        return TemporalLifter(**kwargs)
    raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")
