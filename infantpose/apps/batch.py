"""``infantpose batch``: every recording of a study through the chain, resumable, failures isolated.

For each video under the inputs (files, or folders searched recursively) it writes
``OUT/<name>.jsonl`` (the JSONL of ``infantpose run``, each record also naming its
``recording``), ``OUT/<name>.summary.json`` (the kinematics summary) and ``OUT/<name>.done.json``
(its study row, with the input's size and modification time and the settings it ran with), then
one study-level ``OUT/study.csv``, rebuilt from the ``.done.json`` files at the end of every run.
A recording is written to a ``.partial`` file and renamed when complete: a re-run skips finished
recordings whose input and settings are unchanged, and redoes partial, changed or re-set ones. A
recording that fails (corrupt file, no frame, ...) is reported in one line and skipped; the rest
go on. One run at a time writes a study (a lock in ``OUT``); SIGINT / SIGTERM / SIGHUP stop it
within about a second, workers included, and nothing half-written is left as done.
Recordings run in parallel worker processes (default: one per core), each loading the bundle
once; with ``ray`` they run on a Ray cluster instead, one task per recording on actors that each
load the bundle once (``OUT`` must then be a folder every node can write, e.g. a shared mount).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import signals
from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_text
from infantpose.skeleton import MPII

LOCK_NAME = ".infantpose-batch.lock"
STOPPED = "stopped by a signal"  # a recording's "error" when the study was stopped: not a failure

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
            videos += [
                (p, p.relative_to(item))
                for p in sorted(item.rglob("*"))
                if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
            ]  # no FIFOs, devices, folders
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


def input_identity(video: Path) -> dict[str, Any]:
    """What identifies a recording's content for resuming: its size (bytes) and modification time (ns)."""
    st = video.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


_PIPELINE: Any = None
_STOP: Any = None  # the study's stop event (multiprocessing.Event), checked once per frame
_PARENT: int | None = None  # the study's process: a worker whose parent died stops (no orphans)


def _worker_init(bundle: str | None, precision: str, threads: int, stop: Any = None, parent: int | None = None) -> None:
    """Load the bundle once per worker process. Workers ignore the terminal's signals: the study's
    process receives them and stops its workers through ``stop``."""
    global _PIPELINE, _STOP, _PARENT
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _STOP, _PARENT = stop, parent
    from infantpose.runtime.pipeline import Pipeline

    _PIPELINE = Pipeline.from_bundle(bundle, precision=precision, device="cpu", threads=threads)


def _stopping() -> bool:
    return (_STOP is not None and _STOP.is_set()) or (_PARENT is not None and os.getppid() != _PARENT)


def process(job: Job, out: Path, max_frames: int | None = None, settings: dict | None = None) -> dict[str, Any]:
    """Run one recording into ``out`` (``.partial`` first, renamed when done); returns its study row.

    ``NAME.done.json`` (the row, the input's identity and ``settings``) is written before the
    rename: a finished ``NAME.jsonl`` always has one. InfantposeError(STOPPED) when the study stops."""
    from infantpose.clinical.analysis import json_safe
    from infantpose.clinical.kinematics import analyse, features
    from infantpose.runtime.sinks import LineFile
    from infantpose.runtime.sources import Source

    pipe = _PIPELINE
    pipe.reset()
    final, partial = out / f"{job.name}.jsonl", out / f"{job.name}.jsonl.partial"
    frames = found = 0
    times, kp3d = [], []  # as recorded (rounded), for the kinematics summary: no second read of the file
    nan = np.full((MPII.num_joints, 3), np.nan)
    identity = input_identity(job.video)  # before reading: a file changed while it runs is redone next time
    if _stopping():
        raise InfantposeError(STOPPED)
    lines = LineFile(partial)  # whole records only, as `infantpose run --jsonl` writes them
    complete = False
    try:
        with Source(str(job.video)) as src:
            fps = src.fps or 30.0
            for r in pipe.stream(src, max_frames):
                if _stopping():
                    raise InfantposeError(STOPPED)
                rec = r.to_json()
                rec["recording"] = str(job.video.name)
                lines.write_line(json.dumps(rec))
                times.append(rec["t"])
                kp3d.append(nan if rec["kp3d"] is None else np.asarray(rec["kp3d"], np.float64))
                frames += 1
                found += int(r.found)
            corrupt = src.stats.corrupt
        complete = True
    finally:
        lines.close()
        if not complete:  # a failed or stopped recording leaves nothing behind
            partial.unlink(missing_ok=True)
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
    done = {"input": identity, "settings": settings or {}, "row": row}
    atomic_write_text(out / f"{job.name}.done.json", json.dumps(done, indent=1) + "\n")
    os.replace(partial, final)
    return row


def _run(
    job: Job, out: Path, max_frames: int | None, settings: dict | None = None
) -> tuple[Job, dict[str, Any] | None, str | None]:
    try:
        return job, process(job, out, max_frames, settings), None
    except Exception as e:  # isolated: one corrupt recording must not stop a study
        return job, None, " ".join(str(e).split()) or type(e).__name__


def check_ray_address(address: str) -> None:
    """InfantposeError in one line unless ``address`` is "local", "auto" or a reachable host:port /
    ray://host:port (tried with a 3 s TCP connection first: Ray itself would retry for ever)."""
    if address in ("local", "auto"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in hostport:
        raise InfantposeError(f"--ray {address!r}: expected auto, local, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=3).close()
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise InfantposeError(f"--ray {address}: cannot reach {host}:{port} ({why})") from None


def _ray_results(jobs: list[Job], out: Path, init: tuple, workers: int, max_frames: int | None, address: str,
                 settings: dict) -> Iterator[tuple[Job, dict[str, Any] | None, str | None]]:  # fmt: skip
    """(job, row, error) per job from actors on a Ray cluster (``address``: "local" starts one here)."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise InfantposeError("--ray needs Ray: pip install 'infantpose[cluster]'") from None
    try:
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True, num_cpus=workers if address == "local" else None,
                 logging_level=logging.WARNING)  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as e:
        hint = " (no cluster on this node: `ray start --head`, or --ray local)" if address == "auto" else ""
        raise InfantposeError(f"--ray {address}: cannot connect ({type(e).__name__}){hint}") from None

    @ray.remote(num_cpus=1)
    class Worker:
        def __init__(self) -> None:
            _worker_init(*init)  # the bundle, once per actor

        def run(self, job: Job) -> tuple[Job, dict[str, Any] | None, str | None]:
            return _run(job, out, max_frames, settings)

    pool = ActorPool([Worker.remote() for _ in range(workers)])
    try:
        yield from pool.map_unordered(lambda actor, job: actor.run.remote(job), jobs)
    finally:
        ray.shutdown()


def _local_results(jobs: list[Job], out: Path, init: tuple, workers: int, max_frames: int | None, settings: dict,
                   flag: Any) -> Iterator[tuple[Job, dict[str, Any] | None, str | None]]:  # fmt: skip
    """(job, row, error) per job from worker processes; when ``flag`` (the signal's threading.Event) is
    set, queued jobs are cancelled and running ones end at their next frame (partial files removed).

    The signal handler only sets ``flag``: the workers' multiprocessing Event is set from here, never
    from the handler (its lock may be held by the very code the handler interrupted)."""
    ctx = multiprocessing.get_context()
    stop = ctx.Event()
    pool = ProcessPoolExecutor(workers, ctx, initializer=_worker_init, initargs=(*init, stop, os.getpid()))
    pending = {pool.submit(_run, j, out, max_frames, settings) for j in jobs}
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in finished:
                if not f.cancelled():
                    yield f.result()
            if flag.is_set():
                stop.set()
                for f in pending:
                    f.cancel()
    finally:
        stop.set()  # also when the caller stops iterating
        pool.shutdown(wait=True, cancel_futures=True)


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
    """Process every recording; returns {"done": [...], "skipped": [...], "failed": {name: reason},
    "stopped": [...] (not started or cut short by a signal), "signal": the signal or None}."""
    from infantpose.runtime.bundle import sha256_file
    from infantpose.runtime.pipeline import DEFAULT_BUNDLE

    jobs = find_recordings(inputs)
    if ray_address is not None:
        check_ray_address(ray_address)
    manifest = (bundle or DEFAULT_BUNDLE) / "manifest.json"
    if not manifest.is_file():
        raise InfantposeError(f"{manifest.parent}: not a bundle (no manifest.json)")
    # What a finished recording must have been run with to be skipped.
    settings = {"manifest_sha256": sha256_file(manifest), "precision": precision, "max_frames": max_frames}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InfantposeError(f"--out {out}: cannot create ({e.strerror})") from None
    with _study_lock(out):
        finished = {j.name: _finished(out, j, settings) for j in jobs}
        todo = [j for j in jobs if finished[j.name] is None]
        skipped = [j.name for j in jobs if j not in todo]
        for j in todo:  # left by a run that was killed: redone from the start
            (out / f"{j.name}.jsonl.partial").unlink(missing_ok=True)
        workers = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
        workers = min(workers, max(1, len(todo)))
        failed: dict[str, str] = {}
        stopped: list[str] = []
        ran: set[str] = set()
        if todo:
            from rich.progress import Progress

            init = (str(bundle.resolve()) if bundle else None, precision, 1)
            # Local workers stop cooperatively (a flag polled every 0.2 s); Ray's results block in Ray,
            # so there a signal raises (KeyboardInterrupt) and the generator's finally shuts Ray down.
            stopping = signals.cooperative() if ray_address is None else contextlib.nullcontext(threading.Event())
            with contextlib.suppress(KeyboardInterrupt) if ray_address is not None else contextlib.nullcontext():
                with stopping as flag, Progress(transient=True, disable=not progress) as bar:
                    task = bar.add_task("recordings", total=len(todo))
                    if ray_address is not None:
                        results = _ray_results(todo, out.resolve(), init, workers, max_frames, ray_address, settings)
                    else:
                        results = _local_results(todo, out, init, workers, max_frames, settings, flag)
                    with contextlib.closing(results):
                        for job, _row, err in results:
                            ran.add(job.name)
                            if err == STOPPED:
                                stopped.append(job.name)
                            elif err is not None:
                                failed[job.name] = err
                                log(f"failed: {job.video}: {err}")
                            bar.advance(task)
                stopped += [j.name for j in todo if j.name not in ran]
        rows = [r for r in (_finished(out, j, settings) for j in jobs) if r is not None]
        _write_study(out, rows)
    return {"done": [j.name for j in todo if j.name in ran and j.name not in failed and j.name not in stopped],
            "skipped": skipped, "failed": failed, "stopped": stopped,
            "signal": signals.received() if todo else None}  # fmt: skip


@contextlib.contextmanager
def _study_lock(out: Path) -> Iterator[None]:
    """One run at a time per study folder: an exclusive lock on ``OUT/.infantpose-batch.lock``."""
    path = out / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise InfantposeError(f"--out {out}: cannot write ({e.strerror})") from None
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: no lock (documented)
            pass
        except OSError:
            raise InfantposeError(f"--out {out}: another infantpose batch is writing this study; wait for it "
                                  "to finish or use another --out") from None  # fmt: skip
        yield
    finally:
        os.close(fd)  # releases the lock


def _finished(out: Path, job: Job, settings: dict) -> dict[str, Any] | None:
    """The study row of a recording finished with this input and these settings, else None (to redo)."""
    if not (out / f"{job.name}.jsonl").is_file():
        return None
    try:
        done = json.loads((out / f"{job.name}.done.json").read_text(encoding="utf-8"))
        same = done["input"] == input_identity(job.video) and done["settings"] == settings
        return done["row"] if same and isinstance(done["row"], dict) else None
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None  # missing or unreadable: the recording is redone


def _write_study(out: Path, rows: list[dict[str, Any]]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, keys, lineterminator="\n")
    w.writeheader()
    w.writerows([{k: _cell(v) for k, v in r.items()} for r in rows])
    atomic_write_text(out / "study.csv", buf.getvalue())


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ (a formula) gets a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
