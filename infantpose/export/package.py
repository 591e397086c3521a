"""``infantpose export``: checkpoints -> a bundle folder with ONNX (FP32/FP16/INT8),
optional TensorRT engines, and a manifest carrying each stage's contract."""

from __future__ import annotations

import datetime
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import __version__
from infantpose.errors import InfantposeError
from infantpose.runtime.bundle import Manifest, Stage, sha256_file, write_manifest
from infantpose.skeleton import MPII
from infantpose.stages import STAGES, StageParams


def _held_out(stage: str, params: StageParams, data: Path, count: int) -> np.ndarray | None:
    """Inputs from the validation split (frames calibration never saw), or None when it is empty."""
    from infantpose.errors import DatasetError
    from infantpose.export.calibration import calibration_inputs

    try:
        return calibration_inputs(stage, params, data, count, split="val")
    except DatasetError:
        return None


def export_bundle(
    checkpoints: dict[str, Path],
    out: Path,
    precisions: tuple[str, ...] = ("fp32",),
    calib_data: Path | None = None,
    calib_method: str = "minmax",
    calib_count: int = 256,
    tensorrt: bool = False,
    log: Any = print,
    score_threshold: float | None = None,
) -> Path:
    """Export the three checkpoints into bundle folder ``out``; returns the manifest path.

    A stage's path may also be a bundle folder: that bundle's models of the stage are reused as they
    are (sha256-checked, copied byte for byte, precisions asked for only; its training record kept,
    with ``reused_from``), e.g. a new 2D network behind a released detector and lifter.
    ``score_threshold``: the detector score under which the runtime reports "no infant"
    (default: the checkpoint's); recorded in the manifest's detector params.
    """
    from infantpose.export.calibration import calibration_inputs
    from infantpose.export.onnx import export_onnx, max_abs_diff, store_exact_fp16
    from infantpose.export.quantize import to_fp16, to_int8
    from infantpose.train.checkpoint import load_checkpoint

    unknown = set(precisions) - {"fp32", "fp16", "int8"}
    if unknown:
        raise InfantposeError(f"unknown precision(s) {', '.join(sorted(unknown))}; choose from fp32, fp16, int8")
    if "int8" in precisions and calib_data is None:
        raise InfantposeError("int8 needs --calib-data (a MINI-RGBD-layout folder with real frames)")
    out.mkdir(parents=True, exist_ok=True)
    stages: dict[str, Stage] = {}
    training: dict[str, Any] = {}
    skipped: dict[str, Any] = {}
    if score_threshold is not None and not 0.0 <= score_threshold < 1.0:
        raise InfantposeError(f"--score-threshold {score_threshold}: must be in [0, 1)")
    for name, sd in STAGES.items():
        path = checkpoints[name]
        if Path(path).is_dir():
            stages[name], training[name], left_out = _reused_stage(name, Path(path), out, precisions, log)
            if name == "detector" and score_threshold is not None:
                stages[name] = replace(
                    stages[name], params=replace(stages[name].params, score_threshold=float(score_threshold))
                )
            if left_out is not None:
                skipped[name] = left_out
            continue
        ck = load_checkpoint(path)
        if ck["stage"] != name:
            raise InfantposeError(f"{path}: is a {ck['stage']} checkpoint, not {name}")
        params = ck["params"]
        if name == "detector" and score_threshold is not None:
            params = replace(params, score_threshold=float(score_threshold))
        fp32_path = out / f"{name}.fp32.onnx"
        log(f"{name}: exporting ONNX")
        fp32 = export_onnx(ck, fp32_path)
        fp32.info["max_abs_diff_vs_pytorch"] = max_abs_diff(ck, fp32_path)
        arts = [fp32]
        if "fp16" in precisions:
            log(f"{name}: FP16")
            arts.append(to_fp16(fp32_path, out / f"{name}.fp16.onnx", fp32))
        if "int8" in precisions and params.quantisable:
            calib = calibration_inputs(name, params, calib_data, calib_count)
            short = f"; {calib_count} asked for, the split has no more" if len(calib) < calib_count else ""
            log(f"{name}: INT8 ({calib_method} calibration on {len(calib)} inputs from {calib_data.name}{short})")
            held = _held_out(name, params, calib_data, max(32, calib_count // 4))
            int8 = to_int8(fp32_path, out / f"{name}.int8.onnx", fp32, calib, calib_method,
                           partial(sd.drift, params=params), sd.max_drift, held)  # fmt: skip
            if int8.info["passed"]:
                arts.append(int8)
            else:  # never ship an INT8 model that fails its own check: the stage runs FP32 in the int8 set
                (out / int8.file).unlink()
                skipped[name] = {"drift": int8.info["drift"], "max_drift": sd.max_drift}
                log(f"{name}: INT8 left out (drift {int8.info['drift']:.3f} > {sd.max_drift}); FP32 is used instead")
        if tensorrt:
            arts += _engines(name, out, arts, log, calib if "int8" in precisions else None, calib_method)
        # Last, once every variant is derived from it: weights that are exactly FP16 stored as FP16.
        fp32.info.update(store_exact_fp16(fp32_path))
        stages[name] = Stage(params=params, artifacts=arts)
        training[name] = {
            "checkpoint": str(path), "checkpoint_sha256": sha256_file(path), "recipe": ck.get("recipe"),
            "epoch": ck.get("epoch"), "metrics": ck.get("metrics"), "data": ck.get("data"),
            "finetuned_on": ck.get("finetuned_on"), "pretrained": ck.get("pretrained"),
        }  # fmt: skip
    manifest = Manifest(
        joint_set=MPII.name,
        stages=stages,
        meta={
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "infantpose": __version__,
            "units": {"kp2d": "px of the input frame", "kp3d": "mm, camera axes, root (pelvis) at the origin"},
            "training": training,
            "int8_left_out": skipped,
        },
    )
    return write_manifest(out, manifest)


def _reused_stage(
    name: str, src: Path, out: Path, precisions: tuple[str, ...], log: Any
) -> tuple[Stage, dict[str, Any], dict[str, Any] | None]:
    """Stage ``name`` of bundle ``src`` copied into ``out``: its ONNX models of ``precisions`` (FP32 always),
    its params, its training record (with ``reused_from``) and its INT8 left-out record, if any."""
    import shutil

    from infantpose.runtime.bundle import load_bundle

    if not (src / "manifest.json").is_file():
        raise InfantposeError(f"{src}: a folder, but not a bundle (no manifest.json) to take the {name} stage from")
    bundle = load_bundle(src)  # every model file sha256-checked
    stage = bundle.stage(name)
    keep = [a for a in stage.artifacts if a.format == "onnx" and (a.precision == "fp32" or a.precision in precisions)]
    for a in keep:
        if (src / a.file).resolve() != (out / a.file).resolve():
            shutil.copyfile(src / a.file, out / a.file)
    log(f"{name}: reused from {src} ({', '.join(a.precision for a in keep)})")
    meta = bundle.manifest.meta
    record = dict(meta.get("training", {}).get(name, {}))
    record["reused_from"] = {"bundle": str(src), "manifest_sha256": sha256_file(src / "manifest.json")}
    return replace(stage, artifacts=keep), record, meta.get("int8_left_out", {}).get(name)


def _engines(name: str, out: Path, arts: list, log: Any, calib: np.ndarray | None, calib_method: str) -> list:
    """FP16 engine from the FP32 ONNX; INT8 engine from a TensorRT-flavoured QDQ model (with ``calib``)."""
    from infantpose.export.quantize import to_int8
    from infantpose.export.tensorrt import build_engine, tensorrt_available

    ok, why = tensorrt_available()
    if not ok:
        log(f"{name}: TensorRT engines skipped: {why}; the ONNX bundle is still written")
        return []
    fp32 = next(a for a in arts if a.precision == "fp32")
    cache = out / "timing.cache"
    log(f"{name}: TensorRT fp16 engine")
    engines = [build_engine(out / fp32.file, out / f"{name}.fp16.engine", fp32, "fp16", cache)]
    if calib is not None:
        qdq = out / f".{name}.int8-tensorrt.onnx"  # an intermediate: the bundle ships the engine only
        log(f"{name}: TensorRT int8 engine")
        src = to_int8(out / fp32.file, qdq, fp32, calib, calib_method, flavour="tensorrt")
        try:
            engines.append(build_engine(qdq, out / f"{name}.int8.engine", src, "int8", cache))
        finally:
            qdq.unlink(missing_ok=True)
    return engines
