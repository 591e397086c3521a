"""``infantpose analyze``: a recording's JSONL results -> kinematics CSV, summary JSON, TRC and C3D.

Reads the records ``infantpose run --jsonl`` writes (``t`` seconds, ``kp3d`` (16, 3) mm or
null where no infant was found) and writes, into one folder:

- ``kinematics.csv``: one row per frame, one column per quantity, units in the names
  (angles in degrees, speeds mm/s, accelerations mm/s^2; definitions in
  :mod:`infantpose.kinematics`); empty cells where no infant was found;
- ``summary.json``: per-recording features (quantity of movement per limb, left/right
  symmetry indices, range of motion, frequency content);
- ``markers.trc`` (OpenSim) and ``markers.c3d`` (with the ``analysis`` extra): the 3D
  keypoints as markers (:mod:`infantpose.clinical`);
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

from infantpose.clinical import write_c3d, write_trc
from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_text
from infantpose.kinematics import analyse, features
from infantpose.report import annotated_frames, write_report, write_viewer
from infantpose.skeleton import MPII


def read_results(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(F,) times s and (F, 16, 3) mm (NaN where no infant) from a JSONL results file."""
    if not path.is_file():
        raise InfantposeError(f"{path}: no such results file (infantpose run --jsonl writes one)")
    t, kp = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                k3 = rec.get("kp3d")
                arr = np.full((MPII.num_joints, 3), np.nan) if k3 is None else np.asarray(k3, np.float64)
                if arr.shape != (MPII.num_joints, 3):
                    raise ValueError(f"kp3d has shape {arr.shape}, expected ({MPII.num_joints}, 3)")
                t.append(float(rec["t"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
                raise InfantposeError(f"{path}:{n}: not an infantpose result record ({type(e).__name__})") from None
            kp.append(arr)
    if len(t) < 2:
        raise InfantposeError(f"{path}: {len(t)} record(s); movement needs at least 2 frames")
    t_arr = np.asarray(t)
    if np.any(np.diff(t_arr) <= 0):
        raise InfantposeError(f"{path}: times do not increase (a folder of photos is not a recording)")
    return t_arr, np.stack(kp)


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
) -> dict[str, Path]:
    """Write the kinematics of one recording into ``out``; returns the files written by kind."""
    t, kp = read_results(results)
    fps = (len(t) - 1) / (t[-1] - t[0])
    k = analyse(kp, t, smooth_frames)
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
    summary = {"source": results.name, "joints": list(MPII.joints), "smoothing_frames": smooth_frames,
               "definitions": "infantpose.kinematics (README 'Analysing movement')", **features(k)}  # fmt: skip
    atomic_write_text(out / "summary.json", json.dumps(json_safe(summary), indent=2) + "\n")
    written["summary"] = out / "summary.json"
    written["trc"] = write_trc(out / "markers.trc", list(MPII.joints), kp, t, fps)
    if c3d:
        written["c3d"] = write_c3d(out / "markers.c3d", list(MPII.joints), kp, fps)
    written["viewer"] = write_viewer(out / "viewer.html", kp, t, fps, results.name)
    if report:
        frames = None
        if video is not None:  # the recording the results came from: a few frames with their skeleton
            with open(results, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
            frames = annotated_frames(video, records)
        written["report"] = write_report(out / "report.html", k, json_safe(summary), f"infantpose: {results.name}",
                                         frames)  # fmt: skip
    return written
