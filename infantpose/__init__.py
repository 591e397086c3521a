"""infantpose: 3D infant pose estimation from RGB video, from training to edge runtime.

Public API: ``load_bundle``, ``Pipeline`` (imported on first use: it loads onnxruntime)
and ``__version__``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from infantpose.bundle import Bundle, load_bundle


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from infantpose.runtime.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'infantpose' has no attribute {name!r}")


__all__ = ["Bundle", "Pipeline", "__version__", "load_bundle"]
