"""Checkpoints: the train -> export contract.

A checkpoint is a dict with the stage, architecture name and keyword
arguments, the recipe name, the stage ``params`` the runtime needs (input
size, normalisation, decoder, lifter statistics; stored as a plain dict, read back
as the stage's typed params), the model state dict and the metrics at save time.
Files are written atomically and read with ``torch.load(weights_only=True)``: no
pickled code is ever executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_path
from infantpose.stages import StageParams, checkpoint_params

FORMAT = "infantpose-checkpoint"
VERSION = 1
REQUIRED = ("format", "version", "stage", "arch", "model", "params", "state_dict")


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save through a temporary file and rename: never a half-written checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def make_checkpoint(
    stage: str, arch: str, model_kwargs: dict, params: StageParams | dict, model: nn.Module, **extra: Any
) -> dict[str, Any]:
    """The checkpoint dict for ``model`` (unwrapped from DDP if needed); ``params`` are validated and
    stored as a plain dict without the architecture (kept beside them)."""
    core = model.module if hasattr(model, "module") else model
    if isinstance(params, dict):
        params = checkpoint_params({"stage": stage, "arch": arch, "params": params}, f"{stage} checkpoint")
    params = {k: v for k, v in params.to_dict().items() if k != "arch"}
    return {
        "format": FORMAT,
        "version": VERSION,
        "stage": stage,
        "arch": arch,
        "model": model_kwargs,
        "params": params,
        "state_dict": {k: v.detach().cpu() for k, v in core.state_dict().items()},
        **extra,
    }


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and validate a checkpoint, its ``params`` parsed into the stage's dataclass; InfantposeError
    names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise InfantposeError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a corrupt or unsafe file
        raise InfantposeError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise InfantposeError(f"{path}: not an infantpose checkpoint")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise InfantposeError(f"{path}: checkpoint lacks {', '.join(missing)}")
    if not isinstance(ckpt["params"], dict):
        raise InfantposeError(f"{path}: checkpoint params must be a dict")
    ckpt["params"] = checkpoint_params(ckpt, str(path))  # ParamsError (an InfantposeError) names the problem
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """Rebuild the model of a checkpoint in eval mode."""
    from infantpose.train.models import build_model

    model = build_model(ckpt["arch"], **ckpt["model"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
