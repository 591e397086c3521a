"""``infantpose analyze``: a recording's JSONL results -> kinematics CSV, summary JSON, TRC and C3D.

Reads the records ``infantpose run --jsonl`` writes (``t`` seconds, ``kp3d`` (16, 3) mm or
null where no infant was found) and writes, into one folder:

- ``kinematics.csv``: one row per frame, one column per quantity, units in the names
  (angles in degrees, speeds mm/s, accelerations mm/s^2; definitions in
  :mod:`infantpose.clinical.kinematics`); empty cells where no infant was found;
- ``summary.json``: per-recording features (quantity of movement per limb, left/right
  symmetry indices, range of motion, frequency content);
- ``markers.trc`` (OpenSim) and ``markers.c3d`` (with the ``analysis`` extra): the 3D
  keypoints as markers (:mod:`infantpose.clinical.mocap`);
- ``viewer.html``: an interactive 3D skeleton (play, pause, scrub, turn), offline, one file;
- ``report.html`` (with the ``analysis`` extra: matplotlib): plots and tables of the above.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.clinical.kinematics import analyse, features
from infantpose.clinical.mocap import write_c3d, write_mot, write_trc
from infantpose.clinical.report import annotated_frames, write_report, write_viewer
from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_text
from infantpose.skeleton import MPII

# What ``analyze`` writes into its folder (the output guard checks each against the inputs).
OUTPUT_FILES = (
    "kinematics.csv",
    "summary.json",
    "angles.mot",
    "markers.trc",
    "markers.c3d",
    "viewer.html",
    "report.html",
)
# Per record: field -> the shape its numbers must have (None allowed: no infant on that frame).
_SHAPES = {"kp3d": (MPII.num_joints, 3), "kp2d": (MPII.num_joints, 2), "conf": (MPII.num_joints,), "box": (4,)}


def _record(line: str) -> dict[str, Any]:
    """One checked record: a finite ``t``; ``kp3d`` / ``kp2d`` / ``conf`` / ``box`` null or float arrays
    of their shapes (a null inside is NaN). ValueError says what is wrong."""
    rec = json.loads(line)
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    t = rec["t"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise ValueError(f"t is {t!r}, not a finite number of seconds")
    for key, shape in _SHAPES.items():
        if rec.get(key) is not None:
            value = np.asarray(rec[key], np.float64)
            if value.shape != shape:
                raise ValueError(f"{key} has shape {value.shape}, expected {shape}")
            rec[key] = value
    return rec


def read_records(path: Path) -> list[dict[str, Any]]:
    """The JSONL result records of a file, each checked (:func:`_record`); a UTF-8 BOM is allowed."""
    if not path.is_file():
        raise InfantposeError(f"{path}: no such results file (infantpose run --jsonl writes one)")
    records = []
    n = 0
    try:
        with open(path, encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):  # noqa: B007  (n names the line of an error below)
                if line.strip():
                    records.append(_record(line))
    except UnicodeDecodeError:
        raise InfantposeError(f"{path}: not a UTF-8 text file (infantpose run --jsonl writes one)") from None
    except RecursionError:
        raise InfantposeError(f"{path}:{n}: JSON nested too deeply to be a result record") from None
    except json.JSONDecodeError:
        raise InfantposeError(f"{path}:{n}: not an infantpose result record (not JSON)") from None
    except KeyError as e:
        raise InfantposeError(f"{path}:{n}: not an infantpose result record (no {e.args[0]!r})") from None
    except (TypeError, ValueError) as e:
        raise InfantposeError(f"{path}:{n}: not an infantpose result record ({e})") from None
    return records


def recording_arrays(records: list[dict[str, Any]], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(F,) times s and (F, 16, 3) mm (NaN where no infant) of one recording's records (from ``path``)."""
    if len(records) < 2:
        raise InfantposeError(f"{path}: {len(records)} record(s); movement needs at least 2 frames")
    t = np.array([float(r["t"]) for r in records])
    if np.any(np.diff(t) <= 0):
        raise InfantposeError(f"{path}: times do not increase (a folder of photos is not a recording)")
    nan = np.full((MPII.num_joints, 3), np.nan)
    return t, np.stack([nan if r.get("kp3d") is None else r["kp3d"] for r in records])


def read_results(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(F,) times s and (F, 16, 3) mm (NaN where no infant) from a JSONL results file."""
    return recording_arrays(read_records(path), path)


def json_safe(x: Any) -> Any:
    """JSON-safe: NaN and infinities become null (NaN is not JSON)."""
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def analyze(
    results: Path,
    out: Path,
    c3d: bool = True,
    smooth_frames: int = 5,
    report: bool = True,
    video: Path | None = None,
    filter: str = "moving-average",
    cutoff_hz: float = 6.0,
    deidentify: str = "off",
) -> dict[str, Path]:
    """Write the kinematics of one recording into ``out``; returns the files written by kind.

    ``filter`` / ``cutoff_hz`` / ``smooth_frames``: :func:`infantpose.clinical.kinematics.analyse`;
    ``deidentify`` ("blur", "mosaic"): faces covered on the report's frames."""
    records = read_records(results)
    t, kp = recording_arrays(records, results)
    fps = (len(t) - 1) / (t[-1] - t[0])
    try:
        k = analyse(kp, t, smooth_frames, filter, cutoff_hz)
    except ValueError as e:
        raise InfantposeError(f"--filter {filter}: {e}") from None
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    cols = k.columns()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for i in range(len(t)):
        w.writerow(["" if not np.isfinite(v[i]) else f"{v[i]:.4f}" for v in cols.values()])
    atomic_write_text(out / "kinematics.csv", buf.getvalue())
    written["csv"] = out / "kinematics.csv"
    definitions = "infantpose.clinical.kinematics (docs/running.md 'Analysing movement')"
    smoothing = {"filter": filter, "frames": smooth_frames if filter == "moving-average" else None,
                 "cutoff_hz": cutoff_hz if filter == "butterworth" else None}  # fmt: skip
    summary = json_safe({"source": results.name, "joints": list(MPII.joints), "smoothing_frames": smooth_frames,
                         "smoothing": smoothing, "definitions": definitions, **features(k)})  # fmt: skip
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    written["summary"] = out / "summary.json"
    written["mot"] = write_mot(out / "angles.mot", k.angles, t)
    written["trc"] = write_trc(out / "markers.trc", list(MPII.joints), kp, t, fps)
    if c3d:
        written["c3d"] = write_c3d(out / "markers.c3d", list(MPII.joints), kp, fps)
    written["viewer"] = write_viewer(out / "viewer.html", kp, t, fps, results.name)
    if report:
        # With the recording the results came from: a few of its frames with their skeleton.
        frames = annotated_frames(video, records, deidentify=deidentify) if video is not None else None
        written["report"] = write_report(out / "report.html", k, summary, f"infantpose: {results.name}", frames)
    return written
