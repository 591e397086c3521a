"""TensorRT engines from the bundle's ONNX files, with the TensorRT Python API (TensorRT 10).

FP16 engines are built from the FP32 ONNX with the FP16 flag; INT8 engines from
the QDQ ONNX (explicit quantisation: the calibration already happened). A
timing cache is reused across builds; an optimisation profile covers batch
1..max with ``opt`` as the tuned size. Unverified here: TensorRT cannot be
installed on the development machines (no GPU); tests skip with that reason.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from infantpose.errors import InfantposeError
from infantpose.runtime.bundle import Artifact


def tensorrt_available() -> tuple[bool, str]:
    """(True, version) when TensorRT and a CUDA device can be used, else (False, reason)."""
    try:
        import tensorrt as trt
    except ImportError:
        return False, "TensorRT is not installed (pip install 'infantpose[gpu]' on an NVIDIA machine)"
    try:
        from cuda.bindings import runtime as cudart

        err, count = cudart.cudaGetDeviceCount()
        if int(err) != 0 or count == 0:
            return False, "no CUDA device found"
    except ImportError:
        return False, "cuda-python is not installed"
    return True, trt.__version__


def gpu_name() -> str:
    """Name of CUDA device 0."""
    from cuda.bindings import runtime as cudart

    err, props = cudart.cudaGetDeviceProperties(0)
    return props.name.decode(errors="replace").strip("\x00") if int(err) == 0 else "unknown"


def build_engine(
    onnx_path: Path,
    engine_path: Path,
    source: Artifact,
    precision: str,
    timing_cache: Path,
    max_batch: int = 16,
    opt_batch: int = 1,
    workspace_gb: float = 2.0,
) -> Artifact:
    """Serialise a TensorRT engine for ``onnx_path``; returns its artifact entry."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise InfantposeError(f"{onnx_path}: TensorRT cannot parse the model ({errors})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
    cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        dims = list(tensor.shape)
        if dims and dims[0] == -1:
            shape = lambda n, d=dims: (n, *d[1:])  # noqa: E731
            profile.set_shape(tensor.name, shape(1), shape(opt_batch), shape(max_batch))
    config.add_optimization_profile(profile)
    blob = builder.build_serialized_network(network, config)
    if blob is None:
        raise InfantposeError(f"{onnx_path}: TensorRT engine build failed ({precision})")
    engine_path.write_bytes(bytes(blob))
    timing_cache.write_bytes(bytes(config.get_timing_cache().serialize()))
    info = {"tensorrt": trt.__version__, "gpu": gpu_name(), "profile_batch": [1, opt_batch, max_batch],
            "source": onnx_path.name}  # fmt: skip
    return replace(source, file=engine_path.name, format="engine", precision=precision, sha256="", info=info)
