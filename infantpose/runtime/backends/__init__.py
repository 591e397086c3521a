"""Inference backends: named numpy arrays in, named numpy arrays out."""

from infantpose.runtime.backends.base import Backend

__all__ = ["Backend"]
