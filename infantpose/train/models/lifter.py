"""3D lifters: the Martinez et al. 2017 baseline and a causal temporal (dilated 1D conv) lifter.

Inputs are normalised 2D keypoints, outputs normalised root-relative 3D
(see preprocess.normalize_2d / denormalize_3d).
"""

from __future__ import annotations

import torch
from torch import nn


class _Residual(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class MartinezLifter(nn.Module):
    """Linear(2J -> width) + BN + ReLU + Dropout, ``blocks`` residual blocks, Linear(width -> 3J).

    (N, 2J) -> (N, 3J).
    """

    receptive_field = 1

    def __init__(self, num_joints: int = 16, width: int = 1024, blocks: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.inp = nn.Sequential(
            nn.Linear(2 * num_joints, width),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.blocks = nn.Sequential(*[_Residual(width, dropout) for _ in range(blocks)])
        self.out = nn.Linear(width, 3 * num_joints)

    def forward(self, kp2d: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.inp(kp2d)))


class TemporalLifter(nn.Module):
    """Causal dilated 1D convolutions over past frames (VideoPose3D-style, valid padding).

    (N, 2J, T) -> (N, 3J, T - receptive_field + 1): output t sees inputs t .. t + RF - 1,
    i.e. each output belongs to the *last* frame of its window (no future frames).
    With ``dilations`` (1, 3, 9) and kernel 3 the receptive field is 27 frames.
    """

    def __init__(
        self,
        num_joints: int = 16,
        channels: int = 256,
        kernel: int = 3,
        dilations: tuple[int, ...] = (1, 3, 9),
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.dilations = tuple(dilations)
        self.expand = nn.Sequential(
            nn.Conv1d(2 * num_joints, channels, kernel, dilation=dilations[0], bias=False),
            nn.BatchNorm1d(channels), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )  # fmt: skip
        self.layers = nn.ModuleList()
        for d in dilations[1:]:
            self.layers.append(
                nn.Sequential(
                    nn.Conv1d(channels, channels, kernel, dilation=d, bias=False),
                    nn.BatchNorm1d(channels),
                    nn.ReLU(inplace=True),
                    nn.Dropout(dropout),
                    nn.Conv1d(channels, channels, 1, bias=False),
                    nn.BatchNorm1d(channels),
                    nn.ReLU(inplace=True),
                    nn.Dropout(dropout),
                )
            )
        self.shrink = nn.Conv1d(channels, 3 * num_joints, 1)

    @property
    def receptive_field(self) -> int:
        return 1 + sum((self.kernel - 1) * d for d in self.dilations)

    def forward(self, kp2d: torch.Tensor) -> torch.Tensor:
        x = self.expand(kp2d)
        for d, layer in zip(self.dilations[1:], self.layers, strict=True):
            cut = (self.kernel - 1) * d
            x = x[:, :, cut:] + layer(x)
        return self.shrink(x)
