"""The detector stage: whole frame -> one infant box (frame px) and its score.

Everything about the stage that is not a torch model lives here: its params, its
architectures' tensor contracts, pre- and post-processing, the runtime class, the export
example input, INT8 calibration inputs and the FP32 -> INT8 drift metric.

Architectures:
  "centre"      CentreNet-style heads at one stride (centre heatmap, log size, offset);
                letterboxed, normalised frames in; the shipped edge detector.
  "fasterrcnn"  torchvision's Faster R-CNN (the published seed chain): one RGB 0-1 frame of
                any size in, it resizes and normalises inside the graph; boxes and scores out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from infantpose.datasets.common import spread_indices
from infantpose.detection import boxes_to_frame, decode_boxes
from infantpose.fileio import read_image
from infantpose.metrics import box_iou
from infantpose.preprocess import detector_input, invert_affine, normalize_image
from infantpose.stages.base import ParamsReader, StageDef, TensorIO, TensorSpec, Timer, params_dict

NAME = "detector"
CENTRE = "centre"
SEED_ARCH = "fasterrcnn"  # the published chain's detector


@dataclass(frozen=True)
class DetectorArch:
    """What the rest of the code needs to know about a detector architecture."""

    io: TensorIO
    whole_frame: bool  # one frame of any size per call, normalised inside the graph (no letterbox, no batch)
    quantisable: bool  # INT8 export applies


ARCHS: dict[str, DetectorArch] = {
    CENTRE: DetectorArch(TensorIO(("image",), ("centre", "size", "offset")), whole_frame=False, quantisable=True),
    SEED_ARCH: DetectorArch(TensorIO(("image",), ("boxes", "scores")), whole_frame=True, quantisable=False),
}


@dataclass(frozen=True)
class DetectorParams:
    """The detector's pre/post-processing contract (manifest ``stages.detector.params``).

    input_size: (w, h) px of the letterboxed network input; stride: px of the input per output
    cell; score_threshold: score under which a frame has no infant; mean/std: per channel,
    0-1 scale, in ``colour`` order.
    """

    arch: str
    input_size: tuple[int, int] | None = None
    stride: int | None = None
    score_threshold: float = 0.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    colour: str = "RGB"

    @property
    def spec(self) -> DetectorArch:
        return ARCHS[self.arch]

    @property
    def io(self) -> TensorIO:
        return self.spec.io

    @property
    def whole_frame(self) -> bool:
        return self.spec.whole_frame

    @property
    def quantisable(self) -> bool:
        return self.spec.quantisable

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str) -> DetectorParams:
        r = ParamsReader(d, NAME, source)
        arch = r.choice("arch", tuple(ARCHS))
        threshold = r.number("score_threshold", 0.0, low=0.0, strict=False)
        if ARCHS[arch].whole_frame:
            r.done()
            return cls(arch=arch, score_threshold=threshold)
        p = cls(
            arch=arch, input_size=r.size("input_size"), stride=r.integer("stride"), score_threshold=threshold,
            mean=r.numbers("mean", 3), std=r.numbers("std", 3, positive=True),
            colour=r.choice("colour", ("RGB", "BGR"), "RGB"),
        )  # fmt: skip
        r.done()
        return p

    def to_dict(self) -> dict[str, Any]:
        return params_dict(self)


def preprocess(frames: list[np.ndarray], params: DetectorParams) -> tuple[np.ndarray, list[np.ndarray]]:
    """The detector's input (N, 3, H, W) float32 for N BGR frames, and each frame's (2, 3) letterbox affine.

    The one implementation: the runtime stage, INT8 calibration and the benchmarks all call it.
    """
    inputs, affines = zip(
        *(detector_input(f, params.input_size, params.mean, params.std, params.colour) for f in frames), strict=True
    )
    return np.stack(inputs), list(affines)


def postprocess(
    out: dict[str, np.ndarray], affines: list[np.ndarray], frames: list[np.ndarray], params: DetectorParams
) -> tuple[np.ndarray, np.ndarray]:
    """The network's maps -> (N, 4) x1 y1 x2 y2 frame px boxes and (N,) scores."""
    boxes, scores = decode_boxes(out["centre"], out["size"], out["offset"], params.stride)
    frame_boxes = np.stack(
        [
            boxes_to_frame(b[None], invert_affine(a), (f.shape[1], f.shape[0]))[0]
            for b, a, f in zip(boxes, affines, frames, strict=True)
        ]
    )
    return frame_boxes, scores


class DetectorStage:
    """Whole frame -> one infant box per frame (frame px) and its score, over any backend."""

    def __init__(self, backend: Any, params: DetectorParams) -> None:
        self.backend = backend
        self.params = params
        self.io = params.io
        self.timer = Timer()

    def __call__(self, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) x1 y1 x2 y2 px and (N,) scores for N BGR frames."""
        if self.params.whole_frame:
            return self._whole_frames(frames)
        self.timer.start()
        x, affines = preprocess(frames, self.params)
        self.timer.mark("pre")
        out = self.backend({self.io.inputs[0]: x})
        self.timer.mark("infer")
        boxes, scores = postprocess(out, affines, frames, self.params)
        self.timer.mark("post")
        return boxes, scores

    def _whole_frames(self, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        boxes, scores = [], []
        self.timer.start()
        for f in frames:
            x = normalize_image(f, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "RGB")
            self.timer.mark("pre")
            out = self.backend({self.io.inputs[0]: x})
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


def example_input(params: DetectorParams, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, TensorSpec]:
    """A random input of the network's contract (export tracing, parity checks) and its spec."""
    if params.whole_frame:
        return rng.random((3, 480, 640), dtype=np.float32), TensorSpec("image", [3, "H", "W"], layout="CHW")
    w, h = params.input_size
    x = rng.standard_normal((batch, 3, h, w), dtype=np.float32)
    return x, TensorSpec("image", ["N", 3, h, w], layout="NCHW")


def calibration_inputs(ds: Any, count: int, params: DetectorParams) -> np.ndarray:
    """(count, 3, H, W) float32: letterboxed frames spread evenly over a MINI-RGBD-layout split ``ds``."""
    picks = spread_indices(len(ds), count)
    return np.stack([preprocess([read_image(ds[int(i)].image)], params)[0][0] for i in picks]).astype(np.float32)


MAX_DRIFT = 0.10  # INT8 acceptance: at most this mean 1 - IoU against FP32 on held-out frames


def drift(a: dict[str, np.ndarray], b: dict[str, np.ndarray], params: DetectorParams) -> float:
    """FP32 -> INT8 drift of two raw outputs on the same inputs: 1 - mean IoU of the decoded boxes."""
    ba, _ = decode_boxes(a["centre"], a["size"], a["offset"], params.stride)
    bb, _ = decode_boxes(b["centre"], b["size"], b["offset"], params.stride)
    return float(1.0 - box_iou(ba, bb).mean())


STAGE = StageDef(NAME, DetectorParams, DetectorStage, example_input, calibration_inputs, drift, MAX_DRIFT)
