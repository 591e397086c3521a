"""Native TensorRT backend for serialized engines (.engine), written against TensorRT 10's
Python API (name-based I/O tensors, ``execute_async_v3``) and cuda-python for device memory.

Unverified on the machines this project is developed on (no GPU, TensorRT not installable);
its tests skip there with that reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infantpose.errors import BundleError, InfantposeError
from infantpose.runtime.backends.base import Closing


def _check(result: tuple) -> tuple:
    err, *rest = result
    if int(err) != 0:
        raise InfantposeError(f"CUDA call failed with error {int(err)}")
    return tuple(rest)


class TensorRTBackend(Closing):
    """Deserialises an engine and runs it on its own CUDA stream with explicit device buffers
    (grown on demand); :meth:`close` frees the buffers, destroys the stream and the engine."""

    def __init__(self, path: str | Path) -> None:
        try:
            import tensorrt as trt
            from cuda.bindings import runtime as cudart
        except ImportError as e:
            raise InfantposeError(
                f"{path}: running a TensorRT engine needs tensorrt and cuda-python ({e.name} missing): "
                "pip install 'infantpose[gpu]'"
            ) from None
        self._trt, self._cudart = trt, cudart
        self._logger = trt.Logger(trt.Logger.WARNING)
        runtime = trt.Runtime(self._logger)
        engine = runtime.deserialize_cuda_engine(Path(path).read_bytes())
        if engine is None:
            raise BundleError(f"{path}: TensorRT could not deserialise the engine (built for another version/GPU?)")
        self.engine = engine
        self.context = engine.create_execution_context()
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        mode = trt.TensorIOMode.INPUT
        self.input_names = [n for n in names if engine.get_tensor_mode(n) == mode]
        self.output_names = [n for n in names if engine.get_tensor_mode(n) != mode]
        self.input_ranks = {n: len(engine.get_tensor_shape(n)) for n in self.input_names}
        self.output_ranks = {n: len(engine.get_tensor_shape(n)) for n in self.output_names}
        dtype = {n: np.dtype(trt.nptype(engine.get_tensor_dtype(n))).name for n in names}
        self.input_dtypes = {n: dtype[n] for n in self.input_names}
        self.output_dtypes = {n: dtype[n] for n in self.output_names}
        (self.stream,) = _check(cudart.cudaStreamCreate())
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (pointer, bytes)
        self.name = f"tensorrt/{trt.__version__}"

    def _buffer(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self._cudart.cudaFree(ptr))
            (ptr,) = _check(self._cudart.cudaMalloc(nbytes))
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.stream is None:
            raise InfantposeError(f"{self.name}: the backend was closed")
        cudart = self._cudart
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name in self.input_names:
            x = np.ascontiguousarray(inputs[name], dtype=np.float32)
            self.context.set_input_shape(name, x.shape)
            ptr = self._buffer(name, x.nbytes)
            _check(cudart.cudaMemcpyAsync(ptr, x.ctypes.data, x.nbytes, h2d, self.stream))
            self.context.set_tensor_address(name, ptr)
        outs = {}
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            dtype = self._trt.nptype(self.engine.get_tensor_dtype(name))
            outs[name] = np.empty(shape, dtype=dtype)
            self.context.set_tensor_address(name, self._buffer(name, outs[name].nbytes))
        if not self.context.execute_async_v3(self.stream):
            raise InfantposeError("TensorRT execution failed")
        for name, arr in outs.items():
            _check(cudart.cudaMemcpyAsync(arr.ctypes.data, self._buffers[name][0], arr.nbytes, d2h, self.stream))
        _check(cudart.cudaStreamSynchronize(self.stream))
        return {k: v.astype(np.float32, copy=False) for k, v in outs.items()}

    def close(self) -> None:
        """Free the device buffers, destroy the stream, then the context and the engine (in that order)."""
        cudart = getattr(self, "_cudart", None)
        if cudart is None:
            return
        if getattr(self, "stream", None) is not None:
            cudart.cudaStreamSynchronize(self.stream)
        for ptr, _ in getattr(self, "_buffers", {}).values():
            cudart.cudaFree(ptr)
        self._buffers = {}
        if getattr(self, "stream", None) is not None:
            cudart.cudaStreamDestroy(self.stream)
            self.stream = None
        self.context = None
        self.engine = None

    def __del__(self) -> None:  # a backend nobody closed still gives its device memory back
        self.close()
