import hashlib
import json

import pytest

from infantpose.bundle import (
    MANIFEST,
    Artifact,
    Manifest,
    Stage,
    TensorSpec,
    load_bundle,
    write_manifest,
)
from infantpose.errors import BundleError


def _bundle(tmp_path):
    (tmp_path / "lifter.onnx").write_bytes(b"model bytes")
    art = Artifact(
        file="lifter.onnx",
        format="onnx",
        precision="fp32",
        inputs=[TensorSpec("kp2d", ["N", 32], layout="NC")],
        outputs=[TensorSpec("kp3d", ["N", 48], layout="NC")],
    )
    m = Manifest(joint_set="mpii", stages={"lifter": Stage(params={"window": 1}, artifacts=[art])})
    write_manifest(tmp_path, m)
    return m


def test_round_trip_and_hash(tmp_path):
    _bundle(tmp_path)
    b = load_bundle(tmp_path)
    art = b.artifact("lifter")
    assert art.sha256 == hashlib.sha256(b"model bytes").hexdigest()
    assert art.inputs[0].shape == ["N", 32]
    assert b.stage("lifter").params == {"window": 1}
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
    ]:
        d = json.loads(json.dumps(good))
        mutate(d)
        path.write_text(json.dumps(d))
        with pytest.raises(BundleError, match=msg):
            load_bundle(tmp_path)


def test_missing_artifact_lookup(tmp_path):
    _bundle(tmp_path)
    b = load_bundle(tmp_path)
    with pytest.raises(BundleError, match=r"no onnx/int8 artifact \(has: onnx/fp32\)"):
        b.artifact("lifter", "int8")
    with pytest.raises(BundleError, match="no 'detector' stage"):
        b.stage("detector")
