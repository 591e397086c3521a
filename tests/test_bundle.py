import hashlib
import json

import pytest

from infantpose.errors import BundleError
from infantpose.runtime.bundle import (
    MANIFEST,
    Artifact,
    Manifest,
    Stage,
    TensorSpec,
    load_bundle,
    write_manifest,
)
from infantpose.stages import parse_params


def _bundle(tmp_path):
    (tmp_path / "lifter.onnx").write_bytes(b"model bytes")
    art = Artifact(
        file="lifter.onnx",
        format="onnx",
        precision="fp32",
        inputs=[TensorSpec("kp2d", ["N", 32], layout="NC")],
        outputs=[TensorSpec("kp3d", ["N", 48], layout="NC")],
    )
    params = {"arch": "martinez", "window": 1, "mean_2d": [0.0] * 32, "std_2d": [1.0] * 32, "mean_3d": [0.0] * 48,
              "std_3d": [1.0] * 48}  # fmt: skip
    m = Manifest(joint_set="mpii", stages={"lifter": Stage(params=parse_params("lifter", params, "test"),
                                                           artifacts=[art])})  # fmt: skip
    write_manifest(tmp_path, m)
    return m


def test_round_trip_and_hash(tmp_path):
    m = _bundle(tmp_path)
    b = load_bundle(tmp_path)
    art = b.artifact("lifter")
    assert art.sha256 == hashlib.sha256(b"model bytes").hexdigest()
    assert art.inputs[0].shape == ["N", 32]
    assert b.stage("lifter").params == m.stages["lifter"].params
    assert b.path(art) == tmp_path / "lifter.onnx"


def test_tampered_or_missing_file_is_refused(tmp_path):
    _bundle(tmp_path)
    (tmp_path / "lifter.onnx").write_bytes(b"model bytez")
    with pytest.raises(BundleError, match=r"lifter.onnx: sha256 does not match"):
        load_bundle(tmp_path)
    load_bundle(tmp_path, verify=False)  # the manifest itself still parses
    (tmp_path / "lifter.onnx").unlink()
    with pytest.raises(BundleError, match=r"lifter.onnx: model file listed in the manifest is missing"):
        load_bundle(tmp_path)


def test_malformed_manifests(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(BundleError, match="manifest not found"):
        load_bundle(tmp_path)
    _bundle(tmp_path)
    path = tmp_path / MANIFEST
    good = json.loads(path.read_text())
    path.write_text("{")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(tmp_path)
    for mutate, msg in [
        (lambda d: d.pop("joint_set"), "missing field 'joint_set'"),
        (lambda d: d.update(format_version=99), "format_version 99 is not supported"),
        (lambda d: d["stages"]["lifter"]["artifacts"][0].update(precision="int4"), "unknown precision"),
        (lambda d: d["stages"]["lifter"]["artifacts"][0].update(file="../x.onnx"), "plain file name"),
        (lambda d: d["stages"].update(tracker={"artifacts": []}), "unknown stage 'tracker'"),
        (lambda d: d.update(stages=[1, 2]), "stages must be a JSON object, not list"),
        (lambda d: d["stages"]["lifter"].update(artifacts={}), "artifacts must be a JSON array"),
        (lambda d: d["stages"]["lifter"]["params"].pop("std_3d"), "lack 'std_3d'"),
        (lambda d: d["stages"]["lifter"]["params"].update(std_3d=[1.0] * 47 + [0.0]), "'std_3d' must be a list of pos"),
        (lambda d: d["stages"]["lifter"]["params"].update(mean_3d=[1.0] * 45), "'mean_3d' must be 3 per joint"),
        (lambda d: d["stages"]["lifter"]["params"].update(arch="temporal", window=27), None),
        (lambda d: d["stages"]["lifter"]["params"].update(window=27), "'window' must be 1 for a martinez"),
        (lambda d: d["stages"]["lifter"]["params"].update(input_norm="root_scale"), "'root' must be a joint index"),
        (lambda d: d["stages"]["lifter"]["params"].update(windw=1), "unknown key\\(s\\) 'windw'"),
        (lambda d: d["stages"]["lifter"]["params"].update(kind="single"), "unknown key\\(s\\) 'kind'"),
        (lambda d: d.update(format_version=1) or d["stages"]["lifter"]["params"].update(kind="single"), None),
        (lambda d: d["stages"]["lifter"]["params"].pop("arch"), "lack 'arch'"),
        (lambda d: d["stages"]["lifter"]["params"].update(window=0), "'window' must be a positive integer"),
        (
            lambda d: d["stages"].update(
                pose2d={
                    "artifacts": d["stages"]["lifter"]["artifacts"],
                    "params": {
                        "arch": "simple_baseline",
                        "input_size": [256, 256],
                        "mean": [0, 0, 0],
                        "std": [1, 1, 1],
                        "padding": 1.25,
                    },
                }
            ),
            None,
        ),
        (
            lambda d: d["stages"].update(
                detector={
                    "artifacts": d["stages"]["lifter"]["artifacts"],
                    "params": {
                        "arch": "centre",
                        "input_size": [160, 128],
                        "mean": [0, 0, 0],
                        "std": [1, 1, 1],
                        "stride": 0,
                    },
                }
            ),
            "'stride' must be",
        ),
        (
            lambda d: d["stages"].update(
                detector={
                    "artifacts": d["stages"]["lifter"]["artifacts"],
                    "params": {"arch": "centre", "stride": 8, "mean": [0, 0, 0], "std": [1, 1, 1]},
                }
            ),
            "lack 'input_size'",
        ),
        (
            lambda d: d["stages"].update(
                pose2d={
                    "artifacts": d["stages"]["lifter"]["artifacts"],
                    "params": {
                        "arch": "simple_baseline",
                        "input_size": [256, 256],
                        "mean": [0, 0, 0],
                        "std": [1, 1, 1],
                        "padding": 1.25,
                        "view": "up",
                    },
                }
            ),
            "'view' must be one of",
        ),
    ]:
        d = json.loads(json.dumps(good))
        mutate(d)
        path.write_text(json.dumps(d))
        if msg is None:  # a valid variant: loads
            load_bundle(tmp_path)
            continue
        with pytest.raises(BundleError, match=msg):
            load_bundle(tmp_path)
    path.write_text("[" * 100_000 + "]" * 100_000)  # deep nesting: one error, no RecursionError
    with pytest.raises(BundleError, match="nested too deeply|not valid JSON"):
        load_bundle(tmp_path)


def test_missing_artifact_lookup(tmp_path):
    _bundle(tmp_path)
    b = load_bundle(tmp_path)
    with pytest.raises(BundleError, match=r"no onnx/int8 artifact \(has: onnx/fp32\)"):
        b.artifact("lifter", "int8")
    with pytest.raises(BundleError, match="no 'detector' stage"):
        b.stage("detector")
