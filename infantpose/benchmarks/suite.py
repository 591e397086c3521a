"""``infantpose bench``: the harness over every backend and precision of a bundle, with machine facts.

Backends (``--backends``):

* ``onnxruntime-cpu``, ``onnxruntime-cuda``, ``onnxruntime-tensorrt``: the bundle's ONNX files
  in onnxruntime with that execution provider, one row per precision;
* ``tensorrt``: the bundle's native TensorRT engines (FP16/INT8), one row per engine precision;
* ``pytorch``: the training checkpoints the bundle was exported from, in eager PyTorch;
* ``seed``: the published architecture in eager PyTorch with random weights (speed only).

``auto`` means every backend this machine can run; the others are listed with the reason.
"""

from __future__ import annotations

import importlib.util
import resource
from pathlib import Path
from typing import Any

from infantpose.apps.system import system_info
from infantpose.benchmarks.harness import (
    batch_throughput,
    interleaved_runs,
    live_latency,
    load_frames,
    load_pipeline,
    run_clip,
    stage_inputs,
)
from infantpose.errors import InfantposeError
from infantpose.runtime.backends.onnxruntime import default_threads
from infantpose.runtime.bundle import Bundle, load_bundle
from infantpose.runtime.pipeline import DEFAULT_BUNDLE
from infantpose.runtime.tracking import EVERY_FRAME

BACKENDS = (
    "onnxruntime-cpu", "onnxruntime-cuda", "onnxruntime-tensorrt", "tensorrt", "pytorch", "pytorch-cuda", "seed",
)  # fmt: skip
_ORT_PROVIDER = {"onnxruntime-cuda": "CUDAExecutionProvider", "onnxruntime-tensorrt": "TensorrtExecutionProvider"}


def unavailable_reason(backend: str, bundle: Bundle) -> str | None:
    """Why ``backend`` cannot run here with this bundle, or None when it can."""
    if backend not in BACKENDS:
        raise InfantposeError(f"unknown backend {backend!r}; choose from auto, {', '.join(BACKENDS)}")
    if backend in _ORT_PROVIDER:
        import onnxruntime as ort

        if _ORT_PROVIDER[backend] not in ort.get_available_providers():
            return f"onnxruntime has no {_ORT_PROVIDER[backend]} (install onnxruntime-gpu on an NVIDIA machine)"
    if backend == "tensorrt":
        from infantpose.export.tensorrt import tensorrt_available

        ok, why = tensorrt_available()
        if not ok:
            return why
        if not any(a.format == "engine" for s in bundle.manifest.stages.values() for a in s.artifacts):
            return f"{bundle.root}: the bundle has no TensorRT engines (infantpose export --tensorrt)"
    if backend in ("pytorch", "pytorch-cuda", "seed") and importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed (pip install 'infantpose[train]')"
    if backend == "pytorch-cuda":
        import torch

        if not torch.cuda.is_available():
            return "PyTorch sees no CUDA device"
    return None


def resolve_backends(names: tuple[str, ...], bundle: Bundle, log: Any = print) -> tuple[list[str], dict[str, str]]:
    """The backends to run and the skipped ones with their reasons.

    ``auto`` skips what cannot run, and the ``seed`` row (minutes of random-weight speed measurement)
    unless it is named too (``auto,seed``); a backend named explicitly that cannot run is an error.
    """
    auto = "auto" in names
    wanted = list(BACKENDS) if auto else list(dict.fromkeys(names))
    run, skipped = [], {}
    for name in wanted:
        if auto and name == "seed" and "seed" not in names:
            skipped[name] = "the published architecture's speed with random weights takes minutes: --backends auto,seed"
            log(f"seed: skipped ({skipped[name]})")
            continue
        why = unavailable_reason(name, bundle)
        if why is None:
            run.append(name)
        elif auto:
            skipped[name] = why
            log(f"{name}: skipped ({why})")
        else:
            raise InfantposeError(f"backend {name}: {why}")
    return run, skipped


def _median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median FPS, with every round's FPS added."""
    chosen = dict(sorted(runs, key=lambda r: r["fps"])[len(runs) // 2])
    chosen["fps_rounds"] = [r["fps"] for r in runs]
    return chosen


def _pipeline_rows(
    root: Path,
    b: Bundle,
    clip: list,
    specs: list[tuple[str, str]],
    batches: tuple[int, ...],
    threads: int,
    live_seconds: float,
    rounds: int,
    log: Any,
) -> list[dict[str, Any]]:
    """One row per (backend, precision). The tracking pass runs ``rounds`` times, interleaved
    across the rows so that the machine's load drifts over all of them alike."""
    fmts = {spec: ("engine", "cuda") if spec[0] == "tensorrt" else ("onnx", spec[0].removeprefix("onnxruntime-"))
            for spec in specs}  # fmt: skip
    names = {spec: f"{'onnxruntime' if spec[0] == 'onnxruntime-cpu' else spec[0]} {spec[1]}" for spec in specs}
    # Batch throughput first, one pipeline at a time, each released after: batch 16 grows a session's
    # arena by ~1 GB, and sessions that live side by side (the interleaved rows below) would keep
    # every one of them (peak RSS 3.4 GB for three precisions; one at a time about 1.5 GB).
    batches_of = {}
    for spec in specs:
        log(f"{names[spec]}: batch throughput {', '.join(map(str, batches))}")
        with load_pipeline(root, spec[1], *fmts[spec], threads) as pipe:
            batches_of[spec] = batch_throughput(pipe, stage_inputs(pipe, clip), batches)
        release_memory()
    pipes = {spec: load_pipeline(root, spec[1], *fmts[spec], threads) for spec in specs}
    log(f"interleaved rows: {', '.join(names.values())}")
    tracking = interleaved_runs(pipes, clip, rounds, log)
    rows = []
    for spec, pipe in pipes.items():
        (fmt, device), name, precision = fmts[spec], names[spec], spec[1]
        log(f"{name}: detector on every frame")
        with load_pipeline(root, precision, fmt, device, threads, EVERY_FRAME) as every_pipe:
            every = run_clip(every_pipe, clip)
        batch = batches_of[spec]
        live = None  # --live-seconds 0: the live path is not measured
        if live_seconds > 0:
            log(f"{name}: live path at 30 fps for {live_seconds:.0f} s")
            live = live_latency(pipe, clip, 30.0, live_seconds)
        arts = {s: b.select(s, precision, fmt) for s in b.manifest.stages}
        rows.append({
            "name": name,
            "backend": pipe.pose.backend.name,
            "precision": precision,
            "artifacts": {s: f"{a.format}/{a.precision}" for s, a in arts.items()},
            "tracking": _median_round(tracking[spec]),
            "detector_every_frame": every,
            "batch": batch,
            "live": live,
            "model_mb": {s: (root / a.file).stat().st_size / 1e6 for s, a in arts.items()},
        })  # fmt: skip
        pipe.close()
    return rows


def release_memory() -> None:
    """Give freed heap pages back to the system (glibc keeps them otherwise; elsewhere a no-op), so that
    the report's peak RSS is what the rows need, not what earlier ones left behind."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def bench(
    bundle: Path | None,
    source: Path,
    precisions: tuple[str, ...] = ("fp32", "fp16", "int8"),
    batches: tuple[int, ...] = (1, 4, 16),
    frames: int = 300,
    threads: int = 0,
    backends: tuple[str, ...] = ("auto",),
    live_seconds: float = 10.0,
    log: Any = print,
    rounds: int = 5,
) -> dict[str, Any]:
    """Benchmark each backend and precision of the bundle on ``source``; returns the JSON report."""
    root = bundle or DEFAULT_BUNDLE
    b = load_bundle(root)
    run, skipped = resolve_backends(backends, b, log)
    clip = load_frames(source, frames)
    if len(clip) < 20:
        raise InfantposeError(f"{source}: needs at least 20 frames to benchmark, found {len(clip)}")
    specs: list[tuple[str, str]] = []
    extra_rows: list[dict[str, Any]] = []
    for backend in run:
        if backend in ("pytorch", "pytorch-cuda", "seed"):
            from infantpose.benchmarks.torch_rows import pytorch_row, seed_row

            if backend != "seed":
                device = "cuda" if backend == "pytorch-cuda" else "cpu"
                log(f"pytorch eager ({device}): the bundle's checkpoints")
                try:
                    extra_rows.append(pytorch_row(root, clip, threads, device))
                except InfantposeError as e:
                    skipped[backend] = str(e)
                    log(f"pytorch: skipped ({e})")
            else:
                log("seed architecture (random weights, speed only)")
                extra_rows.append(seed_row(clip, b.stage("lifter").params))
            continue
        fmt = "engine" if backend == "tensorrt" else "onnx"
        have = {a.precision for s in b.manifest.stages.values() for a in s.artifacts if a.format == fmt}
        for precision in precisions:
            if precision in have:
                specs.append((backend, precision))
            else:
                log(f"{backend} {precision}: no {fmt} model of this precision in the bundle, skipped")
    rows = _pipeline_rows(root, b, clip, specs, batches, threads, live_seconds, rounds, log)
    machine = system_info()
    machine["threads"] = str(threads) if threads else f"{default_threads()} (default: all cores but one)"
    return {
        "bundle": _shown(root),
        "source": _shown(source),
        "frames": len(clip),
        "rounds": rounds,
        "frame_size": list(clip[0].shape[1::-1]),
        "machine": machine,
        "backends": run,
        "skipped": skipped,
        "rows": rows,
        "torch_rows": extra_rows,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _shown(path: Path) -> str:
    """A path as reports record it: relative to the working directory when inside it (no machine paths)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return p.name
