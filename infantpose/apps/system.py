"""Facts about this machine and the installed libraries, without importing torch."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess

from infantpose import __version__


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def onnxruntime_providers() -> list[str]:
    """Execution providers onnxruntime offers here ([] if it is not installed)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return []
    import onnxruntime as ort

    return list(ort.get_available_providers())


def cuda_gpus() -> list[str]:
    """GPU names from ``nvidia-smi -L`` (empty when there is no NVIDIA driver)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU")]


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def system_info() -> dict[str, str]:
    """Human-readable facts for ``infantpose info`` and benchmark reports."""
    import cv2
    import numpy as np

    def ver(name: str) -> str:
        return package_version(name) or "not installed"

    gpus = cuda_gpus()
    return {
        "infantpose": __version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": f"{cpu_model()} ({os.cpu_count()} logical cores)",
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "onnxruntime": ver("onnxruntime") if package_version("onnxruntime") else ver("onnxruntime-gpu"),
        "onnxruntime providers": ", ".join(onnxruntime_providers()) or "none",
        "torch": ver("torch"),
        "torchvision": ver("torchvision"),
        "onnx": ver("onnx"),
        "tensorrt": ver("tensorrt") if importlib.util.find_spec("tensorrt") else "not installed",
        "cuda gpu": "; ".join(gpus) if gpus else "none found",
    }
