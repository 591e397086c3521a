"""2D heatmap network initialised from MediaPipe's BlazePose landmark model (real-photo features).

The weights come from a registry package: the ``mediapipe`` wheel on PyPI (Apache-2.0) ships
``pose_landmark_full.tflite``. We read it with our own TFLite reader
(:mod:`infantpose.train.models.tflite_graph`), keep only the branch that computes the 64x64
landmark heatmaps (the regression, world-landmark and segmentation heads are dropped) and
expose the channels of :data:`infantpose.skeleton.BLAZEPOSE_CHANNELS`.

Input (N, 3, 256, 256) RGB in [0, 1] (mean 0, std 1); outputs ``heatmaps`` (N, C, 64, 64),
sigmoid probabilities at stride 4 like the other 2D networks, and ``presence`` (N, 1).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_bytes
from infantpose.runtime.bundle import sha256_file
from infantpose.skeleton import BLAZEPOSE_CHANNELS, BLAZEPOSE_LANDMARKS
from infantpose.train.models.tflite_graph import TFLiteGraph, read_tflite

WHEEL = "mediapipe==0.10.21"
MEMBER = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
SHA256 = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
HEATMAP_OUTPUT = "Identity_3"  # (1, 64, 64, 39) logits: 33 landmarks + 6 auxiliary points
# (1, 1, 1, 1) logit that an upright person fills the crop (before the sigmoid, which saturates at 1
# for several turns of the same crop and so cannot rank them).
PRESENCE_OUTPUT = (
    "model_1/model/conv_poseflag/BiasAdd;model_1/model/conv_poseflag/Conv2D;"
    "model_1/model/conv_poseflag/BiasAdd/ReadVariableOp/resource1"
)
SOURCE = {
    "package": WHEEL,
    "file": MEMBER,
    "licence": "Apache-2.0 (MediaPipe; BlazePose GHUM 3D model card)",
    "url": "https://pypi.org/project/mediapipe/0.10.21/",
}


def cache_path() -> Path:
    """Where the extracted .tflite is kept (``INFANTPOSE_WEIGHTS_DIR`` or ~/.cache/infantpose)."""
    root = os.environ.get("INFANTPOSE_WEIGHTS_DIR") or Path.home() / ".cache" / "infantpose"
    return Path(root) / "pose_landmark_full.tflite"


def fetch_weights(progress: bool = True) -> Path:
    """The BlazePose .tflite, extracted once from the mediapipe wheel (``pip download``, no install).

    The wheel is not installed: mediapipe pins numpy 1.x. The file is checked against
    :data:`SHA256`; InfantposeError says what failed.
    """
    path = cache_path()
    if path.is_file() and sha256_file(path) == SHA256:
        return path
    if progress:
        print(f"fetching BlazePose weights from the {WHEEL} wheel (PyPI, ~35 MB) into {path.parent}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp, WHEEL]
        r = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("mediapipe-*.whl"))
        if r.returncode != 0 or not wheels:
            last = (r.stderr.strip().splitlines() or ["no wheel for this platform"])[-1]
            raise InfantposeError(f"could not download {WHEEL} from PyPI: {last}")
        with zipfile.ZipFile(wheels[0]) as z:
            data = z.read(MEMBER)
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise InfantposeError(f"{MEMBER} in {WHEEL} does not match the expected sha256 {SHA256}")
    atomic_write_bytes(path, data)
    return path


def pretrained_kwargs(tflite: Path | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Model arguments (graph, weight shapes, channels) and float32 weights from the .tflite file."""
    graph, weights = read_tflite(tflite or fetch_weights(), [HEATMAP_OUTPUT, PRESENCE_OUTPUT])
    channels = [BLAZEPOSE_LANDMARKS.index(n) for n in BLAZEPOSE_CHANNELS]
    kwargs = {"graph": graph, "shapes": {k: list(v.shape) for k, v in weights.items()}, "channels": channels}
    return kwargs, weights


class BlazePoseHeatmaps(nn.Module):
    """BlazePose's heatmap branch: (N, 3, H, W) RGB 0-1 -> ``heatmaps`` (N, C, H/4, W/4) probabilities
    and ``presence`` (N, 1), the network's own logit that an upright person fills the crop (what
    MediaPipe tracks with; here it ranks the crop's quarter turns)."""

    def __init__(self, graph: list[dict[str, Any]], shapes: dict[str, list[int]], channels: list[int]) -> None:
        super().__init__()
        self.net = TFLiteGraph(graph, shapes)
        self.register_buffer("channels", torch.tensor(channels, dtype=torch.long), persistent=False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, presence = self.net(image)
        return torch.sigmoid(logits.index_select(1, self.channels)), presence.flatten(1)


def build_pretrained(tflite: Path | None = None) -> tuple[BlazePoseHeatmaps, dict[str, Any]]:
    """The network with BlazePose's weights loaded, and the kwargs that rebuild it from a checkpoint."""
    kwargs, weights = pretrained_kwargs(tflite)
    model = BlazePoseHeatmaps(**kwargs)
    model.net.load_arrays(weights)
    return model, kwargs
