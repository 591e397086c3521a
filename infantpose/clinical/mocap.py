"""Motion-capture files of the 3D keypoints for biomechanics tools: OpenSim TRC and C3D, and the
joint angles as an OpenSim storage file (``.mot``).

Markers are the 16 MPII joints, in millimetres, in a Y-up frame made from the runtime's
camera axes (x right, y down, z away from the camera): X = x, Y = -y, Z = -z (right-handed,
Z towards the camera), pelvis at the origin. Frames without an infant are blank in TRC and
flagged invalid (residual -1) in C3D.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_bytes, atomic_write_text

Y_UP = np.array([1.0, -1.0, -1.0])  # camera axes -> Y-up marker axes


def to_y_up(kp3d: np.ndarray) -> np.ndarray:
    """(F, J, 3) camera-axes mm -> Y-up mm (the transform is its own inverse)."""
    return np.asarray(kp3d, np.float64) * Y_UP


def write_trc(path: Path, names: list[str], kp3d: np.ndarray, t: np.ndarray, fps: float) -> Path:
    """OpenSim TRC (tab-separated, version 4 header) of (F, J, 3) camera-axes mm at times ``t`` (s)."""
    pts = to_y_up(kp3d)
    f, j = pts.shape[:2]
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{fps:.6g}\t{fps:.6g}\t{f}\t{j}\tmm\t{fps:.6g}\t1\t{f}",
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",
        "\t\t" + "\t".join(f"{a}{i + 1}" for i in range(j) for a in "XYZ"),
        "",
    ]
    for n in range(f):
        cells = ["" if not np.isfinite(v) else f"{v:.3f}" for v in pts[n].reshape(-1)]
        lines.append(f"{n + 1}\t{t[n]:.6f}\t" + "\t".join(cells))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def read_trc(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Marker names, (F,) times and (F, J, 3) Y-up mm (NaN where blank) of a TRC file from :func:`write_trc`."""
    rows = Path(path).read_text(encoding="utf-8").splitlines()
    names = [c for c in rows[3].split("\t")[2:] if c]
    data = [r.split("\t") for r in rows[6:] if r.strip()]
    t = np.array([float(r[1]) for r in data])
    vals = np.array([[float(c) if c else np.nan for c in (r[2:] + [""] * (3 * len(names)))[: 3 * len(names)]]
                     for r in data])  # fmt: skip
    return names, t, vals.reshape(len(data), len(names), 3)


def _c3d():
    try:
        import c3d
    except ImportError:
        raise InfantposeError("C3D files need the c3d package: pip install 'infantpose[analysis]'") from None
    return c3d


def write_c3d(path: Path, names: list[str], kp3d: np.ndarray, fps: float) -> Path:
    """C3D (the ``c3d`` package, MIT) of (F, J, 3) camera-axes mm at ``fps``; Y-up markers in mm."""
    c3d = _c3d()
    pts = to_y_up(kp3d)
    writer = c3d.Writer(point_rate=float(fps), point_units="mm  ")
    writer.set_point_labels(names)
    frames = []
    for p in pts:
        ok = np.isfinite(p).all(axis=1)
        block = np.zeros((len(p), 5), np.float32)
        block[ok, :3] = p[ok]
        block[:, 3] = np.where(ok, 0.0, -1.0)  # residual -1: no valid point in this frame
        frames.append((block, np.zeros((0, 0), np.float32)))
    writer.add_frames(frames)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No analog data found": there is none, by design
        writer.write(buf)
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_c3d(path: Path) -> tuple[list[str], float, np.ndarray]:
    """Marker names, point rate and (F, J, 3) Y-up mm (NaN where invalid) read back with ``c3d``."""
    c3d = _c3d()
    with open(path, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No analog data found in file."
        reader = c3d.Reader(f)
        names = [str(n).strip() for n in reader.point_labels]
        frames = []
        for _, points, _ in reader.read_frames():
            p = points[:, :3].astype(np.float64)
            p[points[:, 3] < 0] = np.nan
            frames.append(p)
        return names, float(reader.point_rate), np.stack(frames)


def write_mot(path: Path, angles: dict[str, np.ndarray], t: np.ndarray) -> Path:
    """OpenSim storage (``.mot``) of joint angles: a ``time`` column (s) then one column per angle in
    degrees (``inDegrees=yes``), tab-separated; frames without an infant are ``NaN``."""
    names = list(angles)
    lines = [path.name, "version=1", f"nRows={len(t)}", f"nColumns={len(names) + 1}", "inDegrees=yes", "endheader",
             "\t".join(["time", *(n.removesuffix("_deg") for n in names)])]  # fmt: skip
    for i, ti in enumerate(np.asarray(t, np.float64)):
        cells = [f"{ti:.6f}"] + [f"{v:.4f}" if np.isfinite(v := float(angles[n][i])) else "NaN" for n in names]
        lines.append("\t".join(cells))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
