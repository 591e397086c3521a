"""PyTorch eager rows for ``infantpose bench`` (torch imported here only).

* ``pytorch_row``: the bundle's own training checkpoints in eager mode: the reference the
  exported models are compared with.
* ``seed_row``: the published architecture (Faster R-CNN R50-FPN + Simple Baselines R50
  256x256 + Martinez 1024) with random weights: **speed only**, it predicts nothing useful.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from infantpose.benchmarks.harness import run_clip
from infantpose.errors import InfantposeError
from infantpose.runtime.bundle import load_bundle
from infantpose.runtime.pipeline import Pipeline, SmoothingConfig
from infantpose.runtime.tracking import EVERY_FRAME, TrackerConfig
from infantpose.stages import STAGES, make_stage, parse_params


def _pipeline(stages: dict[str, Any], tracker: TrackerConfig) -> Pipeline:
    return Pipeline(stages["detector"], stages["pose2d"], stages["lifter"], "mpii", tracker,
                    SmoothingConfig(enabled=False))  # fmt: skip


def pytorch_row(bundle: Path, clip: list[np.ndarray], threads: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Eager PyTorch (``device`` "cpu" or "cuda") over the checkpoints recorded in the bundle's manifest."""
    import torch

    from infantpose.train.checkpoint import load_checkpoint
    from infantpose.train.torch_backend import stage_from_checkpoint

    if threads:
        torch.set_num_threads(threads)
    training = load_bundle(bundle).manifest.meta.get("training", {})
    stages = {}
    for name in STAGES:
        path = Path(training.get(name, {}).get("checkpoint", ""))
        if not path.is_file():
            # The manifest records where the checkpoints were on the machine that exported the bundle:
            # that path means nothing here and is not printed.
            raise InfantposeError(f"the bundle's {name} training checkpoint is not on this machine (PyTorch row "
                                  "skipped; an installed bundle ships no checkpoints)")  # fmt: skip
        stages[name] = stage_from_checkpoint(load_checkpoint(path), device)
    return {
        "name": "pytorch eager fp32" + (" (cuda)" if device == "cuda" else ""),
        "backend": f"pytorch/{device}",
        "precision": "fp32",
        "tracking": run_clip(_pipeline(stages, TrackerConfig()), clip),
        "detector_every_frame": run_clip(_pipeline(stages, EVERY_FRAME), clip),
    }


def seed_row(clip: list[np.ndarray], lifter_params: Any, frames: int = 10) -> dict[str, Any]:
    """Random-weight seed architecture in eager PyTorch, detector on every frame (speed only)."""
    import torch

    from infantpose.train.models import build_model
    from infantpose.train.recipes import get_recipe
    from infantpose.train.torch_backend import TorchBackend

    torch.manual_seed(0)
    stages: dict[str, Any] = {}
    for name in STAGES:
        r = get_recipe(name, "seed")
        model = build_model(r["arch"], **r["model"]).eval()
        extra = {}
        if name == "lifter":  # the shipped lifter's statistics: the seed lifter has none of its own
            stats = ("mean_2d", "std_2d", "mean_3d", "std_3d", "input_norm", "root")
            extra = {**{k: v for k, v in lifter_params.to_dict().items() if k in stats},
                     "window": int(model.receptive_field)}  # fmt: skip
        params = parse_params(name, {**r["params"], **extra, "arch": r["arch"]}, f"{name} seed recipe")
        stages[name] = make_stage(name, TorchBackend(model, params), params)
    row = run_clip(_pipeline(stages, EVERY_FRAME), clip[:frames], warmup=1)
    return {
        "name": "seed architecture, pytorch eager (speed only)",
        "backend": "pytorch/cpu",
        "precision": "fp32",
        "tracking": row,
        "detector_every_frame": row,
    }
