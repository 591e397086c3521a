"""infantpose: 3D infant pose estimation from RGB video, from training to edge runtime."""

from __future__ import annotations

__version__ = "0.1.0"

from infantpose.bundle import Bundle, load_bundle

__all__ = ["Bundle", "__version__", "load_bundle"]
