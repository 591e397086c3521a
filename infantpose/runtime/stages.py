"""The three pipeline stages: pre-process -> backend -> post-process, each timed.

Each stage is built from a backend and the stage's ``params`` dict from the
bundle manifest (or a checkpoint's config: the same keys). The same classes
run the PyTorch checkpoints during evaluation and the exported models at run
time, so pre- and post-processing exist once.

Shapes: N frames, J joints, T window length.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np

from infantpose.detection import boxes_to_frame, decode_boxes
from infantpose.heatmaps import apply_joint_regressor, decode_heatmaps, heatmaps_to_image
from infantpose.posture import front_view, limbs_follow_torso, upright_angle
from infantpose.preprocess import (
    denormalize_3d,
    detector_input,
    invert_affine,
    lifter_input,
    normalize_image,
    pose_input,
)
from infantpose.runtime.backends.base import Backend
from infantpose.skeleton import MPII


class Timer:
    """Accumulates per-phase milliseconds of the last call (pre, infer, post)."""

    def __init__(self) -> None:
        self.last: dict[str, float] = defaultdict(float)
        self._t = 0.0

    def start(self) -> None:
        self.last = defaultdict(float)
        self._t = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.last[phase] += (now - self._t) * 1000.0
        self._t = now


def detector_preprocess(frames: list[np.ndarray], params: dict[str, Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The detector's input (N, 3, H, W) float32 for N BGR frames, and each frame's letterbox affine.

    The one implementation: the runtime stage, INT8 calibration and the benchmarks all call it.
    """
    size = tuple(params["input_size"])
    inputs, affines = zip(
        *(detector_input(f, size, params["mean"], params["std"], params["colour"]) for f in frames), strict=True
    )
    return np.stack(inputs), list(affines)


def pose_preprocess(
    frames: list[np.ndarray], boxes: np.ndarray, params: dict[str, Any], rotations: np.ndarray | None = None
) -> tuple[np.ndarray, list[tuple]]:
    """The 2D network's input (N, 3, H, W) float32 for N BGR frames, (N, 4) px boxes and optional (N,)
    degrees of turn, and each crop's (input, centre, scale) as :func:`preprocess.pose_input` returns it."""
    size = tuple(params["input_size"])
    rot = np.zeros(len(boxes)) if rotations is None else np.asarray(rotations, np.float64)
    crops = [
        pose_input(f, b, size, params["padding"], params["mean"], params["std"], params["colour"], float(r))
        for f, b, r in zip(frames, boxes, rot, strict=True)
    ]
    return np.stack([c[0] for c in crops]), crops


def lifter_preprocess(kp2d: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """The lifter's input: (N, 2J) for (N, J, 2) px, or (N, 2J, T) for (N, T, J, 2) causal windows (temporal)."""
    window = int(params.get("window", 1))
    x = lifter_input(kp2d, params)
    if window > 1:
        if x.ndim != 3 or x.shape[1] != window:
            raise ValueError(f"temporal lifter needs (N, {window}, J, 2) input, got {np.shape(kp2d)}")
        x = np.ascontiguousarray(x.transpose(0, 2, 1))
    return x


class DetectorStage:
    """Whole frame -> one infant box per frame (frame px) and its score."""

    def __init__(self, backend: Backend, params: dict[str, Any]) -> None:
        self.backend = backend
        self.params = params
        self.kind = params.get("kind", "centre")
        self.timer = Timer()

    def __call__(self, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) x1 y1 x2 y2 px and (N,) scores for N BGR frames."""
        if self.kind == "fasterrcnn":
            return self._fasterrcnn(frames)
        p = self.params
        self.timer.start()
        x, affines = detector_preprocess(frames, p)
        self.timer.mark("pre")
        out = self.backend({p.get("input_name", "image"): x})
        self.timer.mark("infer")
        boxes, scores = decode_boxes(out["centre"], out["size"], out["offset"], int(p["stride"]))
        frame_boxes = np.stack(
            [
                boxes_to_frame(b[None], invert_affine(a), (f.shape[1], f.shape[0]))[0]
                for b, a, f in zip(boxes, affines, frames, strict=True)
            ]
        )
        self.timer.mark("post")
        return frame_boxes, scores

    def _fasterrcnn(self, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        # torchvision's detector normalises and resizes inside the graph: it takes RGB 0-1 frames.
        boxes, scores = [], []
        self.timer.start()
        for f in frames:
            x = normalize_image(f, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "RGB")
            self.timer.mark("pre")
            out = self.backend({self.params.get("input_name", "image"): x})
            self.timer.mark("infer")
            h, w = f.shape[:2]
            if len(out["scores"]):
                k = int(np.argmax(out["scores"]))
                boxes.append(out["boxes"][k].astype(np.float64))
                scores.append(float(out["scores"][k]))
            else:  # nothing detected: the whole image is the box, as in the original
                boxes.append(np.array([0.0, 0.0, w - 1.0, h - 1.0]))
                scores.append(0.0)
            self.timer.mark("post")
        return np.stack(boxes), np.asarray(scores, np.float32)


class PoseStage:
    """Frames and boxes -> 2D keypoints (frame px) and confidences."""

    def __init__(self, backend: Backend, params: dict[str, Any]) -> None:
        self.backend = backend
        self.params = params
        self.timer = Timer()
        self.last_presence: np.ndarray | None = None  # (N,) of the latest call, for networks that score it

    def __call__(
        self, frames: list[np.ndarray], boxes: np.ndarray, rotations: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, J, 2) px and (N, J) confidences for N BGR frames and (N, 4) boxes.

        ``rotations`` (N,) degrees counter-clockwise turn the crops so that the body is upright.
        None: no turn, except for networks that need an upright body (``params["upright"]``,
        e.g. BlazePose), which then search for it (:meth:`find_upright`).
        """
        if rotations is None and self.params.get("upright"):
            return self.find_upright(frames, boxes)
        return self._run(frames, boxes, rotations)

    def find_upright(self, frames: list[np.ndarray], boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints and confidences, as :meth:`__call__`, for bodies of unknown orientation.

        The four quarter turns run as one batch and the network ranks them (its ``presence``
        logit where it has one, else the mean keypoint confidence). The two best are turned
        upright along their predicted hips-to-shoulders axis (as MediaPipe aligns its region
        of interest) and ranked again on those aligned crops. Six network passes per item.
        """
        n = len(boxes)
        boxes = np.asarray(boxes)
        idx = np.arange(n)
        kp4, conf4 = self._run(list(frames) * 4, np.tile(boxes, (4, 1)), np.repeat(np.arange(4) * 90.0, n))
        top2 = np.argsort(-self._rank(conf4).reshape(4, n), axis=0, kind="stable")[:2]  # (2, N)
        rot = ROT_STEP * np.round(
            upright_angle(kp4.reshape(4, n, *kp4.shape[1:])[top2, idx].reshape(2 * n, *kp4.shape[1:])) / ROT_STEP
        )
        kp2, conf2 = self._run(list(frames) * 2, np.tile(boxes, (2, 1)), rot)
        second = self._rank(conf2).reshape(2, n).argmax(0)  # 0: the first choice stays on a tie
        pick = second * n + idx
        return kp2[pick], conf2[pick]

    def _rank(self, conf: np.ndarray) -> np.ndarray:
        """(M,) score of the latest pass's crops: the presence logit, else the mean confidence.

        Rounded (0.1 logit, 0.001 confidence) so that near ties go to the earlier candidate on
        every backend: FP32 and FP16 differences must not flip the turn.
        """
        if self.last_presence is not None:
            return np.round(self.last_presence.astype(np.float64), 1)
        return np.round(conf.mean(1).astype(np.float64), 3)

    def _run(
        self, frames: list[np.ndarray], boxes: np.ndarray, rotations: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        self.timer.start()
        rot = np.zeros(len(boxes)) if rotations is None else np.asarray(rotations, np.float64)
        x, crops = pose_preprocess(frames, boxes, p, rot)
        self.timer.mark("pre")
        out = self.backend({p.get("input_name", "image"): x})
        heat = out["heatmaps"]
        presence = out.get("presence")
        self.last_presence = None if presence is None else np.asarray(presence, np.float32).reshape(-1)
        self.timer.mark("infer")
        coords, conf = decode_heatmaps(heat, p.get("decoder", "dark"), float(p.get("sigma", 2.0)))
        hm_size = (heat.shape[3], heat.shape[2])
        kp = np.stack(
            [heatmaps_to_image(c, k[1], k[2], hm_size, float(r)) for c, k, r in zip(coords, crops, rot, strict=True)]
        )
        kp, conf = apply_joint_regressor(kp, conf, p.get("joint_regressor"))
        # Before its regressor is fitted, a network's raw channels are not MPII joints: no view rule then.
        view = p.get("view", "any") if kp.shape[1] == MPII.num_joints else "any"
        if view == "front":
            kp, conf = front_view(kp, conf)
        elif view == "auto":  # the track's vote (Pipeline) may still turn the whole body round
            kp, conf = limbs_follow_torso(kp, conf)
        self.timer.mark("post")
        return kp, conf


# The upright search turns crops in steps of this many degrees (BlazePose is trained with small
# rotations, so +-half a step is harmless): a joint that moves slightly between backends
# (PyTorch, FP32 or FP16 ONNX) then rarely changes the crop.
ROT_STEP = 15.0


class LifterStage:
    """2D keypoints (a causal window of them for a temporal lifter) -> 3D mm, root-relative."""

    def __init__(self, backend: Backend, params: dict[str, Any]) -> None:
        self.backend = backend
        self.params = params
        self.window = int(params.get("window", 1))
        self.mean_3d = np.asarray(params["mean_3d"], np.float64)
        self.std_3d = np.asarray(params["std_3d"], np.float64)
        self.timer = Timer()

    def __call__(self, kp2d: np.ndarray) -> np.ndarray:
        """(N, J, 2) px (single frame) or (N, T, J, 2) px (temporal, T = window) -> (N, J, 3) mm."""
        self.timer.start()
        x = lifter_preprocess(kp2d, self.params)
        self.timer.mark("pre")
        y = self.backend({self.params.get("input_name", "kp2d"): x})["kp3d"]
        self.timer.mark("infer")
        if self.window > 1:
            y = y[:, :, -1]  # (N, 3J): the newest frame
        out = denormalize_3d(y, self.mean_3d, self.std_3d)
        self.timer.mark("post")
        return out


def window_indices(end: int | np.ndarray, window: int) -> np.ndarray:
    """Frame indices of the causal window ending at frame ``end`` (or (F,) ends -> (F, window)): the
    ``window`` frames up to it, the first frame repeated where the past is shorter. The one padding
    rule shared by the live pipeline, offline evaluation and lifter training."""
    return np.clip(np.asarray(end)[..., None] + np.arange(-window + 1, 1), 0, None)


def causal_windows(sequence: np.ndarray, window: int) -> np.ndarray:
    """(F, J, 2) -> (F, window, J, 2): for each frame the ``window`` frames up to it (:func:`window_indices`)."""
    return sequence[window_indices(np.arange(len(sequence)), window)]


# The one map from a stage's name (bundle, checkpoint, CLI) to the runtime class that runs it.
STAGE_CLASSES: dict[str, type] = {"detector": DetectorStage, "pose2d": PoseStage, "lifter": LifterStage}


def make_stage(name: str, backend: Backend, params: dict[str, Any]) -> DetectorStage | PoseStage | LifterStage:
    """The runtime stage ``name`` ("detector", "pose2d", "lifter") over ``backend`` with its params."""
    if name not in STAGE_CLASSES:  # looked up first: a KeyError inside a constructor is not an unknown stage
        raise ValueError(f"unknown stage {name!r} (known: {', '.join(STAGE_CLASSES)})")
    return STAGE_CLASSES[name](backend, params)
