"""The live chain: ROI (detector or tracked box) -> 2D -> 3D -> smoothing, per frame.

pipe = Pipeline.from_bundle()              # the shipped default bundle
result = pipe(frame_bgr)                   # one FrameResult
for result in pipe.stream(Source("0")):    # a camera, file, folder or URL
    ...
"""

from __future__ import annotations

import math
import time
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import BundleError
from infantpose.geometry import clip_box, turned_box_hull
from infantpose.posture import PHOTO_VIEW, VIEWS, VOTE_WINDOW, set_view, torso_back_view, upright_angle, vote_back
from infantpose.runtime.backends import load_backend
from infantpose.runtime.bundle import load_bundle, sha256_file
from infantpose.runtime.result import FrameResult
from infantpose.runtime.smoothing import OneEuroFilter
from infantpose.runtime.sources import Source
from infantpose.runtime.tracking import Tracker, TrackerConfig
from infantpose.stages import STAGES, make_stage
from infantpose.stages.detector import DetectorStage
from infantpose.stages.lifter import LifterStage, window_indices
from infantpose.stages.pose2d import PoseStage

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The shipped model tiers (as MediaPipe's complexities or Ultralytics' sizes): "fast" for live
# sources (webcam, streams), "accurate" for photos, batch studies and recorded files.
TIERS: dict[str, Path] = {"fast": ASSETS / "fast", "accurate": ASSETS / "accurate"}
LIVE_TIER, OFFLINE_TIER = "fast", "accurate"
DEFAULT_BUNDLE = TIERS[LIVE_TIER]


def tier_bundle(model: str | None, bundle: str | Path | None, default: str = LIVE_TIER) -> Path:
    """The bundle folder that ``--model`` / ``--bundle`` name (neither: the ``default`` tier's);
    BundleError for both at once or an unknown tier."""
    if model is not None and bundle is not None:
        raise BundleError("give --model or --bundle, not both")
    if bundle is not None:
        return Path(bundle)
    name = default if model is None else model
    if name not in TIERS:
        raise BundleError(f"unknown model {name!r}; choose from {', '.join(TIERS)} (or --bundle PATH)")
    return TIERS[name]


@dataclass
class SmoothingConfig:
    """One Euro parameters for 2D (px) and 3D (mm) output."""

    enabled: bool = True
    min_cutoff_2d: float = 1.5
    beta_2d: float = 0.05
    min_cutoff_3d: float = 1.0
    beta_3d: float = 0.01


def _left_out_note(meta: dict, precision: str, stage: str) -> str:
    """``stage``, with the drift for which the export left its INT8 model out where the manifest says."""
    table = meta.get("int8_left_out") if precision == "int8" else None
    why = table.get(stage) if isinstance(table, dict) else None
    if isinstance(why, dict) and "drift" in why:
        return f"{stage} (left out at export: drift {why['drift']:.3g} > {why.get('max_drift')})"
    return stage


def check_frame(frame: object) -> None:
    """ValueError unless ``frame`` is a non-empty (H, W, 3) uint8 BGR image."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array (H, W, 3) uint8 BGR, not {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 2 or frame.shape[1] < 2:
        raise ValueError(f"frame must be (H, W, 3) BGR with H, W >= 2, not shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 (0-255), not {frame.dtype}")


class Pipeline:
    """detect -> 2D -> 3D on single frames, with tracking, a causal 2D window and smoothing."""

    def __init__(
        self,
        detector: DetectorStage,
        pose: PoseStage,
        lifter: LifterStage,
        joint_set: str = "mpii",
        tracker: TrackerConfig | None = None,
        smoothing: SmoothingConfig | None = None,
        min_score: float | None = None,
    ) -> None:
        if min_score is not None and (
            isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1
        ):  # NaN fails the range test too
            raise BundleError(f"min_score must be a number from 0 to 1, not {min_score!r}")
        self.detector, self.pose, self.lifter = detector, pose, lifter
        self.joint_set = joint_set
        # Below this detector score the frame has no infant (default: the bundle's, else never).
        self.min_score = detector.params.score_threshold if min_score is None else min_score
        self.tracker = Tracker(tracker)
        self.smoothing = smoothing or SmoothingConfig()
        s = self.smoothing
        self._f2d = OneEuroFilter(s.min_cutoff_2d, s.beta_2d)
        self._f3d = OneEuroFilter(s.min_cutoff_3d, s.beta_3d)
        self._history: deque[np.ndarray] = deque(maxlen=lifter.window)
        # Networks trained on upright people get crops turned along the body (degrees, None: unknown).
        self._upright = pose.params.upright
        self._rotation: float | None = None
        # view "auto": the torso views (True: back) of the track so far, for the vote (a photo: a track of one).
        self._views: deque[bool] | None = deque(maxlen=VOTE_WINDOW) if pose.params.view == "auto" else None
        self._back: bool | None = None  # the vote's latest outcome (None: no track yet)
        self._still = False  # processing an unrelated photo (:meth:`still`)
        self._index = 0
        self.last_frame: np.ndarray | None = None  # the frame of the latest result (for overlays)
        self.info: dict = {}  # what ran: bundle, its manifest's sha256, precision, format (from_bundle fills it)

    @classmethod
    def from_bundle(
        cls,
        path: str | Path | None = None,
        precision: str = "fp32",
        fmt: str = "onnx",
        device: str = "auto",
        threads: int = 0,
        tracker: TrackerConfig | None = None,
        smoothing: SmoothingConfig | None = None,
        min_score: float | None = None,
        view: str | None = None,
        model: str | None = None,
    ) -> Pipeline:
        """Load a bundle (sha256-checked) with one artifact per stage: ``path``, or the shipped tier
        ``model`` ("fast", the default, or "accurate"; :data:`TIERS`).

        Stages without an artifact of ``precision``/``fmt`` use their FP32 ONNX model (an INT8
        model that failed its drift check at export); BundleError when no stage has one.
        ``min_score``: detector score under which a frame has no infant (default: the bundle's).
        ``view``: "front" or "any", the side of the body the camera sees (default: the bundle's;
        see :mod:`infantpose.posture`).
        """
        if view is not None and view not in VIEWS:
            raise BundleError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
        for what, value in (("precision", precision), ("fmt", fmt), ("device", device)):
            if not isinstance(value, str):
                raise BundleError(f"{what} must be a string, not {type(value).__name__}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise BundleError(f"threads must be an integer >= 0 (0: all cores but one), not {threads!r}")
        if path is not None and not isinstance(path, (str, Path)):
            raise BundleError(f"the bundle must be a folder path, not {type(path).__name__}")
        if model is not None and not isinstance(model, str):
            raise BundleError(f"model must be one of {', '.join(TIERS)}, not {model!r}")
        root = tier_bundle(model, path)
        if path is None and not (root / "manifest.json").is_file():
            raise BundleError(f"{root}: the {model or LIVE_TIER} model is not installed; pass --bundle")
        bundle = load_bundle(root)
        recorded = bundle.manifest.meta.get("verified")
        if isinstance(recorded, dict) and recorded.get("passed") is False:
            warnings.warn(f"{root}: this bundle's recorded verification FAILED (infantpose verify)", stacklevel=2)
        have = sorted({f"{a.precision} {a.format}" for s in bundle.manifest.stages.values() for a in s.artifacts})
        if f"{precision} {fmt}" not in have:  # never a silent FP32 run when no stage has the precision asked for
            raise BundleError(f"{root}: the bundle has no {precision} {fmt} model (it has: {', '.join(have)})")
        stages = {}
        fp32 = []  # stages the bundle has no model of this precision for: they run FP32, and say so
        for name in STAGES:
            art = bundle.select(name, precision, fmt)
            if art.precision != precision:
                fp32.append(name)
            params = bundle.stage(name).params
            if name == "pose2d" and view is not None:
                params = replace(params, view=view)
            stages[name] = make_stage(name, load_backend(bundle.path(art), art.format, device, threads, art), params)
        pipe = cls(
            stages["detector"], stages["pose2d"], stages["lifter"], bundle.manifest.joint_set, tracker, smoothing,
            min_score,
        )  # fmt: skip
        if fp32:
            notes = [_left_out_note(bundle.manifest.meta, precision, n) for n in fp32]
            warnings.warn(f"{root}: no {precision} {fmt} model for {', '.join(notes)}: "
                          f"{'it runs' if len(fp32) == 1 else 'they run'} FP32 ONNX", stacklevel=2)  # fmt: skip
        pipe.info = {"bundle": (model or LIVE_TIER) if path is None else root.name, "fp32_stages": fp32,
                     "manifest_sha256": sha256_file(root / "manifest.json"), "precision": precision, "format": fmt,
                     "view": stages["pose2d"].params.view}  # fmt: skip
        return pipe

    def close(self) -> None:
        """Release the three stages' models (and their device memory); the pipeline cannot run after."""
        for stage in (self.detector, self.pose, self.lifter):
            close = getattr(stage.backend, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Forget tracking, the temporal window and the filters (e.g. between videos)."""
        self.tracker.reset()
        self._rotation = None
        if self._views is not None:
            self._views.clear()
        self._back = None
        self._history.clear()
        self._f2d.reset()
        self._f3d.reset()
        self._index = 0

    def __call__(
        self, frame: np.ndarray, t: float | None = None, index: int | None = None, name: str | None = None
    ) -> FrameResult:
        """Process one BGR frame (H, W, 3) uint8 captured at ``t`` seconds."""
        check_frame(frame)
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)):
            # checked before any state changes: one NaN time must not poison the filters for later frames
            raise ValueError(f"t must be a finite number of seconds, not {t!r}")
        if index is not None and (isinstance(index, bool) or not isinstance(index, (int, np.integer))):
            raise ValueError(f"index must be an integer, not {index!r}")
        start = time.perf_counter()
        self.last_frame = frame
        t = time.time() if t is None else float(t)
        index = self._index if index is None else int(index)
        self._index = index + 1
        h, w = frame.shape[:2]
        ms: dict[str, float] = {}
        score = None
        tracked = not self.tracker.needs_detection((w, h))
        if tracked:
            box = self.tracker.box
        else:
            t0 = time.perf_counter()
            boxes, scores = self.detector([frame])
            box, score = boxes[0], float(scores[0])
            ms["detector"] = (time.perf_counter() - t0) * 1000
            self.tracker.detected()
            if score < self.min_score:  # no infant: nothing to track, no window or filter state to keep
                self.reset()
                self._index = index + 1
                ms["total"] = (time.perf_counter() - start) * 1000
                return FrameResult(index, name, t, None, score, False, None, None, None, ms)
            if self.tracker.confirms(box, (w, h)):  # a periodic detection that agrees keeps the track's crop
                box, tracked = self.tracker.box, True
        t0 = time.perf_counter()
        # The body's direction carries over while tracked; with none, an upright network searches it.
        # A detector's box is refined on the pose's own (params.refine); a tracked box already is one.
        turn = None if self._rotation is None else np.array([self._rotation])
        # A photo keeps the network's own left/right: no track to vote, and a front prior mirrors every
        # prone infant (posture.PHOTO_VIEW).
        photo_view = PHOTO_VIEW if self._still and self._views is not None else None
        kp, conf = self.pose([frame], box[None], turn, refine=not tracked, view=photo_view)
        shown_box = np.asarray(box, float) if turn is None or not tracked else turned_box_hull(box, float(turn[0]))
        if self._upright:
            self._rotation = float(upright_angle(kp)[0])
        if self._views is not None and photo_view is None:
            frame_back = bool(torso_back_view(kp)[0])
            self._views.append(frame_back)
            back = vote_back(list(self._views))
            if back != frame_back:  # the track outvotes this frame: turn it round
                kp, conf = set_view(kp, conf, np.array([back]))
            if self._back is not None and back != self._back:
                self._turn_history(back)
            self._back = back
        kp2d, conf = kp[0], conf[0]
        ms["pose2d"] = (time.perf_counter() - t0) * 1000
        turn_next = np.array([self._rotation if self._upright else 0.0])
        next_box = self.pose.pose_boxes(kp2d[None], turn_next)[0]
        # After refinement the last crop was the pose's own box: no scale limit against the detector's.
        used = box if tracked or self.pose.params.refine == 0 else next_box
        if not self.tracker.update(next_box, conf, (w, h), used, turned=self._upright):
            self._history.clear()  # the window must not mix poses across a loss of tracking
            self._rotation = None
            if self._views is not None:
                self._views.clear()
            self._back = None
        self._history.append(kp2d)
        t0 = time.perf_counter()
        if self.lifter.window > 1:
            past = np.stack(self._history)
            kp3d = self.lifter(past[window_indices(len(past) - 1, self.lifter.window)][None])[0]
        else:
            kp3d = self.lifter(kp2d[None])[0]
        ms["lifter"] = (time.perf_counter() - t0) * 1000
        if self.smoothing.enabled:
            kp2d = self._f2d(kp2d, t)
            kp3d = self._f3d(kp3d, t)
        ms["total"] = (time.perf_counter() - start) * 1000
        return FrameResult(index, name, t, clip_box(shown_box, (w, h)), score, tracked, kp2d, conf, kp3d, ms)

    def draw(self, frame: np.ndarray, result: FrameResult, **options: Any) -> np.ndarray:
        """A copy of the BGR frame (H, W, 3) with ``result`` drawn as ``infantpose run --out`` draws it;
        ``options``: ``inset`` ("auto", "corner", "off"), ``inset_size`` (px), ``angles`` (bool), ``fps``."""
        from infantpose.runtime.overlay import annotate

        return annotate(frame, result, self.joint_set, **options)

    def _turn_history(self, back: bool) -> None:
        """The track's vote turned to the other side: relabel the lifter's window to it and restart the
        filters, so that no past frame keeps the mirrored labels (a new prone track's first frames)."""
        if self._history:
            past = np.stack(self._history)
            past, _ = set_view(past, np.ones(past.shape[:2]), np.full(len(past), back))
            self._history = deque(past, maxlen=self._history.maxlen)
        self._f2d.reset()
        self._f3d.reset()

    def still(self, frame: np.ndarray, index: int = 0, name: str | None = None) -> FrameResult:
        """Process an unrelated photo on its own: detector, no tracking, window or smoothing carried over."""
        self.reset()
        enabled = self.smoothing.enabled
        self.smoothing.enabled = False
        self._still = True
        try:
            return self(frame, 0.0, index, name)
        finally:
            self.smoothing.enabled = enabled
            self._still = False
            self.reset()

    def stream(self, source: Source, max_frames: int | None = None) -> Iterator[FrameResult]:
        """Results for the source's frames (live sources: the newest frame each time; a folder of
        unrelated photos: each image on its own, see :meth:`still`)."""
        for n, frame in enumerate(source.frames()):
            if max_frames is not None and n >= max_frames:
                return
            if source.stills:
                yield self.still(frame.image, frame.index, frame.name)
                continue
            result = self(frame.image, frame.t, frame.index, frame.name)
            if source.live:
                result.ms["capture_to_result"] = (time.time() - frame.t) * 1000
            yield result
