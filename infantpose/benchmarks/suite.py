"""``infantpose bench``: the harness over every precision of a bundle, with machine facts."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

from infantpose.benchmarks.harness import (
    batch_throughput,
    live_latency,
    load_frames,
    load_pipeline,
    run_clip,
    stage_inputs,
)
from infantpose.bundle import load_bundle
from infantpose.errors import InfantposeError
from infantpose.runtime.pipeline import DEFAULT_BUNDLE
from infantpose.system import system_info


def bench(
    bundle: Path | None,
    source: Path,
    precisions: tuple[str, ...] = ("fp32", "fp16", "int8"),
    batches: tuple[int, ...] = (1, 4, 16),
    frames: int = 300,
    threads: int = 0,
    device: str = "cpu",
    live_seconds: float = 10.0,
    log: Any = print,
    torch_rows: bool = False,
) -> dict[str, Any]:
    """Benchmark each available precision of the bundle on ``source``; returns the JSON report."""
    root = bundle or DEFAULT_BUNDLE
    b = load_bundle(root)
    clip = load_frames(source, frames)
    if len(clip) < 20:
        raise InfantposeError(f"{source}: needs at least 20 frames to benchmark, found {len(clip)}")
    rows = []
    for precision in precisions:
        have = {a.precision for s in b.manifest.stages.values() for a in s.artifacts if a.format == "onnx"}
        if precision not in have:
            log(f"{precision}: not in the bundle, skipped")
            continue
        log(f"{precision}: end to end with tracking")
        pipe = load_pipeline(root, precision, "onnx", device, threads)
        tracking = run_clip(pipe, clip)
        log(f"{precision}: detector on every frame")
        every = run_clip(load_pipeline(root, precision, "onnx", device, threads, detector_period=1), clip)
        log(f"{precision}: batch throughput {', '.join(map(str, batches))}")
        batch = batch_throughput(pipe, stage_inputs(pipe, clip), batches)
        log(f"{precision}: live path at 30 fps for {live_seconds:.0f} s")
        live = live_latency(pipe, clip, 30.0, live_seconds)
        sizes = {s: (root / b.select(s, precision, "onnx").file).stat().st_size / 1e6 for s in b.manifest.stages}
        rows.append({
            "name": f"onnxruntime {precision}",
            "backend": pipe.pose.backend.name,
            "precision": precision,
            "tracking": tracking,
            "detector_every_frame": every,
            "batch": batch,
            "live": live,
            "model_mb": sizes,
        })  # fmt: skip
    extra_rows = []
    if torch_rows:
        from infantpose.benchmarks.torch_rows import pytorch_row, seed_row

        log("pytorch eager: the bundle's checkpoints")
        try:
            extra_rows.append(pytorch_row(root, clip, threads))
        except (InfantposeError, ImportError) as e:
            log(f"pytorch eager row skipped: {e}")
        log("seed architecture (random weights, speed only)")
        try:
            extra_rows.append(seed_row(clip, b.stage("lifter").params))
        except ImportError as e:
            log(f"seed row skipped: {e}")
    machine = system_info()
    machine["threads"] = str(threads or "onnxruntime default (one per core)")
    return {
        "bundle": str(root),
        "source": str(source),
        "frames": len(clip),
        "frame_size": list(clip[0].shape[1::-1]),
        "machine": machine,
        "rows": rows,
        "torch_rows": extra_rows,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
