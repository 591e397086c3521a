"""Low-pass filters for movement series, numpy only (the runtime install has no scipy).

Series are (F, ...) along axis 0, sampled at ``fps``; NaN frames (no infant) stay NaN and split
the series: each finite run is filtered on its own, runs too short to filter are left as they are.

- ``butterworth``: a 2nd-order Butterworth low-pass (bilinear transform, cut-off ``cutoff_hz``)
  run forwards and backwards (zero phase; 4th order in effect, as Sports2D and OpenSim users
  filter marker data), ends padded by odd reflection;
- ``moving-average``: a centred moving average over ``frames`` frames (5 at 30 fps is about a
  6 Hz low-pass);
- ``none``.
"""

from __future__ import annotations

import math

import numpy as np

FILTERS = ("none", "butterworth", "moving-average")
PAD = 15  # frames of odd reflection at each end of a run (the filter's transient dies out in it)


def _biquad(fps: float, cutoff_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of a 2nd-order Butterworth low-pass at ``cutoff_hz`` for ``fps`` samples per second."""
    if not 0 < cutoff_hz < fps / 2:
        raise ValueError(f"the cut-off must lie between 0 and half the frame rate ({fps / 2:.1f} Hz), not {cutoff_hz}")
    w = math.tan(math.pi * cutoff_hz / fps)
    k, q = w * w, math.sqrt(2.0)
    norm = 1.0 / (1.0 + q * w + k)
    b = np.array([k, 2 * k, k]) * norm
    a = np.array([1.0, 2 * (k - 1) * norm, (1 - q * w + k) * norm])
    return b, a


def _lfilter(b: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Direct form II transposed along axis 0, started at rest on the first sample (no step at the start)."""
    y = np.empty_like(x)
    z1 = x[0] * (1.0 - b[0])  # steady state for a constant input equal to x[0]
    z2 = x[0] * (b[2] - a[2])
    for i in range(len(x)):
        yi = b[0] * x[i] + z1
        z1 = b[1] * x[i] - a[1] * yi + z2
        z2 = b[2] * x[i] - a[2] * yi
        y[i] = yi
    return y


def butterworth(x: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase Butterworth low-pass of (F, ...) ``x`` along axis 0 (see the module docstring)."""
    b, a = _biquad(fps, cutoff_hz)
    return _runs(np.asarray(x, np.float64), lambda r: _filtfilt(b, a, r), 2 * PAD + 1)


def _filtfilt(b: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    pad = min(PAD, len(x) - 1)
    head, tail = 2 * x[0] - x[pad:0:-1], 2 * x[-1] - x[-2 : -pad - 2 : -1]
    y = np.concatenate([head, x, tail])
    y = _lfilter(b, a, y)
    y = _lfilter(b, a, y[::-1])[::-1]
    return y[pad : pad + len(x)]


def moving_average(x: np.ndarray, frames: int) -> np.ndarray:
    """Centred moving average over ``frames`` (odd) along axis 0, edges averaged over what exists."""
    x = np.asarray(x, np.float64)
    if frames <= 1:
        return x
    half = frames // 2
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = np.mean(x[max(0, i - half) : i + half + 1], axis=0)
    return out


def _runs(x: np.ndarray, fn, shortest: int) -> np.ndarray:
    """``fn`` applied to each run of frames where every value is finite (runs shorter than ``shortest``
    are kept as they are; NaN frames stay NaN)."""
    finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    out = x.copy()
    i = 0
    while i < len(x):
        if not finite[i]:
            i += 1
            continue
        j = i
        while j < len(x) and finite[j]:
            j += 1
        if j - i >= shortest:
            out[i:j] = fn(x[i:j])
        i = j
    return out


def low_pass(x: np.ndarray, fps: float, kind: str = "moving-average", cutoff_hz: float = 6.0, frames: int = 5):
    """``x`` (F, ...) filtered by ``kind`` (one of FILTERS); ValueError names a bad kind or cut-off."""
    if kind == "none":
        return np.asarray(x, np.float64)
    if kind == "butterworth":
        return butterworth(x, fps, cutoff_hz)
    if kind == "moving-average":
        return moving_average(x, frames)
    raise ValueError(f"unknown filter {kind!r} (choose {', '.join(FILTERS)})")
