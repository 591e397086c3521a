"""The three stages, one module each, reached through one registry that every phase reads.

    detector.py   whole frame -> infant box and score
    pose2d.py     frame + box -> 2D keypoints (px)
    lifter.py     2D keypoints (a causal window for the temporal variant) -> 3D (mm)

Each module owns, for its stage: a typed frozen params dataclass (validated when a manifest
or checkpoint is parsed), the architectures' tensor names, ``preprocess``/``postprocess``,
the runtime class, the export example input, INT8 calibration inputs and the drift metric
(collected in its ``STAGE``, a :class:`StageDef`). Training, export, verify, the benchmarks
and the runtime all go through :data:`STAGES`; the torch model definitions stay under
``train/models/``. numpy only: the runtime never imports torch.
"""

from __future__ import annotations

from typing import Any

from infantpose.errors import InfantposeError
from infantpose.stages import detector, lifter, pose2d
from infantpose.stages.base import ParamsError, StageDef, TensorIO, TensorSpec

STAGES: dict[str, StageDef] = {m.STAGE.name: m.STAGE for m in (detector, pose2d, lifter)}
StageParams = detector.DetectorParams | pose2d.PoseParams | lifter.LifterParams
Stage = detector.DetectorStage | pose2d.PoseStage | lifter.LifterStage

__all__ = ["STAGES", "ParamsError", "Stage", "StageDef", "StageParams", "TensorIO", "TensorSpec",
           "checkpoint_params", "make_stage", "parse_params", "stage_def"]  # fmt: skip


def stage_def(name: str) -> StageDef:
    """The registry entry of stage ``name``; ValueError lists the known ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r} (known: {', '.join(STAGES)})") from None


def parse_params(name: str, d: dict[str, Any], source: str) -> StageParams:
    """Stage ``name``'s params dataclass from a manifest or checkpoint dict; ParamsError names the problem."""
    if name not in STAGES:
        raise ParamsError(f"{source}: unknown stage {name!r} (known: {', '.join(STAGES)})")
    return STAGES[name].params.from_dict(d, source)


def checkpoint_params(ckpt: dict[str, Any], source: str = "checkpoint") -> StageParams:
    """The typed params of a checkpoint dict (which stores the architecture beside them).

    Checkpoints of infantpose 0.1 also carry a "kind" key that repeated the architecture: ignored.
    """
    d = {k: v for k, v in ckpt["params"].items() if k != "kind"}
    return parse_params(ckpt["stage"], {**d, "arch": ckpt["arch"]}, source)


def make_stage(name: str, backend: Any, params: StageParams | dict[str, Any]) -> Stage:
    """The runtime stage ``name`` over ``backend``; ``params`` typed, or a dict that is parsed first."""
    sd = stage_def(name)
    if isinstance(params, dict):
        params = sd.params.from_dict(params, f"{name} params")
    if not isinstance(params, sd.params):
        raise TypeError(f"{name} stage needs {sd.params.__name__}, not {type(params).__name__}")
    have = {*backend.input_names, *backend.output_names}
    lacking = [t for t in (*params.io.inputs, *params.io.outputs) if t not in have]
    if lacking:  # the model is not the network these params describe
        raise InfantposeError(f"{name}: the model has no tensor {', '.join(map(repr, lacking))} that a "
                              f"{params.arch} {name} needs (it has {', '.join(sorted(have))})")  # fmt: skip
    return sd.runtime(backend, params)
