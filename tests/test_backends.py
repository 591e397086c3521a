import os

import numpy as np
import pytest

from infantpose.errors import InfantposeError
from infantpose.runtime.backends.onnxruntime import OnnxRuntimeBackend, default_threads
from infantpose.runtime.pipeline import DEFAULT_BUNDLE

LIFTER = DEFAULT_BUNDLE / "lifter.fp32.onnx"


def test_default_threads_leave_one_core_free():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_threads() == max(1, cores - 1)
    assert OnnxRuntimeBackend(LIFTER).threads == default_threads()
    assert OnnxRuntimeBackend(LIFTER, threads=3).threads == 3


@pytest.mark.skipif(
    not (DEFAULT_BUNDLE / "lifter.int8.onnx").is_file(),
    reason="the shipped bundle has no INT8 models (BlazePose's INT8 fails its drift check; docs/results.md)",
)
def test_int8_and_fp32_lifters_agree_on_the_shipped_bundle():
    fp32, int8 = OnnxRuntimeBackend(LIFTER), OnnxRuntimeBackend(DEFAULT_BUNDLE / "lifter.int8.onnx")
    name = fp32.input_names[0]
    rng = np.random.default_rng(0)
    # Windows of a slowly moving pose (z-scores), like real ones: white noise is far outside calibration.
    x = (0.5 * rng.standard_normal((4, 32, 1)) + 0.05 * rng.standard_normal((4, 32, 27))).astype(np.float32)
    a, b = fp32({name: x})["kp3d"], int8({name: x})["kp3d"]
    assert a.shape == b.shape == (4, 48, 1)  # a causal window of 27 frames -> the newest frame
    assert np.abs(a - b).mean() < 0.1 * np.abs(a).mean()


def test_unknown_device_is_a_clear_error():
    with pytest.raises(InfantposeError, match="unknown device 'npu'"):
        OnnxRuntimeBackend(LIFTER, device="npu")


def test_a_backend_closes_and_is_a_context_manager():
    with OnnxRuntimeBackend(LIFTER) as b:
        name = b.input_names[0]
        assert b.input_ranks[name] == 3 and b.output_ranks["kp3d"] == 3
        b({name: np.zeros((1, 32, 27), np.float32)})
    with pytest.raises(InfantposeError, match="closed"):
        b({name: np.zeros((1, 32, 27), np.float32)})


def test_tensor_ranks_are_checked_against_the_manifest():
    from dataclasses import replace

    from infantpose.errors import BundleError
    from infantpose.runtime.backends import load_backend
    from infantpose.runtime.bundle import load_bundle

    bundle = load_bundle(DEFAULT_BUNDLE)
    art = bundle.artifact("lifter")
    load_backend(bundle.path(art), "onnx", "cpu", 1, art).close()
    spec = replace(art.inputs[0], shape=art.inputs[0].shape[:2])  # the manifest now says 2 dimensions
    with pytest.raises(BundleError, match="has 3 dimensions in the model, 2 in the manifest"):
        load_backend(bundle.path(art), "onnx", "cpu", 1, replace(art, inputs=[spec]))


def test_a_pipeline_releases_its_models():
    from infantpose.runtime.pipeline import Pipeline

    with Pipeline.from_bundle(device="cpu") as pipe:
        pipe(np.zeros((96, 128, 3), np.uint8))
    assert pipe.pose.backend.session is None and pipe.lifter.backend.session is None
