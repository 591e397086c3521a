"""``infantpose run`` / ``demo``: a source through the pipeline into sinks, stopped cleanly by
end of input, q/Esc in the window, Ctrl-C, SIGTERM or SIGHUP (sinks are always closed, each
one even if another fails, so the mp4 stays playable and JSONL/CSV end on a whole line)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from infantpose import signals
from infantpose.deidentify import FaceMasker
from infantpose.errors import InfantposeError
from infantpose.runtime.overlay import annotate
from infantpose.runtime.pipeline import Pipeline
from infantpose.runtime.sinks import (
    STDOUT,
    CsvSink,
    JsonlSink,
    StillsSink,
    VideoSink,
    WindowSink,
    display_available,
    write_sidecar,
)
from infantpose.runtime.sources import IMAGE_SUFFIXES, Source
from infantpose.skeleton import get_joint_set


@dataclass
class RunOutputs:
    """What to write: annotated video, JSONL, CSV, and whether to show a window (None: if a display exists)."""

    video: Path | None = None
    jsonl: Path | None = None
    csv: Path | None = None
    show: bool | None = None
    codec: str = "auto"  # video: auto (H.264 when imageio-ffmpeg is installed, else mp4v), h264 or mp4v
    images: Path | None = None  # annotated photos: a folder (one image per photo), or one image file
    inset: str = "auto"  # the 3D inset: auto (where the body is not), corner (top right) or off
    inset_size: int | None = None  # px per 3D view (None: a quarter of the frame's shorter side)
    angles: bool = False  # knee, elbow and hip angles drawn beside their joints
    deidentify: str = "off"  # off, blur or mosaic: the face covered on every visual output


@dataclass
class RunSummary:
    frames: int = 0
    seconds: float = 0.0
    ms: dict[str, list[float]] = field(default_factory=dict)
    detections: int = 0
    dropped: int = 0
    corrupt: int = 0
    reconnects: int = 0
    interrupted: bool = False
    signal: int | None = None  # the signal that stopped the run (exit status 128 + signal)
    video_codec: str | None = None
    video_fallback: str | None = None  # why the video is mp4v although H.264 was wanted
    folder_mode: str | None = None  # an image folder: "stills" or "video", as the source decided or was told

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def stats(self) -> dict[str, dict[str, float]]:
        """Median and p99 ms per stage."""
        return {
            k: {"median": float(np.median(v)), "p99": float(np.percentile(v, 99)), "n": len(v)}
            for k, v in self.ms.items()
            if v
        }

    def text(self) -> str:
        lines = [
            f"frames {self.frames} in {self.seconds:.1f} s: {self.fps:.1f} FPS; detector ran on {self.detections}; "
            f"dropped {self.dropped}, corrupt {self.corrupt}, reconnects {self.reconnects}"
            + ("; interrupted" if self.interrupted else "")
            + (
                f"; video {self.video_codec}"
                + (
                    f" ({self.video_fallback}: most browsers do not play mp4v; pip install imageio-ffmpeg for H.264)"
                    if self.video_fallback
                    else ""
                )
                if self.video_codec
                else ""
            )
        ]
        if self.folder_mode == "stills":
            lines.append("  images processed as unrelated photos, each on its own (--mode video: one recording)")
        elif self.folder_mode == "video":
            lines.append("  images processed as one recording, tracked (--mode stills: unrelated photos)")
        for k, s in self.stats().items():
            lines.append(f"  {k:<18} median {s['median']:7.2f} ms   p99 {s['p99']:7.2f} ms   (n={s['n']})")
        return "\n".join(lines)


def run(
    pipeline: Pipeline,
    source: Source,
    outputs: RunOutputs,
    max_frames: int | None = None,
    on_result: Any = None,
) -> RunSummary:
    """Process ``source`` until it ends, ``max_frames``, a quit key or a signal; sinks are closed in all cases.

    InfantposeError (one line) when a sink cannot be written or closed, when ``--show`` has no
    display, and when the source gave no frame at all (unreadable files, a silent stream).
    """
    if outputs.show and not display_available():
        source.close()
        raise InfantposeError("--show: no display here (DISPLAY and WAYLAND_DISPLAY unset); --out saves the overlay")
    show = display_available() if outputs.show is None else outputs.show
    joints = list(get_joint_set(pipeline.joint_set).joints)
    sinks: list[Any] = []
    summary = RunSummary(folder_mode=("stills" if source.stills else "video") if source.image_folder else None)
    window = None
    close_errors: list[str] = []
    try:
        for path in (outputs.jsonl, outputs.csv):
            if path is not None and path != STDOUT:
                write_sidecar(path, pipeline, source)
        if outputs.images:
            sinks.append(StillsSink(outputs.images, single=outputs.images.suffix.lower() in IMAGE_SUFFIXES))
        if outputs.video:
            sinks.append(VideoSink(outputs.video, source.fps or 30.0, outputs.codec))
            summary.video_codec, summary.video_fallback = sinks[-1].codec_used, sinks[-1].fallback
        if outputs.jsonl:
            sinks.append(JsonlSink(outputs.jsonl))
        if outputs.csv:
            sinks.append(CsvSink(outputs.csv, joints))
        if show:
            window = WindowSink()
            sinks.append(window)
        need_overlay = outputs.video is not None or outputs.images is not None or show
        masker = FaceMasker(outputs.deidentify) if outputs.deidentify != "off" else None
        start = time.perf_counter()
        with signals.cooperative(source.stop) as stop:
            for result in pipeline.stream(source, max_frames):
                frame = None
                annotated = None
                if need_overlay:
                    frame = pipeline.last_frame
                    if masker is not None:  # before drawing: the raw face never reaches an output
                        if source.stills:
                            masker.reset()  # unrelated photos: nothing carries over
                        frame = masker(frame, result.kp2d, result.conf)
                    annotated = annotate(frame, result, pipeline.joint_set, summary.fps or None, outputs.inset,
                                         outputs.inset_size, outputs.angles)  # fmt: skip
                for sink in sinks:
                    sink.write(frame, result, annotated)
                summary.frames += 1
                summary.detections += int(result.detected)
                for k, v in result.ms.items():
                    summary.ms.setdefault(k, []).append(v)
                summary.seconds = time.perf_counter() - start
                if on_result is not None:
                    on_result(result)
                if stop.is_set() or (window is not None and window.quit):
                    break
            summary.interrupted, summary.signal = stop.is_set(), signals.received()
    finally:
        source.close()
        for sink in sinks:  # every sink is finalised, whatever another one does
            try:
                sink.close()
            except (OSError, InfantposeError, cv2.error) as e:
                close_errors.append(str(e))
        summary.dropped = source.stats.dropped
        summary.corrupt = source.stats.corrupt
        summary.reconnects = source.stats.reconnects
    if close_errors:
        raise InfantposeError(close_errors[0])
    if summary.frames == 0 and not summary.interrupted:
        unreadable = f" ({summary.corrupt} unreadable)" if summary.corrupt else ""
        raise InfantposeError(f"no frame could be read from {source.name}{unreadable}")
    return summary
