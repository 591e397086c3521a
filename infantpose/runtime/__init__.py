"""Torch-free runtime: backends, pipeline stages, tracking, smoothing, sources and sinks."""
