"""Detector training: letterboxed frames with box targets (or whole frames for a detector that
normalises inside its graph), validated by IoU through the runtime's detector stage."""

from __future__ import annotations

import numpy as np
import torch

from infantpose.fileio import ImageCache
from infantpose.metrics import box_iou
from infantpose.stages.detector import DetectorParams, DetectorStage
from infantpose.train import data as D
from infantpose.train import losses
from infantpose.train.tasks import Context, Setup, model_loss
from infantpose.train.torch_backend import TorchBackend


def setup(ctx: Context) -> Setup:
    params: DetectorParams = ctx.params
    if params.whole_frame:
        train_set = D.WholeFrameDetectionDataset(ctx.train_s, augment=True, seed=ctx.seed)
        default, collate = losses.detection_model_loss, D.collate_lists
    else:
        train_set = D.DetectorDataset(ctx.train_s, params, augment=True, seed=ctx.seed, realism=ctx.realism)
        default, collate = losses.detector_loss, None
    return Setup(train_set, model_loss(ctx.model, default), validate(ctx.val_s, params), "iou", "max", params, collate)


def validate(val_s: list, params: DetectorParams):
    """model -> {"iou": mean IoU of the detected boxes against the labels of ``val_s``}."""
    gt = np.stack([s.box for s in val_s])
    cache = ImageCache()

    def run(model: torch.nn.Module) -> dict[str, float]:
        stage = DetectorStage(TorchBackend(model, params, next(model.parameters()).device), params)
        boxes = np.concatenate(
            [stage([cache(s.image) for s in val_s[i : i + 32]])[0] for i in range(0, len(val_s), 32)]
        )
        return {"iou": float(box_iou(boxes, gt).mean())}

    return run
