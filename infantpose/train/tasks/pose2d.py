"""2D training: crops with heatmap targets, or a pretrained real-photo network used as it is with a
joint regressor fitted on synthetic frames; validated by PCKh@1 through the runtime's 2D stage."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from infantpose.datasets.common import spread_indices
from infantpose.fileio import ImageCache
from infantpose.metrics import Protocol, evaluate_2d
from infantpose.posture import upright_angle
from infantpose.stages.pose2d import PoseParams, PoseStage
from infantpose.train import data as D
from infantpose.train import losses
from infantpose.train.tasks import Context, Setup, model_loss
from infantpose.train.torch_backend import TorchBackend


def setup(ctx: Context) -> Setup:
    params: PoseParams = ctx.params
    train_set = D.Pose2DDataset(ctx.train_s, params, augment=True, seed=ctx.seed, realism=ctx.realism)
    return Setup(train_set, model_loss(ctx.model, losses.heatmap_loss), validate(ctx.val_s, params), "pckh@1", "max",
                 params)  # fmt: skip


def spread(items: list, limit: int) -> list:
    """At most ``limit`` of ``items``, spread evenly (the first and the last kept)."""
    return items if len(items) <= limit else [items[i] for i in spread_indices(len(items), limit)]


def on_samples(stage: PoseStage, samples: list, cache: Any) -> np.ndarray:
    """(N, J, 2) px of the 2D stage on crops around samples' ground-truth poses.

    Each crop is the one the runtime tracks with: the box the stage builds from a pose
    (:meth:`PoseStage.pose_boxes`), here the ground truth's, turned upright by the ground truth
    for networks that need it; one pass per frame instead of the runtime's search.
    """
    gt = np.stack([s.joints2d for s in samples])
    rot = upright_angle(gt) if stage.params.upright else np.zeros(len(samples))
    return stage([cache(s.image) for s in samples], stage.pose_boxes(gt, rot), rot, refine=False)[0]


def validate(val_s: list, params: PoseParams):
    """model -> PCKh@1, PCKh@2 and 2D error (px) of the 2D stage on the labelled boxes of ``val_s``."""
    gt = np.stack([s.joints2d for s in val_s])
    vis = np.stack([s.visible for s in val_s])
    thr = np.array([s.pckh_2d if s.pckh_2d else np.nan for s in val_s])
    boxes = np.stack([s.box for s in val_s])
    cache = ImageCache()

    def run(model: torch.nn.Module) -> dict[str, float]:
        stage = PoseStage(TorchBackend(model, params, next(model.parameters()).device), params)
        kp = np.concatenate(
            [stage([cache(s.image) for s in val_s[i : i + 32]], boxes[i : i + 32])[0] for i in range(0, len(val_s), 32)]
        )
        res = evaluate_2d(kp, gt, vis, thr, Protocol.STANDARD)
        return {"pckh@1": res["pckh@1"], "pckh@2": res["pckh@2"], "error_px": res["error_px"]}

    return run


def fit_as_is(ctx: Context, pretrained: Any) -> dict[str, Any]:
    """A pretrained 2D network (``pretrained``: :class:`infantpose.train.models.Pretrained`) as it is,
    plus a fitted joint regressor (no gradient steps); writes best.pt / last.pt / log.jsonl to ``ctx.out``.

    Fine-tuning on renders is what made earlier models learn the renderer; here only the
    regressor for the MPII joints the network lacks is learnt from the synthetic frames.
    """
    from infantpose.train.checkpoint import atomic_save, make_checkpoint
    from infantpose.train.regressor import fit_regressor

    t0 = time.perf_counter()
    r, params, model = ctx.recipe, ctx.params, pretrained.model
    fit_s = spread(ctx.train_s, r.fit_frames)
    raw = PoseStage(TorchBackend(model, params), params)  # no regressor yet: the heatmap joints
    cache = ImageCache()
    preds = []
    for i in range(0, len(fit_s), 32):
        preds.append(on_samples(raw, fit_s[i : i + 32], cache))
        print(f"[pose2d] landmarks on training frames {min(i + 32, len(fit_s))}/{len(fit_s)}", end="\r", flush=True)
    print()
    boxes = np.stack([s.box for s in fit_s])
    scale = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    res = fit_regressor(
        np.concatenate(preds), np.stack([s.joints2d for s in fit_s]), np.stack([s.visible for s in fit_s]),
        scale, pretrained.channels,
    )  # fmt: skip
    params = replace(params, heatmap_joints=tuple(pretrained.channels),
                     joint_regressor=tuple(tuple(row) for row in res.regressor.round(6).tolist()))  # fmt: skip
    val_s = spread(ctx.val_s, r.val_frames)
    metrics = {"epoch": 0, **validate(val_s, params)(model), "seconds": time.perf_counter() - t0}
    fit_info = {"frames": res.frames, "rms_prior": res.error_prior, "rms_fitted": res.error_fitted}
    print(f"[pose2d] regressor fit (rms in box diagonals): {json.dumps(fit_info)}")
    print("[pose2d] " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
    ckpt = make_checkpoint("pose2d", r.arch, pretrained.kwargs, params, model, metrics=metrics, epoch=0,
                           pretrained=pretrained.source, regressor_fit=fit_info, **ctx.extra)  # fmt: skip
    ctx.out.mkdir(parents=True, exist_ok=True)
    atomic_save(ckpt, ctx.out / "best.pt")
    atomic_save(ckpt, ctx.out / "last.pt")
    with open(ctx.out / "log.jsonl", "a") as f:
        f.write(json.dumps(metrics) + "\n")
    return {"best": metrics["pckh@1"], "metric": "pckh@1", "history": [metrics]}
