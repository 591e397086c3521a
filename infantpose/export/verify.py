"""``infantpose verify``: does accuracy survive export?

The evaluation split runs through the PyTorch reference checkpoints and
through every artifact set of the bundle *via the runtime's own backends and
stages*. One row per set (format x precision): 3D MPJPE/AJPE, its delta to
PyTorch, PCKh, 2D error, each stage's largest raw-output difference on a
fixed probe batch, and median batch-1 latency per stage. A row fails when a
tolerance is exceeded. The bundle is never modified unless asked (``record=True``, the
release script's ``--record``): then the result goes into the manifest's ``meta.verified``
(written atomically, hashes re-checked), which the runtime reads to warn about a bundle
whose recorded verification failed.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.datasets import MiniRGBD
from infantpose.errors import InfantposeError
from infantpose.evaluate.chain import evaluate, load_split
from infantpose.export.calibration import calibration_inputs
from infantpose.fileio import ImageCache
from infantpose.runtime.backends import load_backend
from infantpose.runtime.bundle import Bundle, load_bundle, write_manifest
from infantpose.stages import STAGES as STAGE_DEFS
from infantpose.stages import make_stage

STAGES = tuple(STAGE_DEFS)


@dataclass
class Tolerances:
    """Largest accepted |delta MPJPE| (mm) per precision, and for FP32 ONNX the largest difference of
    any named output of any stage, relative to that output's largest magnitude on the probe batch."""

    # The chain's MPJPE over a split, not the export: one ambiguous frame in 1,000 (test frame 94,
    # BlazePose presence ~3) sends the four refinement passes apart on a 1e-5 difference (44 px of 2D),
    # and the temporal lifter carries it through its window: -0.15 mm. Export errors show in fp32_output.
    fp32_mm: float = 0.25
    fp16_mm: float = 0.5
    int8_mm: float = 2.0
    fp32_output: float = 1e-4

    def mm(self, precision: str) -> float:
        return getattr(self, f"{precision}_mm")


def artifact_sets(bundle: Bundle) -> list[tuple[str, str]]:
    """(format, precision) sets: each stage's matching artifact, FP32 ONNX where a stage lacks one."""
    found = {(a.format, a.precision) for s in bundle.manifest.stages.values() for a in s.artifacts}
    order = [("onnx", "fp32"), ("onnx", "fp16"), ("onnx", "int8"), ("engine", "fp16"), ("engine", "int8")]
    return [k for k in order if k in found]


def _median_ms(backend: Any, name: str, x: np.ndarray, repeat: int = 30) -> float:
    backend({name: x})  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        backend({name: x})
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def verify_bundle(
    bundle_dir: Path,
    data: Path,
    split: str = "test",
    references: dict[str, Path] | None = None,
    tolerances: Tolerances | None = None,
    protocol: str = "standard",
    device: str = "cpu",
    limit: int | None = None,
    progress: bool = True,
    log: Any = print,
    record: bool = False,
    against_onnx: bool = False,
) -> dict[str, Any]:
    """Verify every artifact set of a bundle; returns {"rows": [...], "passed": bool, ...}.

    ``record``: also write the result into the bundle's manifest (``meta.verified``).
    ``against_onnx``: the reference is the bundle's own FP32 ONNX models instead of the PyTorch
    checkpoints (an installed bundle, whose checkpoints do not ship): the other precisions and
    formats are checked against it; the export itself (PyTorch -> ONNX) is then not checked.
    """
    tol = tolerances or Tolerances()
    bundle = load_bundle(bundle_dir)
    if against_onnx:
        return _verify_rows(bundle, bundle_dir, data, split, protocol, device, limit, progress, log, record, tol,
                            None)  # fmt: skip
    from infantpose.train.checkpoint import load_checkpoint

    training = bundle.manifest.meta.get("training", {})
    refs = references or {k: Path(v["checkpoint"]) for k, v in training.items() if "checkpoint" in v}
    missing = [s for s in STAGES if s not in refs]
    if missing:
        raise InfantposeError(f"no PyTorch reference for {', '.join(missing)}: pass --reference (or --against-onnx)")
    absent = [str(refs[s]) for s in STAGES if not Path(refs[s]).is_file()]
    if absent:
        raise InfantposeError(f"the bundle's checkpoints are not here ({', '.join(absent)}): pass --reference "
                              "STAGE=PATH, or --against-onnx (the bundle's FP32 ONNX models as reference)")  # fmt: skip
    unknown = sorted(set(refs) - set(STAGES))
    if unknown:
        raise InfantposeError(f"--reference {', '.join(unknown)}: not a stage (detector, pose2d, lifter)")
    ckpts = {s: load_checkpoint(refs[s]) for s in STAGES}
    for s in STAGES:  # a reference must be the network the bundle was exported from, in kind at least
        ck, params = ckpts[s], bundle.stage(s).params
        if ck["stage"] != s:
            raise InfantposeError(f"{refs[s]}: is a {ck['stage']} checkpoint, not {s}")
        if params.arch != ck["arch"]:
            raise InfantposeError(f"{refs[s]}: a {ck['arch']} network; the bundle's {s} is {params.arch}")
        if s == "lifter" and ck["params"].window != params.window:
            raise InfantposeError(f"{refs[s]}: a lifter with a {ck['params'].window}-frame window; "
                                  f"the bundle's takes {params.window} frames")  # fmt: skip
    return _verify_rows(bundle, bundle_dir, data, split, protocol, device, limit, progress, log, record, tol, ckpts)


def _verify_rows(
    bundle: Bundle,
    bundle_dir: Path,
    data: Path,
    split: str,
    protocol: str,
    device: str,
    limit: int | None,
    progress: bool,
    log: Any,
    record: bool,
    tol: Tolerances,
    ckpts: dict[str, Any] | None,
) -> dict[str, Any]:
    """The reference row (PyTorch checkpoints, or the FP32 ONNX models when ``ckpts`` is None) and one
    row per artifact set, each through the runtime's stages."""
    split_data = load_split(MiniRGBD(data, split=split), limit)
    frames = ImageCache()  # frames read once and shared by every row
    if ckpts is not None:
        from infantpose.train.torch_backend import stage_from_checkpoint

        log(f"reference: PyTorch checkpoints on {len(split_data.images)} frames")
        ref_stages = {s: stage_from_checkpoint(ckpts[s]) for s in STAGES}
        ref_name = ("pytorch", "fp32", "pytorch/cpu")
    else:
        log(f"reference: the bundle's FP32 ONNX models on {len(split_data.images)} frames")
        ref_stages = {}
        for s in STAGES:
            art = bundle.artifact(s, "fp32", "onnx")
            ref_stages[s] = make_stage(s, load_backend(bundle.path(art), "onnx", "cpu", artifact=art),
                                       bundle.stage(s).params)  # fmt: skip
        ref_name = ("onnx (reference)", "fp32", "onnxruntime/CPUExecutionProvider")
    ref = evaluate(split_data, protocol, *(ref_stages[s] for s in STAGES), progress=progress, load=frames)
    probes = {s: calibration_inputs(s, bundle.stage(s).params, data, 8, split) for s in STAGES}
    ref_raw = {s: ref_stages[s].backend({ref_stages[s].backend.input_names[0]: probes[s]}) for s in STAGES}
    ref_mm = ref["lifter_chain"]["mpjpe_mm"]
    rows = [_row(*ref_name, ref, ref_mm, {}, {}, None)]
    for fmt, precision in artifact_sets(bundle):
        if ckpts is None and (fmt, precision) == ("onnx", "fp32"):
            continue  # the reference itself
        log(f"{fmt}/{precision}: evaluating through the runtime")
        stages, raw_diff, latency, providers = {}, {}, {}, set()
        for s in STAGES:
            art = bundle.select(s, precision, fmt)
            backend = load_backend(bundle.path(art), art.format, device, artifact=art)
            providers.add(backend.name)
            stages[s] = make_stage(s, backend, bundle.stage(s).params)
            name = backend.input_names[0]
            out = backend({name: probes[s]})
            raw_diff[s] = output_differences(ref_raw[s], out)
            latency[s] = _median_ms(backend, name, probes[s][:1])
        rep = evaluate(split_data, protocol, *(stages[s] for s in STAGES), progress=progress, load=frames)
        rows.append(_row(fmt, precision, ", ".join(sorted(providers)), rep, ref_mm, raw_diff, latency, tol))
    result = {
        "reference": "pytorch checkpoints" if ckpts is not None else "bundle fp32 onnx",
        "bundle": str(bundle_dir),
        "data": str(data),
        "split": split,
        "frames": len(split_data.images),
        "protocol": protocol,
        "tolerances": asdict(tol),
        "rows": rows,
        "passed": all(r["passed"] for r in rows),
        "verified_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if record:
        load_bundle(bundle_dir)  # the files must still be the ones verified
        bundle.manifest.meta["verified"] = result
        write_manifest(bundle_dir, bundle.manifest)
    return result


def output_differences(ref: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per named output, the tolerances a comparison would have needed (Polygraphy's "minimum required
    tolerance"): ``atol`` the largest absolute difference, ``rtol`` that difference over the output's
    largest magnitude in the reference."""
    res = {}
    for name, r in ref.items():
        d = float(np.abs(np.asarray(out[name], np.float64) - np.asarray(r, np.float64)).max())
        res[name] = {"atol": d, "rtol": d / max(float(np.abs(r).max()), 1e-12)}
    return res


def _row(
    fmt: str, precision: str, backend: str, rep: dict, ref_mm: float, raw: dict, latency: dict, tol: Tolerances | None
) -> dict[str, Any]:
    chain = rep["lifter_chain"]
    delta = chain["mpjpe_mm"] - ref_mm
    failures = []
    if tol is not None:
        if abs(delta) > tol.mm(precision):
            failures.append(f"|delta MPJPE| {abs(delta):.3f} > {tol.mm(precision)} mm")
        if precision == "fp32" and fmt == "onnx":
            for s, outputs in raw.items():
                for name, d in outputs.items():
                    if d["rtol"] > tol.fp32_output:
                        failures.append(f"{s} {name}: difference {d['rtol']:.1e} of its range > {tol.fp32_output:.0e}")
    return {
        "format": fmt,
        "precision": precision,
        "backend": backend,
        "mpjpe_mm": chain["mpjpe_mm"],
        "delta_mm": delta,
        "pckh@1": chain["pckh@1"],
        "pckh@2": chain["pckh@2"],
        "error_2d_px": rep["pose2d"]["error_px"],
        "iou": rep.get("detector", {}).get("iou"),
        "max_abs_diff": raw,
        "latency_ms": latency,
        "passed": not failures,
        "failures": failures,
    }


def format_rows(result: dict[str, Any]) -> str:
    """Markdown table of a verify result."""
    head = (
        f"protocol: {result['protocol']}, {result['frames']} frames of {result['data']} ({result['split']})\n\n"
        "| format | precision | backend | MPJPE mm | delta mm | PCKh@1.0 | PCKh@2.0 | 2D px | box IoU | "
        "max abs diff det / 2D / 3D | median ms det / 2D / 3D | result |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in result["rows"]:
        d, lat = r["max_abs_diff"], r["latency_ms"]
        diff = " / ".join(f"{max(o['atol'] for o in d[s].values()):.1e}" for s in STAGES) if d else "-"
        ms = " / ".join(f"{lat[s]:.2f}" for s in STAGES) if lat else "-"
        iou = f"{100 * r['iou']:.1f} %" if r["iou"] is not None else "-"
        verdict = "pass" if r["passed"] else "FAIL: " + "; ".join(r["failures"])
        lines.append(
            f"| {r['format']} | {r['precision']} | {r['backend']} | {r['mpjpe_mm']:.2f} | {r['delta_mm']:+.3f} | "
            f"{r['pckh@1']:.2f} | {r['pckh@2']:.2f} | {r['error_2d_px']:.2f} | {iou} | {diff} | {ms} | {verdict} |"
        )
    return "\n".join(lines)
