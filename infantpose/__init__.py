"""infantpose: 3D infant pose estimation from RGB video, from training to edge runtime.

Public API: ``load_bundle``, ``Bundle``, ``Pipeline`` (each imported on first use: importing
the package stays cheap, so the command line handles signals before OpenCV or onnxruntime load)
and ``__version__``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from infantpose.runtime.pipeline import Pipeline

        return Pipeline
    if name in ("Bundle", "load_bundle"):
        from infantpose.runtime import bundle

        return getattr(bundle, name)
    raise AttributeError(f"module 'infantpose' has no attribute {name!r}")


__all__ = ["Bundle", "Pipeline", "__version__", "load_bundle"]
