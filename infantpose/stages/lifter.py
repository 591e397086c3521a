"""The lifter stage: 2D keypoints (frame px) -> root-relative 3D (mm).

Two architectures: "martinez" lifts one frame; "temporal" (its variant) lifts the newest frame
of a causal window whose length is the network's receptive field, written into the params
when it is trained. This module owns the params, the window rule shared by the live pipeline,
evaluation and training, pre- and post-processing, the runtime class, the export example
input, INT8 calibration inputs and the drift metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from infantpose.datasets.common import spread_indices
from infantpose.preprocess import LIFTER_INPUT_NORMS, denormalize_3d, lifter_turn, normalize_2d, turn_about_camera_axis
from infantpose.skeleton import JOINT_SETS, MINI_RGBD, MPII, map_joints
from infantpose.stages.base import ParamsReader, StageDef, TensorIO, TensorSpec, Timer, params_dict

NAME = "lifter"
ARCHS: dict[str, TensorIO] = {
    "martinez": TensorIO(("kp2d",), ("kp3d",)),  # (N, 2J) -> (N, 3J)
    "temporal": TensorIO(("kp2d",), ("kp3d",)),  # (N, 2J, T) -> (N, 3J, T'), the last step the newest frame
}
TEMPORAL = ("temporal",)  # architectures that take a window of frames


@dataclass(frozen=True)
class LifterParams:
    """The lifter's contract (manifest ``stages.lifter.params``).

    window: frames per input (1 for a single-frame lifter, else the network's receptive field);
    input_norm: how px become input (preprocess.LIFTER_INPUT_NORMS), ``root`` its root joint;
    mean_2d/std_2d: (2J,) z-score of that input; mean_3d/std_3d: (3J,) mm of the output.
    """

    arch: str
    mean_2d: tuple[float, ...]
    std_2d: tuple[float, ...]
    mean_3d: tuple[float, ...]
    std_3d: tuple[float, ...]
    window: int = 1
    input_norm: str = "pixels"
    root: int | None = None
    units: str = "mm"
    joint_set: str = MPII.name

    @property
    def io(self) -> TensorIO:
        return ARCHS[self.arch]

    whole_frame = False  # batched fixed-size inputs
    quantisable = True

    @property
    def num_joints(self) -> int:
        return len(self.mean_2d) // 2

    @cached_property
    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """mean_2d, std_2d, mean_3d, std_3d as float64 arrays."""
        return tuple(np.asarray(v, np.float64) for v in (self.mean_2d, self.std_2d, self.mean_3d, self.std_3d))

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str) -> LifterParams:
        r = ParamsReader(d, NAME, source)
        arch = r.choice("arch", tuple(ARCHS))
        p = cls(
            arch=arch, mean_2d=r.numbers("mean_2d"), std_2d=r.numbers("std_2d", positive=True),
            mean_3d=r.numbers("mean_3d"), std_3d=r.numbers("std_3d", positive=True), window=r.integer("window", 1),
            input_norm=r.choice("input_norm", LIFTER_INPUT_NORMS, "pixels"), root=r.raw("root"),
            units=r.choice("units", ("mm",), "mm"), joint_set=r.choice("joint_set", tuple(JOINT_SETS), MPII.name),
        )  # fmt: skip
        r.done()
        j = len(p.mean_2d) // 2
        if len(p.mean_2d) % 2 or len(p.std_2d) != 2 * j:
            raise r.fail("std_2d", f"as long as mean_2d (2 per joint: {len(p.mean_2d)})")
        if len(p.mean_3d) != 3 * j or len(p.std_3d) != 3 * j:
            raise r.fail("mean_3d", f"3 per joint ({3 * j}), as std_3d")
        if p.root is not None and (isinstance(p.root, bool) or not isinstance(p.root, int) or not 0 <= p.root < j):
            raise r.fail("root", f"a joint index 0-{j - 1}")
        if p.input_norm in ("root_scale", "root_upright") and p.root is None:
            raise r.fail("root", f"a joint index ({p.input_norm} input needs it)")
        if p.input_norm == "root_upright" and p.joint_set != MPII.name:
            raise r.fail("joint_set", "mpii (root_upright input turns along its hips and shoulders)")
        if arch not in TEMPORAL and p.window != 1:
            raise r.fail("window", f"1 for a {arch} lifter")
        return p

    def to_dict(self) -> dict[str, Any]:
        return params_dict(self)


def window_indices(end: int | np.ndarray, window: int) -> np.ndarray:
    """Frame indices of the causal window ending at frame ``end`` (or (F,) ends -> (F, window)): the
    ``window`` frames up to it, the first frame repeated where the past is shorter. The one padding
    rule shared by the live pipeline, offline evaluation and lifter training."""
    return np.clip(np.asarray(end)[..., None] + np.arange(-window + 1, 1), 0, None)


def causal_windows(sequence: np.ndarray, window: int) -> np.ndarray:
    """(F, J, 2) -> (F, window, J, 2): for each frame the ``window`` frames up to it (:func:`window_indices`)."""
    return sequence[window_indices(np.arange(len(sequence)), window)]


def sequence_input(kp2d: np.ndarray, params: LifterParams) -> np.ndarray:
    """(F, J, 2) px of one recording -> what the stage takes for each of its frames: (F, J, 2) for a
    single-frame lifter, (F, window, J, 2) causal windows for a temporal one."""
    return causal_windows(kp2d, params.window) if params.window > 1 else kp2d


def input_turn(kp2d: np.ndarray, params: LifterParams) -> np.ndarray | None:
    """(N,) radians the input of (N, J, 2) / (N, T, J, 2) px is turned by ("root_upright"), else None."""
    return lifter_turn(kp2d, params.input_norm, params.window > 1)


def preprocess(kp2d: np.ndarray, params: LifterParams, turn: np.ndarray | None = None) -> np.ndarray:
    """The lifter's input: (N, 2J) for (N, J, 2) px, or (N, 2J, T) for (N, T, J, 2) causal windows (temporal).
    ``turn``: the input's :func:`input_turn`, computed here when not given."""
    m2, s2, _, _ = params.stats
    if turn is None:
        turn = input_turn(kp2d, params)
    x = normalize_2d(kp2d, m2, s2, params.input_norm, params.root, turn)
    if params.window > 1:
        if x.ndim != 3 or x.shape[1] != params.window:
            raise ValueError(f"temporal lifter needs (N, {params.window}, J, 2) input, got {np.shape(kp2d)}")
        x = np.ascontiguousarray(x.transpose(0, 2, 1))
    return x


def postprocess(kp3d: np.ndarray, params: LifterParams, turn: np.ndarray | None = None) -> np.ndarray:
    """The network's (N, 3J) z-scores ((N, 3J, T') for a temporal lifter: the newest step) -> (N, J, 3) mm;
    ``turn`` (N,) radians, the input's (:func:`input_turn`), is undone about the camera axis."""
    _, _, m3, s3 = params.stats
    y = kp3d[:, :, -1] if params.window > 1 else kp3d
    out = denormalize_3d(y, m3, s3)
    return out if turn is None else turn_about_camera_axis(out, -np.asarray(turn))


class LifterStage:
    """2D keypoints (a causal window of them for a temporal lifter) -> 3D mm, root-relative, over any backend."""

    def __init__(self, backend: Any, params: LifterParams) -> None:
        self.backend = backend
        self.params = params
        self.io = params.io
        self.window = params.window
        self.timer = Timer()

    def __call__(self, kp2d: np.ndarray) -> np.ndarray:
        """(N, J, 2) px (single frame) or (N, T, J, 2) px (temporal, T = window) -> (N, J, 3) mm."""
        self.timer.start()
        turn = input_turn(kp2d, self.params)
        x = preprocess(kp2d, self.params, turn)
        self.timer.mark("pre")
        y = self.backend({self.io.inputs[0]: x})["kp3d"]
        self.timer.mark("infer")
        out = postprocess(y, self.params, turn)
        self.timer.mark("post")
        return out


def example_input(params: LifterParams, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, TensorSpec]:
    """A random input of the network's contract (export tracing, parity checks) and its spec."""
    c = 2 * params.num_joints
    if params.window > 1:
        x = rng.standard_normal((batch, c, params.window), dtype=np.float32)
        return x, TensorSpec("kp2d", ["N", c, params.window], layout="NCT")
    return rng.standard_normal((batch, c), dtype=np.float32), TensorSpec("kp2d", ["N", c], layout="NC")


def calibration_inputs(ds: Any, count: int, params: LifterParams) -> np.ndarray:
    """(count, ...) float32: the lifter's inputs for the ground-truth 2D of MINI-RGBD split ``ds``, spread
    over its frames."""
    chunks = []
    for seq in ds.sequences:
        _, kp, _ = ds.sequence_arrays(seq.name)
        chunks.append(preprocess(sequence_input(map_joints(kp, MINI_RGBD.name, params.joint_set), params), params))
    allx = np.concatenate(chunks)
    return allx[spread_indices(len(allx), count)]


MAX_DRIFT = 2.0  # INT8 acceptance: at most this mean mm of 3D against FP32 on held-out inputs


def drift(a: dict[str, np.ndarray], b: dict[str, np.ndarray], params: LifterParams) -> float:
    """FP32 -> INT8 drift of two raw outputs on the same inputs: mean |difference| in mm."""
    std = params.stats[3]
    d = (a["kp3d"] - b["kp3d"]) * (std[:, None] if a["kp3d"].ndim == 3 else std)
    return float(np.abs(d).mean())


STAGE = StageDef(NAME, LifterParams, LifterStage, example_input, calibration_inputs, drift, MAX_DRIFT)
