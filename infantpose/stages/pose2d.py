"""The 2D stage: frames and infant boxes -> 2D keypoints (frame px) and confidences.

Its params, its architectures' tensor contracts, pre- and post-processing (crop, heatmap
decoding, joint regressor, view rule), the runtime class with the upright search, the export
example input, INT8 calibration inputs and the drift metric.

Architectures (:data:`ARCHS`, one spec each: tensor names and decoder): "simple_baseline" (heatmaps),
"blazepose" (MediaPipe's landmark network: heatmaps and a presence logit; needs an upright body) and
"movenet" (Google's MoveNet SinglePose: CenterNet heads, decoded with soft peaks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from infantpose.datasets.common import spread_indices
from infantpose.fileio import read_image
from infantpose.geometry import turned_box_from_points
from infantpose.heatmaps import DECODERS, apply_joint_regressor, decode_centernet, decode_heatmaps, heatmaps_to_image
from infantpose.posture import VIEWS, front_view, limbs_follow_torso, upright_angle
from infantpose.preprocess import pose_input
from infantpose.skeleton import MPII, flip_permutation_of, map_joints
from infantpose.stages.base import ParamsReader, StageDef, TensorIO, TensorSpec, Timer, is_finite_number, params_dict

NAME = "pose2d"


def _decode_heatmaps(out: dict[str, np.ndarray], params: PoseParams) -> tuple[np.ndarray, np.ndarray]:
    return decode_heatmaps(out["heatmaps"], params.decoder, params.sigma)


def _decode_centernet(out: dict[str, np.ndarray], params: PoseParams) -> tuple[np.ndarray, np.ndarray]:
    return decode_centernet(out["heatmaps"], out["offsets"], out["centre"], out["regress"])


@dataclass(frozen=True)
class PoseArch:
    """One 2D architecture's contract: its tensors, and how its outputs become (N, C, 2) heatmap px
    (x, y) and (N, C) confidences (``decode(outputs, params)``); ``ranked_by``: the output that ranks
    the crops of the upright search (None: the mean keypoint confidence); ``mirror``: x + x' of a point
    and its mirror image, in heatmap widths W + mirror (its decoder's pixel convention; None: no flip test)."""

    io: TensorIO
    decode: Callable[[dict[str, np.ndarray], Any], tuple[np.ndarray, np.ndarray]]
    ranked_by: str | None = None
    mirror: float | None = None


ARCHS: dict[str, PoseArch] = {
    "simple_baseline": PoseArch(TensorIO(("image",), ("heatmaps",)), _decode_heatmaps),
    "blazepose": PoseArch(TensorIO(("image",), ("heatmaps", "presence")), _decode_heatmaps, "presence"),
    # MoveNet's decoding puts cell j at input px stride * j (corner convention): x' = W - x.
    "movenet": PoseArch(
        TensorIO(("image",), ("heatmaps", "offsets", "centre", "regress")), _decode_centernet, mirror=0.0
    ),
}


@dataclass(frozen=True)
class PoseParams:
    """The 2D stage's contract (manifest ``stages.pose2d.params``).

    input_size: (w, h) px of the crop; padding: crop side over the box's; heatmap_stride: input
    px per heatmap px; decoder/sigma: heatmap decoding (sigma in heatmap px); mean/std: per
    channel, 0-1 scale, in ``colour`` order; upright: the network needs the body upright (the
    runtime turns crops); view: the side of the body the camera is assumed to see
    (:mod:`infantpose.posture`); joint_regressor: (J, C) map from the C heatmap channels
    (``heatmap_joints``) to the J MPII joints. keypoint_box: side of a box built from a pose
    (tracking, refinement) over the joints' extent measured along the body (the crop then adds
    ``padding`` as it does to a detector's box); refine: passes on the pose's own box after each
    detection (a detector's box says where the infant is, not how large it is to the network);
    flip_test: the last pass also runs the mirrored crops and averages the two (one more network pass).
    """

    arch: str
    input_size: tuple[int, int]
    padding: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    colour: str = "RGB"
    heatmap_stride: int = 4
    decoder: str = "dark"
    sigma: float = 2.0
    upright: bool = False
    view: str = "any"
    heatmap_joints: tuple[str, ...] | None = None
    joint_regressor: tuple[tuple[float, ...], ...] | None = None
    keypoint_box: float = 1.3  # 1.3: the tracker's box before it was measured along the body
    refine: int = 0
    flip_test: bool = False

    @property
    def spec(self) -> PoseArch:
        return ARCHS[self.arch]

    @property
    def io(self) -> TensorIO:
        return self.spec.io

    whole_frame = False  # batched fixed-size inputs
    quantisable = True

    @cached_property
    def regressor(self) -> np.ndarray | None:
        """(J, C) float64 joint regressor, or None (the heatmap channels are the joints)."""
        return None if self.joint_regressor is None else np.asarray(self.joint_regressor, np.float64)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str) -> PoseParams:
        r = ParamsReader(d, NAME, source)
        joints, regressor = r.raw("heatmap_joints"), r.raw("joint_regressor")
        if joints is not None and (not isinstance(joints, list) or not all(isinstance(j, str) for j in joints)):
            raise r.fail("heatmap_joints", "a list of joint names")
        if regressor is not None:
            ok = isinstance(regressor, list) and len(regressor) > 0
            ok = ok and all(isinstance(row, list) and len(row) == len(joints or row) for row in regressor)
            ok = ok and all(is_finite_number(x) for row in regressor for x in row)
            if not ok:
                raise r.fail("joint_regressor", "a list of rows of finite numbers, one weight per heatmap joint")
        p = cls(
            arch=r.choice("arch", tuple(ARCHS)), input_size=r.size("input_size"),
            padding=r.number("padding"), mean=r.numbers("mean", 3), std=r.numbers("std", 3, positive=True),
            colour=r.choice("colour", ("RGB", "BGR"), "RGB"), heatmap_stride=r.integer("heatmap_stride", 4),
            decoder=r.choice("decoder", DECODERS, "dark"), sigma=r.number("sigma", 2.0),
            upright=r.flag("upright", False), view=r.choice("view", VIEWS, "any"),
            heatmap_joints=None if joints is None else tuple(joints),
            joint_regressor=None if regressor is None else tuple(tuple(float(x) for x in row) for row in regressor),
            keypoint_box=r.number("keypoint_box", 1.3), refine=r.integer("refine", 0, low=0),
            flip_test=r.flag("flip_test", False),
        )  # fmt: skip
        if p.flip_test and p.spec.mirror is None:
            raise r.fail("flip_test", f"false: the flip test is not defined for {p.arch}")
        r.done()
        return p

    def to_dict(self) -> dict[str, Any]:
        return params_dict(self)


def preprocess(
    frames: list[np.ndarray], boxes: np.ndarray, params: PoseParams, rotations: np.ndarray | None = None
) -> tuple[np.ndarray, list[tuple]]:
    """The 2D network's input (N, 3, H, W) float32 for N BGR frames, (N, 4) px boxes and optional (N,)
    degrees of turn, and each crop's (input, centre, scale) as :func:`preprocess.pose_input` returns it.

    The one implementation: the runtime stage, INT8 calibration and the benchmarks all call it.
    """
    rot = np.zeros(len(boxes)) if rotations is None else np.asarray(rotations, np.float64)
    crops = [
        pose_input(f, b, params.input_size, params.padding, params.mean, params.std, params.colour, float(r))
        for f, b, r in zip(frames, boxes, rot, strict=True)
    ]
    return np.stack([c[0] for c in crops]), crops


def postprocess(
    out: dict[str, np.ndarray],
    crops: list[tuple],
    rotations: np.ndarray,
    params: PoseParams,
    view: str | None = None,
    flipped: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The network's outputs for the crops (``heatmaps`` (N, C, h, w) and what else its architecture
    has) -> (N, J, 2) frame px and (N, J) confidences, with the view rule (``view``, default
    ``params.view``; :mod:`infantpose.posture`). ``flipped``: the outputs for the same crops mirrored
    left to right (flip test): each keypoint is the mean of the two."""
    coords, conf = params.spec.decode(out, params)
    heatmaps = out["heatmaps"]
    hm_size = (heatmaps.shape[3], heatmaps.shape[2])
    if flipped is not None:  # the mirrored crops' keypoints, mirrored back, left and right swapped: the mean
        fc, fconf = params.spec.decode(flipped, params)
        fc[..., 0] = hm_size[0] + params.spec.mirror - fc[..., 0]
        names = params.heatmap_joints or MPII.joints
        if len(names) != coords.shape[1]:
            raise ValueError(f"flip test needs the names of the {coords.shape[1]} channels (heatmap_joints)")
        perm = flip_permutation_of(names)
        coords, conf = (coords + fc[:, perm]) / 2, (conf + fconf[:, perm]) / 2
    kp = np.stack(
        [heatmaps_to_image(c, k[1], k[2], hm_size, float(r)) for c, k, r in zip(coords, crops, rotations, strict=True)]
    )
    kp, conf = apply_joint_regressor(kp, conf, params.regressor)
    # Before its regressor is fitted, a network's raw channels are not MPII joints: no view rule then.
    view = (view or params.view) if kp.shape[1] == MPII.num_joints else "any"
    if view == "front":
        kp, conf = front_view(kp, conf)
    elif view == "auto":  # the track's vote (Pipeline) may still turn the whole body round
        kp, conf = limbs_follow_torso(kp, conf)
    return kp, conf


# The upright search turns crops in steps of this many degrees (BlazePose is trained with small
# rotations, so +-half a step is harmless): a joint that moves slightly between backends
# (PyTorch, FP32 or FP16 ONNX) then rarely changes the crop.
ROT_STEP = 15.0


def upright_steps(kp2d: np.ndarray) -> np.ndarray:
    """(N,) degrees, in :data:`ROT_STEP` steps, that turn (N, J, 2) px poses upright."""
    return ROT_STEP * np.round(upright_angle(kp2d) / ROT_STEP)


class PoseStage:
    """Frames and boxes -> 2D keypoints (frame px) and confidences, over any backend."""

    def __init__(self, backend: Any, params: PoseParams) -> None:
        self.backend = backend
        self.params = params
        self.io = params.io
        self.timer = Timer()
        self.last_presence: np.ndarray | None = None  # (N,) of the latest call, for networks that score it

    def __call__(
        self,
        frames: list[np.ndarray],
        boxes: np.ndarray,
        rotations: np.ndarray | None = None,
        refine: bool = True,
        view: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, J, 2) px and (N, J) confidences for N BGR frames and (N, 4) boxes.

        ``rotations`` (N,) degrees counter-clockwise turn the crops so that the body is upright.
        None: no turn, except for networks that need an upright body (``params.upright``,
        e.g. BlazePose), which then search for it (:meth:`find_upright`). ``refine``: the boxes
        come from a detector (or labels), so ``params.refine`` more passes run on each pose's own
        box (:meth:`pose_boxes`); a tracker, whose box is already one, passes False. ``view``: the
        view rule (default ``params.view``; a photo passes "any").
        """
        passes = self.params.refine if refine else 0
        flip = self.params.flip_test and passes == 0  # the flip test runs on the last pass only
        if rotations is None and self.params.upright:
            kp, conf = self.find_upright(frames, boxes, view, flip)
        else:
            kp, conf = self._run(frames, boxes, rotations, view, flip)
        for k in range(passes):
            turn = self.pose_rotations(kp)
            last = self.params.flip_test and k == passes - 1
            kp, conf = self._run(frames, self.pose_boxes(kp, turn), turn, view, last)
        return kp, conf

    def pose_rotations(self, kp2d: np.ndarray) -> np.ndarray:
        """(N,) degrees that turn (N, J, 2) px poses upright (in :data:`ROT_STEP` steps); zeros for
        networks that take the body as it lies."""
        return upright_steps(kp2d) if self.params.upright else np.zeros(len(kp2d))

    def pose_boxes(self, kp2d: np.ndarray, rotations: np.ndarray) -> np.ndarray:
        """(N, 4) px boxes for crops turned by ``rotations`` (N,) degrees around (N, J, 2) px poses.

        Measured along the body, so the body fills the crop the same way at any angle; the side
        is ``params.keypoint_box`` x the joints' extent (a detector's box, trained on rendered
        masks, is 1.8x that on our renders but 1.1x on real photos: the network saw two scales).
        """
        grow = self.params.keypoint_box
        return np.stack([turned_box_from_points(k, float(r), grow) for k, r in zip(kp2d, rotations, strict=True)])

    def find_upright(
        self, frames: list[np.ndarray], boxes: np.ndarray, view: str | None = None, flip: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints and confidences, as :meth:`__call__`, for bodies of unknown orientation.

        The four quarter turns run as one batch and the network ranks them (its ``presence``
        logit where it has one, else the mean keypoint confidence). The two best are turned
        upright along their predicted hips-to-shoulders axis (as MediaPipe aligns its region
        of interest) and ranked again on those aligned crops. Six network passes per item.
        """
        n = len(boxes)
        boxes = np.asarray(boxes)
        idx = np.arange(n)
        kp4, conf4 = self._run(list(frames) * 4, np.tile(boxes, (4, 1)), np.repeat(np.arange(4) * 90.0, n), view, flip)
        top2 = np.argsort(-self._rank(conf4).reshape(4, n), axis=0, kind="stable")[:2]  # (2, N)
        rot = upright_steps(kp4.reshape(4, n, *kp4.shape[1:])[top2, idx].reshape(2 * n, *kp4.shape[1:]))
        kp2, conf2 = self._run(list(frames) * 2, np.tile(boxes, (2, 1)), rot, view, flip)
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
        self,
        frames: list[np.ndarray],
        boxes: np.ndarray,
        rotations: np.ndarray | None,
        view: str | None = None,
        flip: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One network pass (``flip``: with the mirrored crops too) and its post-processing (view rule ``view``)."""
        self.timer.start()
        rot = np.zeros(len(boxes)) if rotations is None else np.asarray(rotations, np.float64)
        x, crops = preprocess(frames, boxes, self.params, rot)
        self.timer.mark("pre")
        if flip:  # the crops and their mirror images in one batch
            x = np.concatenate([x, np.ascontiguousarray(x[..., ::-1])])
        out = self.backend({self.io.inputs[0]: x})
        flipped = None
        if flip:
            n = len(boxes)
            out, flipped = {k: v[:n] for k, v in out.items()}, {k: v[n:] for k, v in out.items()}
        ranked_by = self.params.spec.ranked_by
        self.last_presence = None if ranked_by is None else np.asarray(out[ranked_by], np.float32).reshape(-1)
        self.timer.mark("infer")
        kp, conf = postprocess(out, crops, rot, self.params, view, flipped)
        self.timer.mark("post")
        return kp, conf


def example_input(params: PoseParams, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, TensorSpec]:
    """A random input of the network's contract (export tracing, parity checks) and its spec."""
    w, h = params.input_size
    return rng.standard_normal((batch, 3, h, w), dtype=np.float32), TensorSpec("image", ["N", 3, h, w], layout="NCHW")


def calibration_inputs(ds: Any, count: int, params: PoseParams) -> np.ndarray:
    """(count, 3, H, W) float32: crops around the ground-truth box of frames spread over split ``ds``,
    turned upright along the ground-truth body for networks that need it (``params.upright``), as the
    runtime feeds them: calibration and drift must see the inputs the network will get."""
    samples = [ds[int(i)] for i in spread_indices(len(ds), count)]
    out = []
    for s in samples:
        rot = upright_angle(map_joints(s.joints2d[None], s.joint_set, MPII.name)) if params.upright else None
        out.append(preprocess([read_image(s.image)], np.asarray(s.box)[None], params, rot)[0][0])
    return np.stack(out).astype(np.float32)


MAX_DRIFT = 0.5  # INT8 acceptance: at most this mean heatmap-px peak shift against FP32 on held-out crops


def drift(a: dict[str, np.ndarray], b: dict[str, np.ndarray], params: PoseParams) -> float:
    """FP32 -> INT8 drift of two raw outputs on the same inputs: mean heatmap-px shift of the decoded keypoints."""
    ca, _ = params.spec.decode(a, params)
    cb, _ = params.spec.decode(b, params)
    return float(np.linalg.norm(ca - cb, axis=-1).mean())


STAGE = StageDef(NAME, PoseParams, PoseStage, example_input, calibration_inputs, drift, MAX_DRIFT)
