"""``infantpose batch``: every recording of a study through the chain, resumable, failures isolated.

For each video under the inputs (files, or folders searched recursively) it writes
``OUT/<name>.jsonl`` (the JSONL of ``infantpose run``, each record also naming its
``recording``) and ``OUT/<name>.summary.json`` (the kinematics summary), then one study-level
``OUT/study.csv`` over all recordings. A recording is written to ``.partial`` files and renamed
when complete: a re-run skips finished recordings and redoes partial ones. A recording that
fails (corrupt file, no frame, ...) is reported in one line and skipped; the rest go on.
Recordings run in parallel worker processes (default: one per core), each loading the bundle
once; with ``ray`` they run on a Ray cluster instead, one task per recording on actors that each
load the bundle once (``OUT`` must then be a folder every node can write, e.g. a shared mount).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_text
from infantpose.skeleton import MPII

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")


@dataclass(frozen=True)
class Job:
    """One recording: its path and the output stem (unique within the study)."""

    video: Path
    name: str


def find_recordings(inputs: Iterable[Path]) -> list[Job]:
    """Videos among ``inputs`` (folders searched recursively), each with an output name from its path."""
    videos: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            videos += [(p, p.relative_to(item)) for p in sorted(item.rglob("*")) if p.suffix.lower() in VIDEO_SUFFIXES]
        elif item.is_file():
            videos.append((item, Path(item.name)))
        else:
            raise InfantposeError(f"{item}: no such file or folder")
    if not videos:
        raise InfantposeError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) under {', '.join(map(str, inputs))}")
    jobs, seen = [], set()
    for path, rel in videos:
        name = "__".join(rel.with_suffix("").parts)
        if name in seen:
            raise InfantposeError(f"two recordings would both be written as {name}.jsonl: rename one")
        seen.add(name)
        jobs.append(Job(path.resolve(), name))  # absolute: workers (Ray's too) may run elsewhere
    return jobs


_PIPELINE: Any = None


def _worker_init(bundle: str | None, precision: str, threads: int) -> None:
    """Load the bundle once per worker process."""
    global _PIPELINE
    from infantpose.runtime.pipeline import Pipeline

    _PIPELINE = Pipeline.from_bundle(bundle, precision=precision, device="cpu", threads=threads)


def process(job: Job, out: Path, max_frames: int | None = None) -> dict[str, Any]:
    """Run one recording into ``out`` (``.partial`` first, renamed when done); returns its study row."""
    from infantpose.analysis import json_safe
    from infantpose.kinematics import analyse, features
    from infantpose.runtime.sinks import LineFile
    from infantpose.runtime.sources import Source

    pipe = _PIPELINE
    pipe.reset()
    final, partial = out / f"{job.name}.jsonl", out / f"{job.name}.jsonl.partial"
    frames = found = 0
    times, kp3d = [], []  # as recorded (rounded), for the kinematics summary: no second read of the file
    nan = np.full((MPII.num_joints, 3), np.nan)
    lines = LineFile(partial)  # whole records only, as `infantpose run --jsonl` writes them
    try:
        with Source(str(job.video)) as src:
            fps = src.fps or 30.0
            for r in pipe.stream(src, max_frames):
                rec = r.to_json()
                rec["recording"] = str(job.video.name)
                lines.write_line(json.dumps(rec))
                times.append(rec["t"])
                kp3d.append(nan if rec["kp3d"] is None else np.asarray(rec["kp3d"], np.float64))
                frames += 1
                found += int(r.found)
            corrupt = src.stats.corrupt
    finally:
        lines.close()
    if frames == 0:
        partial.unlink(missing_ok=True)
        raise InfantposeError(f"no frame could be read ({corrupt} unreadable)")
    row: dict[str, Any] = {"recording": job.name, "video": str(job.video), "frames": frames,
                           "frames_with_infant": found, "fps": round(fps, 3)}  # fmt: skip
    if frames >= 2 and found >= 2:
        summary = features(analyse(np.stack(kp3d), np.asarray(times, np.float64)))
        atomic_write_text(out / f"{job.name}.summary.json", json.dumps(json_safe(summary), indent=2) + "\n")
        for limb, v in summary["limbs"].items():
            row[f"{limb}_mean_speed_mm_s"] = round(v["mean_speed_mm_s"], 2)
        for k, v in summary["symmetry_index_pct"].items():
            row[f"symmetry_{k}_pct"] = round(v, 2)
    os.replace(partial, final)
    return row


def _run(job: Job, out: Path, max_frames: int | None) -> tuple[Job, dict[str, Any] | None, str | None]:
    try:
        return job, process(job, out, max_frames), None
    except Exception as e:  # isolated: one corrupt recording must not stop a study
        return job, None, " ".join(str(e).split()) or type(e).__name__


def _ray_results(jobs: list[Job], out: Path, init: tuple, workers: int, max_frames: int | None, address: str):
    """(job, row, error) per job from actors on a Ray cluster (``address``: "local" starts one here)."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise InfantposeError("--ray needs Ray: pip install 'infantpose[cluster]'") from None
    ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True, num_cpus=workers if address == "local" else None,
             logging_level=logging.WARNING)  # fmt: skip

    @ray.remote(num_cpus=1)
    class Worker:
        def __init__(self) -> None:
            _worker_init(*init)  # the bundle, once per actor

        def run(self, job: Job) -> tuple[Job, dict[str, Any] | None, str | None]:
            return _run(job, out, max_frames)

    pool = ActorPool([Worker.remote() for _ in range(workers)])
    yield from pool.map_unordered(lambda actor, job: actor.run.remote(job), jobs)


def run_batch(
    inputs: list[Path],
    out: Path,
    bundle: Path | None = None,
    precision: str = "fp32",
    workers: int = 0,
    max_frames: int | None = None,
    progress: bool = True,
    log: Any = print,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Process every recording; returns {"done": [...], "skipped": [...], "failed": {name: reason}}."""
    jobs = find_recordings(inputs)
    out.mkdir(parents=True, exist_ok=True)
    todo = [j for j in jobs if not (out / f"{j.name}.jsonl").is_file()]
    skipped = [j.name for j in jobs if j not in todo]
    workers = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    workers = min(workers, max(1, len(todo)))
    rows: dict[str, dict[str, Any]] = _previous_rows(out)
    failed: dict[str, str] = {}
    if todo:
        from rich.progress import Progress

        init = (str(bundle.resolve()) if bundle else None, precision, 1)
        with Progress(transient=True, disable=not progress) as bar:
            task = bar.add_task("recordings", total=len(todo))
            if ray_address is not None:
                results = _ray_results(todo, out.resolve(), init, workers, max_frames, ray_address)
            else:
                pool = ProcessPoolExecutor(workers, initializer=_worker_init, initargs=init)
                results = (f.result() for f in as_completed([pool.submit(_run, j, out, max_frames) for j in todo]))
            for job, row, err in results:
                if err is None:
                    rows[job.name] = row
                else:
                    failed[job.name] = err
                    log(f"failed: {job.video}: {err}")
                bar.advance(task)
            if ray_address is None:
                pool.shutdown()
    _write_study(out, [rows[j.name] for j in jobs if j.name in rows])
    return {"done": [j.name for j in todo if j.name not in failed], "skipped": skipped, "failed": failed}


def _previous_rows(out: Path) -> dict[str, dict[str, Any]]:
    path = out / "study.csv"
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as f:
        return {r["recording"]: r for r in csv.DictReader(f)}


def _write_study(out: Path, rows: list[dict[str, Any]]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, keys, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out / "study.csv", buf.getvalue())
