"""The backend protocol every inference engine implements (onnxruntime, TensorRT, PyTorch for eval)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Backend(Protocol):
    """A loaded model: ``backend({"image": x}) -> {"heatmaps": y}``.

    Inputs and outputs are float32 numpy arrays keyed by the model's tensor
    names; ``name`` says what runs it (e.g. "onnxruntime/CPUExecutionProvider").
    ``input_ranks`` / ``output_ranks``: the number of dimensions of each tensor, and
    ``input_dtypes`` / ``output_dtypes`` its numpy dtype name ("float32"), checked against the
    bundle's tensor specs at load. ``close()`` releases the model and its
    memory (device memory and streams on a GPU); a closed backend cannot run again.
    Backends are context managers (:class:`Closing`).
    """

    name: str
    input_names: list[str]
    output_names: list[str]
    input_ranks: dict[str, int]
    output_ranks: dict[str, int]
    input_dtypes: dict[str, str]
    output_dtypes: dict[str, str]

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...


class Closing:
    """``with backend: ...`` closes it at the end of the block (mixin for the backends)."""

    def close(self) -> None:  # pragma: no cover - every backend defines its own
        raise NotImplementedError

    def __enter__(self) -> Closing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
