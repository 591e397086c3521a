"""What every stage module shares: the params reader, the tensor contract, the phase timer.

A stage's params are a frozen dataclass parsed from the dict a manifest or checkpoint
carries (:class:`ParamsReader` validates each key once, with one message per problem)
and written back with ``to_dict()``. numpy only: the runtime imports this.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any

from infantpose.errors import InfantposeError


class ParamsError(InfantposeError):
    """A stage's params (manifest or checkpoint) are missing a key or hold a bad value."""


_REQUIRED = object()


def is_finite_number(x: Any) -> bool:
    """A finite int or float (not a bool, which JSON and Python would otherwise let through)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# The largest side of a network input a manifest may declare (px); the shipped networks use at most 256.
MAX_INPUT_SIDE = 2048


class ParamsReader:
    """Reads one stage's params dict key by key; every problem is a :class:`ParamsError` naming the key.

    Keys nobody read are refused by :meth:`done` (a typo would otherwise be silently ignored).
    """

    def __init__(self, d: dict[str, Any], stage: str, source: str) -> None:
        if not isinstance(d, dict):
            raise ParamsError(f"{source}: {stage} params must be a JSON object, not {type(d).__name__}")
        self.d, self.stage, self.source = d, stage, source
        self.seen: set[str] = set()

    def fail(self, key: str, what: str) -> ParamsError:
        return ParamsError(f"{self.source}: {self.stage} params {key!r} must be {what}, not {self.d.get(key)!r}")

    def _get(self, key: str, default: Any) -> Any:
        self.seen.add(key)
        if key in self.d:
            return self.d[key]
        if default is _REQUIRED:
            raise ParamsError(f"{self.source}: {self.stage} params lack {key!r}")
        return default

    def number(self, key: str, default: Any = _REQUIRED, low: float = 0.0, strict: bool = True) -> float:
        """A finite number > ``low`` (>= ``low`` when not ``strict``)."""
        v = self._get(key, default)
        if v is default and default is not _REQUIRED:
            return v
        if not is_finite_number(v) or (v <= low if strict else v < low):
            raise self.fail(key, f"a number {'>' if strict else '>='} {low:g}")
        return float(v)

    def integer(self, key: str, default: Any = _REQUIRED, low: int = 1) -> int:
        """An integer >= ``low``."""
        v = self._get(key, default)
        if v is default and default is not _REQUIRED:
            return v
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise self.fail(key, "a positive integer" if low == 1 else f"an integer >= {low}")
        return int(v)

    def numbers(
        self, key: str, length: int | None = None, positive: bool = False, default: Any = _REQUIRED
    ) -> tuple[float, ...]:
        """A non-empty list of finite numbers (``length`` of them when given)."""
        v = self._get(key, default)
        if v is default and default is not _REQUIRED:
            return v
        ok = isinstance(v, (list, tuple)) and len(v) > 0 and (length is None or len(v) == length)
        ok = ok and all(is_finite_number(x) for x in v)
        if not ok or (positive and any(x <= 0 for x in v)):
            size = f"{length} " if length else ""
            raise self.fail(key, f"a list of {size}{'positive ' if positive else ''}numbers")
        return tuple(float(x) for x in v)

    def size(self, key: str) -> tuple[int, int]:
        """(width, height) of a network input: two integers from 8 to MAX_INPUT_SIDE px (a hostile
        manifest must not make the runtime allocate gigabytes per frame)."""
        v = self._get(key, _REQUIRED)
        ok = isinstance(v, (list, tuple)) and len(v) == 2
        if not ok or any(isinstance(x, bool) or not isinstance(x, int) or not 8 <= x <= MAX_INPUT_SIDE for x in v):
            raise self.fail(key, f"a list of 2 integers from 8 to {MAX_INPUT_SIDE} (width, height in px)")
        return int(v[0]), int(v[1])

    def choice(self, key: str, options: tuple, default: Any = _REQUIRED) -> Any:
        v = self._get(key, default)
        if v not in options:
            raise self.fail(key, f"one of {options}")
        return v

    def flag(self, key: str, default: bool = False) -> bool:
        v = self._get(key, default)
        if not isinstance(v, bool):
            raise self.fail(key, "true or false")
        return v

    def raw(self, key: str, default: Any = None) -> Any:
        """A value the caller checks itself."""
        return self._get(key, default)

    def done(self) -> None:
        """Refuse keys no field read."""
        unknown = sorted(set(self.d) - self.seen)
        if unknown:
            raise ParamsError(f"{self.source}: {self.stage} params: unknown key(s) {', '.join(map(repr, unknown))}")


def params_dict(params: Any) -> dict[str, Any]:
    """A params dataclass as the JSON-safe dict manifests and checkpoints store (tuples -> lists, None left out)."""

    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        return v

    return {f.name: plain(getattr(params, f.name)) for f in fields(params) if getattr(params, f.name) is not None}


@dataclass
class TensorSpec:
    """One model input or output as a bundle records it. Dynamic dimensions are strings (e.g. "N")."""

    name: str
    shape: list[int | str]
    dtype: str = "float32"
    layout: str = ""


@dataclass(frozen=True)
class TensorIO:
    """A network's tensor names in call order: what every backend of one architecture takes and gives."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class Timer:
    """Accumulates per-phase milliseconds of the last call (pre, infer, post)."""

    def __init__(self) -> None:
        self.last: dict[str, float] = defaultdict(float)
        self._t = 0.0

    def start(self) -> None:
        self.last = defaultdict(float)
        self._t = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.last[phase] += (now - self._t) * 1000.0
        self._t = now


@dataclass(frozen=True)
class StageDef:
    """One stage as every phase reaches it (train, export, verify, bench, runtime): see :mod:`infantpose.stages`."""

    name: str
    params: Any  # the params dataclass: .from_dict(dict, source), .to_dict(), .io, .whole_frame, .quantisable
    runtime: Any  # the runtime class: (backend, params) -> a callable stage
    example_input: Any  # (params, batch, rng) -> (float32 array, TensorSpec)
    calibration_inputs: Any  # (MINI-RGBD split, count, params) -> (count, ...) float32 network inputs
    drift: Any  # (raw outputs a, raw outputs b, params) -> float, the FP32 -> INT8 drift
    max_drift: float  # INT8 is shipped only at or under this drift
