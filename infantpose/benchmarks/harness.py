"""Latency harness for a bundle on a real clip: per-stage pre/infer/post, end-to-end FPS
(tracking on, and detector on every frame), batch throughput per stage, and the live path's
capture-to-result latency. Timings are read from the runtime's own stage timers.

Shapes: N batch. Times in milliseconds unless named otherwise.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.runtime.pipeline import Pipeline, SmoothingConfig
from infantpose.runtime.tracking import TrackerConfig
from infantpose.stages import detector, lifter, pose2d


def load_frames(source: Path, limit: int = 300) -> list[np.ndarray]:
    """Up to ``limit`` BGR frames of a video file or image folder, decoded once."""
    from infantpose.runtime.sources import Source

    src = Source(str(source))
    frames = []
    try:
        for f in src.frames():
            frames.append(f.image)
            if len(frames) >= limit:
                break
    finally:
        src.close()
    return frames


def percentiles(values: list[float]) -> dict[str, float]:
    """median / p90 / p99 / mean of a list of milliseconds."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {}
    return {
        "median": float(np.median(v)),
        "p90": float(np.percentile(v, 90)),
        "p99": float(np.percentile(v, 99)),
        "mean": float(v.mean()),
        "n": int(v.size),
    }


def run_clip(pipe: Pipeline, frames: list[np.ndarray], warmup: int = 10) -> dict[str, Any]:
    """End-to-end over ``frames`` (after ``warmup`` frames): FPS and per-stage phase timings."""
    pipe.reset()
    for i, f in enumerate(frames[:warmup]):
        pipe(f, t=i / 30.0)
    pipe.reset()
    phases: dict[str, list[float]] = {}
    detections = 0
    start = time.perf_counter()
    for i, f in enumerate(frames):
        r = pipe(f, t=i / 30.0, index=i)
        detections += int(r.detected)
        phases.setdefault("total", []).append(r.ms["total"])
        for name, stage in (("detector", pipe.detector), ("pose2d", pipe.pose), ("lifter", pipe.lifter)):
            if name in r.ms:
                for phase, ms in stage.timer.last.items():
                    phases.setdefault(f"{name}.{phase}", []).append(ms)
    seconds = time.perf_counter() - start
    return {
        "frames": len(frames),
        "fps": len(frames) / seconds,
        "detector_runs": detections,
        "ms": {k: percentiles(v) for k, v in phases.items()},
    }


def interleaved_runs(
    pipes: dict[Any, Pipeline], frames: list[np.ndarray], rounds: int, log: Any = None
) -> dict[Any, list[dict[str, Any]]]:
    """:func:`run_clip` ``rounds`` times for every pipeline, round by round, so that the
    machine's load drifts over all of them alike; each pipeline's runs in order."""
    runs: dict[Any, list[dict[str, Any]]] = {key: [] for key in pipes}
    for i in range(rounds):
        if log is not None:
            log(f"end to end with tracking, round {i + 1} of {rounds}")
        for key, pipe in pipes.items():
            runs[key].append(run_clip(pipe, frames))
    return runs


def stage_inputs(pipe: Pipeline, frames: list[np.ndarray], count: int = 16) -> dict[str, np.ndarray]:
    """Real (N, ...) inputs for each stage's backend, made by the runtime's pre-processing."""
    picks = frames[:: max(1, len(frames) // count)][:count]
    det = detector.preprocess(picks, pipe.detector.params)[0]
    boxes, _ = pipe.detector(picks)
    pose = pose2d.preprocess(picks, boxes, pipe.pose.params)[0]
    kp, _ = pipe.pose(picks, boxes)
    lift = lifter.preprocess(lifter.sequence_input(kp, pipe.lifter.params), pipe.lifter.params)
    return {"detector": det, "pose2d": pose, "lifter": lift}


def batch_throughput(
    pipe: Pipeline, inputs: dict[str, np.ndarray], batches: tuple[int, ...], repeat: int = 20
) -> dict[str, dict[str, dict[str, float]]]:
    """Per stage and batch size: median ms per call and items/s of the backend alone."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, stage in (("detector", pipe.detector), ("pose2d", pipe.pose), ("lifter", pipe.lifter)):
        x_all = inputs[name]
        key = stage.backend.input_names[0]
        out[name] = {}
        for b in batches:
            x = np.concatenate([x_all] * (b // len(x_all) + 1))[:b]
            stage.backend({key: x})
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                stage.backend({key: x})
                times.append((time.perf_counter() - t) * 1000)
            med = float(np.median(times))
            out[name][str(b)] = {"median_ms": med, "items_per_s": b / med * 1000}
    return out


def live_latency(pipe: Pipeline, frames: list[np.ndarray], fps: float = 30.0, seconds: float = 10.0) -> dict[str, Any]:
    """Capture-to-result latency on a simulated live camera: a thread publishes a new frame every
    1/fps s into a newest-frame slot (as the live sources do); the pipeline takes the newest."""
    slot: dict[str, Any] = {"frame": None, "t": 0.0, "seq": -1}
    cond = threading.Condition()
    stop = threading.Event()
    published = 0

    def camera() -> None:
        nonlocal published
        i = 0
        nxt = time.perf_counter()
        while not stop.is_set():
            with cond:
                slot.update(frame=frames[i % len(frames)], t=time.perf_counter(), seq=i)
                cond.notify()
            published += 1
            i += 1
            nxt += 1.0 / fps
            time.sleep(max(0.0, nxt - time.perf_counter()))

    pipe.reset()
    th = threading.Thread(target=camera, daemon=True)
    th.start()
    lat, processed, last_seq = [], 0, -1
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        with cond:
            while slot["seq"] == last_seq:
                cond.wait(0.5)
            frame, t_cap, last_seq = slot["frame"], slot["t"], slot["seq"]
        pipe(frame, t=t_cap)
        lat.append((time.perf_counter() - t_cap) * 1000)
        processed += 1
    stop.set()
    th.join()
    interval = 1000.0 / fps
    p = percentiles(lat)
    return {
        "camera_fps": fps,
        "published": published,
        "processed": processed,
        "dropped": published - processed,
        "capture_to_result_ms": p,
        "p99_in_frame_intervals": p["p99"] / interval if p else None,
    }


def load_pipeline(
    bundle: Path | None,
    precision: str,
    fmt: str,
    device: str,
    threads: int,
    tracker: TrackerConfig | None = None,
) -> Pipeline:
    """A pipeline for benchmarking: smoothing off (it is not what is measured); tracking as the runtime's
    default unless ``tracker`` says otherwise."""
    return Pipeline.from_bundle(
        bundle, precision, fmt, device, threads, tracker or TrackerConfig(), SmoothingConfig(enabled=False)
    )
