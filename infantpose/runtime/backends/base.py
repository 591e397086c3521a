"""The backend protocol every inference engine implements (onnxruntime, TensorRT, PyTorch for eval)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Backend(Protocol):
    """A loaded model: ``backend({"image": x}) -> {"heatmaps": y}``.

    Inputs and outputs are float32 numpy arrays keyed by the model's tensor
    names; ``name`` says what runs it (e.g. "onnxruntime/CPUExecutionProvider").
    """

    name: str
    input_names: list[str]
    output_names: list[str]

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...
