"""Losses per stage. Each takes (model, batch, device) and returns a scalar tensor."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def heatmap_loss(model: nn.Module, batch: tuple, device: torch.device) -> torch.Tensor:
    """Simple Baselines: 0.5 x MSE to Gaussian targets, invisible joints weighted 0."""
    x, target, weight = (t.to(device) for t in batch)
    pred = model(x)
    w = weight[:, :, None, None]
    return 0.5 * ((pred - target) ** 2 * w).mean()


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on a Gaussian centre map, normalised by object count."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.ge(0.999).float()
    neg = 1 - pos
    pos_loss = torch.log(p) * (1 - p) ** alpha * pos
    neg_loss = torch.log(1 - p) * p**alpha * (1 - target) ** beta * neg
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def detector_loss(model: nn.Module, batch: dict, device: torch.device) -> torch.Tensor:
    """Focal loss on the centre map + L1 on log size and offset at the centre cell."""
    b = {k: v.to(device) for k, v in batch.items()}
    centre, size, offset = model(b["image"])
    n = centre.shape[0]
    ar = torch.arange(n, device=device)
    xs, ys = b["cell"][:, 0], b["cell"][:, 1]
    size_at = size[ar, :, ys, xs]
    off_at = offset[ar, :, ys, xs]
    # Frames without an infant ("present" 0) train the centre map only.
    present = b.get("present", torch.ones(n, device=device))[:, None]
    norm = present.sum().clamp(min=1.0) * 2
    size_l1 = ((size_at - b["size"]).abs() * present).sum() / norm
    box_l1 = size_l1 + ((off_at - b["offset"]).abs() * present).sum() / norm
    return focal_loss(centre, b["centre"]) + box_l1


def detection_model_loss(model: nn.Module, batch: tuple, device: torch.device) -> torch.Tensor:
    """torchvision detection models (the seed detector) return their losses in train mode."""
    images, targets = batch
    images = [i.to(device) for i in images]
    targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
    return sum(model(images, targets).values())


def lifter_loss(model: nn.Module, batch: tuple, device: torch.device) -> torch.Tensor:
    """MSE on normalised root-relative 3D."""
    x, y = (t.to(device) for t in batch)
    return F.mse_loss(model(x), y)
