"""Simple Baselines 2D pose network (Xiao et al. 2018): trunk + 3 deconvolutions + 1x1 head.

Input (N, 3, H, W) normalised RGB; output ``heatmaps`` (N, J, H/4, W/4).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18, resnet34, resnet50


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs) with an optional strided projection."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.proj is None else self.proj(x)))


class LiteResNet(nn.Module):
    """A narrow ResNet (one basic block per stage) for CPU-speed trunks: stride 32."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 96, 128), stem: int = 24) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True),
            nn.Conv2d(stem, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
        )  # fmt: skip
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks += [BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)]
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


class LastFeature(nn.Module):
    """Wraps a multi-output trunk so that it returns its coarsest feature map only."""

    def __init__(self, trunk: nn.Module) -> None:
        super().__init__()
        self.net = trunk

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[-1]


# EfficientNet-Lite0 trunks: name -> deepest stride kept.
EFFICIENTNET_TRUNKS = {"efficientnet_lite0": 32, "efficientnet_lite0_s16": 16}


def build_trunk(name: str, init: str | None = None) -> tuple[nn.Module, int]:
    """Trunk without pool and classifier, and its output channels.

    ``init`` is a local torchvision ImageNet state-dict file (nothing is downloaded);
    EfficientNet trunks get their ImageNet weights from :func:`load_pretrained` instead.
    """
    if name == "lite":
        trunk = LiteResNet()
        return trunk, trunk.out_channels
    if name in EFFICIENTNET_TRUNKS:
        from infantpose.train.models.efficientnet_lite import EfficientNetLite0

        stride = EFFICIENTNET_TRUNKS[name]
        eff = EfficientNetLite0(max_stride=stride, out_strides=(stride,))
        return LastFeature(eff), eff.channels[-1]
    makers = {"resnet18": (resnet18, 512), "resnet34": (resnet34, 512), "resnet50": (resnet50, 2048)}
    if name not in makers:
        raise ValueError(f"unknown pose trunk {name!r}; choose from lite, {', '.join([*EFFICIENTNET_TRUNKS, *makers])}")
    make, ch = makers[name]
    net = make(weights=None)
    if init:
        state = torch.load(init, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=False)
    return nn.Sequential(*list(net.children())[:-2]), ch


class SimpleBaseline(nn.Module):
    """Trunk -> ``deconv_layers`` x (ConvTranspose 4x4 s2 + BN + ReLU) -> 1x1 conv to J heatmaps."""

    def __init__(
        self,
        trunk: str = "resnet50",
        num_joints: int = 16,
        deconv_channels: int = 256,
        deconv_layers: int = 3,
        trunk_init: str | None = None,
    ) -> None:
        super().__init__()
        self.trunk, cin = build_trunk(trunk, trunk_init)
        layers: list[nn.Module] = []
        for _ in range(deconv_layers):
            layers += [
                nn.ConvTranspose2d(cin, deconv_channels, 4, 2, 1, bias=False),
                nn.BatchNorm2d(deconv_channels),
                nn.ReLU(inplace=True),
            ]
            cin = deconv_channels
        self.deconv = nn.Sequential(*layers)
        self.head = nn.Conv2d(cin, num_joints, 1)
        for m in self.deconv.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, std=0.001)
        nn.init.normal_(self.head.weight, std=0.001)
        nn.init.zeros_(self.head.bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.deconv(self.trunk(image)))

    def pretrained_trunk(self) -> nn.Module | None:
        """The ImageNet-initialisable trunk (EfficientNet-Lite0), or None for the other trunks."""
        return self.trunk.net if isinstance(self.trunk, LastFeature) else None
