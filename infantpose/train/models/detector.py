"""Infant detectors.

``edge``: a single-infant centre-heatmap detector (core: infantpose.detection):
a narrow ResNet trunk with a small top-down path to stride 8 and three heads
(``centre`` logits, ``size`` log w/h in input px, ``offset`` in cells). Plain
convolutions only, so it exports cleanly to ONNX and TensorRT.

``seed``: torchvision Faster R-CNN ResNet-50-FPN with a 2-class predictor.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from infantpose.train.models.pose2d import BasicBlock


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CentreDetector(nn.Module):
    """(N, 3, H, W) -> centre (N, 1, H/8, W/8), size (N, 2, ...), offset (N, 2, ...)."""

    stride = 8

    def __init__(
        self, widths: tuple[int, int, int, int] = (24, 48, 64, 96), head: int = 48, backbone: str = "lite"
    ) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.backbone = backbone
        if backbone == "lite":
            self.stem = nn.Sequential(_conv(3, 16, 2), _conv(16, w1, 2))  # stride 4
            self.s8 = nn.Sequential(BasicBlock(w1, w2, 2), BasicBlock(w2, w2, 1))
            self.s16 = nn.Sequential(BasicBlock(w2, w3, 2), BasicBlock(w3, w3, 1))
            self.s32 = nn.Sequential(BasicBlock(w3, w4, 2), BasicBlock(w4, w4, 1))
            c8, c16 = w2, w3
        elif backbone in ("efficientnet_lite0", "efficientnet_lite0_s16"):
            from infantpose.train.models.efficientnet_lite import EfficientNetLite0

            # _s16: the trunk stops at stride 16 (4x fewer weights; a 160x128 input needs no more context).
            deep = backbone == "efficientnet_lite0"
            self.trunk = EfficientNetLite0(max_stride=32 if deep else 16, out_strides=(8, 16, 32) if deep else (8, 16))
            c8, c16 = self.trunk.channels[:2]
            self.top = nn.Conv2d(self.trunk.channels[2], w4, 1) if deep else None
        else:
            raise ValueError(
                f"unknown detector backbone {backbone!r}; choose lite, efficientnet_lite0 or efficientnet_lite0_s16"
            )
        self.lat16 = nn.Conv2d(c16, w4, 1)
        self.lat8 = nn.Conv2d(c8, w4, 1)
        self.fuse = _conv(w4, head)

        def branch(cout: int) -> nn.Sequential:
            return nn.Sequential(_conv(head, head), nn.Conv2d(head, cout, 1))

        self.centre = branch(1)
        self.size = branch(2)
        self.offset = branch(2)
        nn.init.constant_(self.centre[-1].bias, -2.19)  # sigmoid = 0.1: stable focal-loss start

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.backbone == "lite":
            x8 = self.s8(self.stem(image))
            x16 = self.s16(x8)
            x32 = self.s32(x16)
        elif self.top is not None:
            x8, x16, x32 = self.trunk(image)
            x32 = self.top(x32)
        else:
            x8, x16 = self.trunk(image)
            x32 = None
        # Nearest upsampling by a fixed factor: exports to a plain Resize.
        y16 = self.lat16(x16)
        if x32 is not None:
            y16 = y16 + F.interpolate(x32, scale_factor=2.0, mode="nearest")
        y8 = self.lat8(x8) + F.interpolate(y16, scale_factor=2.0, mode="nearest")
        f = self.fuse(y8)
        return self.centre(f), self.size(f), self.offset(f)

    def pretrained_trunk(self) -> nn.Module | None:
        """The ImageNet-initialisable trunk (EfficientNet-Lite0), or None for the narrow ResNet."""
        return self.trunk if self.backbone != "lite" else None


def fasterrcnn(num_classes: int = 2, trunk_init: str | None = None) -> nn.Module:
    """torchvision Faster R-CNN ResNet-50-FPN with a ``num_classes`` box predictor.

    ``trunk_init`` is a local COCO Faster R-CNN state-dict file (no downloads);
    its box predictor is replaced.
    """
    from torchvision.models.detection import fasterrcnn_resnet50_fpn
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

    model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    if trunk_init:
        model.load_state_dict(torch.load(trunk_init, map_location="cpu", weights_only=True))
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, num_classes)
    return model
