"""One training entry point per stage: data, model, loss and validation wired to the engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infantpose.datasets.common import spread_indices
from infantpose.errors import InfantposeError
from infantpose.fileio import ImageCache
from infantpose.metrics import Protocol, box_iou, evaluate_2d, evaluate_3d
from infantpose.posture import VOTE_BACK, VOTE_PRIOR, VOTE_WINDOW, back_view_share, upright_angle, vote_recording
from infantpose.skeleton import MPII
from infantpose.stages import parse_params
from infantpose.stages.detector import DetectorParams, DetectorStage
from infantpose.stages.lifter import LifterParams, LifterStage, sequence_input
from infantpose.stages.pose2d import PoseParams, PoseStage
from infantpose.train import data as D
from infantpose.train import losses
from infantpose.train.checkpoint import load_checkpoint
from infantpose.train.engine import FitConfig, fit
from infantpose.train.models import build_model
from infantpose.train.recipes import get_recipe, recipe_params
from infantpose.train.torch_backend import TorchBackend, stage_from_checkpoint

VAL_LIMIT = 600  # validation frames per epoch (evenly spaced), to keep epochs short on CPU


def _spread(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    return [items[i] for i in spread_indices(len(items), limit)]


def init_weights(model: torch.nn.Module, path: Path) -> int:
    """Copy every parameter of a checkpoint (or raw state dict) whose name and shape match; returns the count."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InfantposeError(f"{path}: --init file not found") from None
    except Exception as e:
        raise InfantposeError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else {}
    own = model.state_dict()
    match = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not match:
        raise InfantposeError(f"{path}: no parameter matches this architecture")
    own.update(match)
    model.load_state_dict(own)
    return len(match)


def _setup(stage: str, recipe: str, overrides: dict[str, Any]) -> dict[str, Any]:
    r = get_recipe(stage, recipe)
    for k, v in overrides.items():
        if v is not None:
            r[k] = v
    return r


def train(
    stage: str,
    data: Path,
    recipe: str,
    out: Path,
    *,
    epochs: int | None = None,
    batch: int | None = None,
    lr: float | None = None,
    init: Path | None = None,
    resume: bool = False,
    seed: int = 0,
    device: str = "auto",
    workers: int = 0,
    dataset: str = "auto",
    temporal: bool = False,
    pose2d: Path | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    train_split: str = "train",
    val_split: str = "val",
    extra_data: list[Path] | None = None,
    pretrained: bool = True,
    pose_bank: int | None = None,
) -> dict[str, Any]:
    """Train ``stage`` ("detector", "pose2d" or "lifter") on ``data``; checkpoints go to ``out``.

    ``pretrained=False`` starts a recipe's ImageNet-initialised trunk from random weights (for comparisons).
    ``pose_bank``: lifters, pose-only synthetic infants added to the training sequences (default: the
    recipe's; 0: none; :mod:`infantpose.synth.poses`).
    """
    key = "temporal" if (stage == "lifter" and temporal) else stage
    r = _setup(key, recipe, {"epochs": epochs, "batch": batch, "lr": lr, "pose_bank": pose_bank})
    train_s = D.load_samples(data, train_split, dataset)
    for extra in extra_data or []:  # every sequence of an extra set is training data; names kept apart
        train_s += [replace(s, sequence=f"{extra.name}/{s.sequence}") for s in D.load_samples(extra, "all", dataset)]
    val_s = _spread(D.load_samples(data, val_split, dataset), VAL_LIMIT)
    for split, samples in ((train_split, train_s), (val_split, val_s)):
        if not samples:  # validation picks the best epoch: training without it would ship an unchecked model
            raise InfantposeError(
                f"{data}: the {split!r} split has no frames; training needs frames in both {train_split!r} and "
                f"{val_split!r} (e.g. infantpose synth --sequences 4 or more, or a dataset.json 'splits' table)"
            )
    # The lifter's params are complete (input statistics) only once its data is read (_lifter_data).
    params = {**r["params"], "arch": r["arch"]} if stage == "lifter" else recipe_params(stage, r, f"recipe {recipe!r}")
    extra: dict[str, Any] = {
        "recipe": recipe,
        "data": {
            "root": str(data),
            "train": train_split,
            "val": val_split,
            "train_frames": len(train_s),
            "extra": [str(e) for e in extra_data or []],
        },
    }
    # Fine-tuning on a 2D network's output mixes the bank in only where the recipe says so (finetune_bank),
    # its 2D then moved to that network's convention (_lifter_data).
    with_bank = stage == "lifter" and (pose2d is None or bool(r.get("finetune_bank")))
    bank = _pose_bank_size(r) if with_bank else None
    if bank is not None:
        extra["data"]["pose_bank"] = {
            "infants": bank[0], "frames": bank[1], "wide_every": bank[2], "seed": POSE_BANK_SEED,
            "2d": "ground truth" if pose2d is None else "moved to the 2D stage's convention",
        }  # fmt: skip
    cfg = FitConfig(
        out=out, epochs=r["epochs"], batch=r["batch"], lr=r["lr"], weight_decay=r.get("weight_decay", 0.0),
        lr_gamma=r.get("lr_gamma", 1.0), seed=seed, resume=resume, device=device, workers=workers,
        progress=progress, max_steps=max_steps,
    )  # fmt: skip
    if r["arch"] in PRETRAINED_AS_IS:
        if epochs or resume or init is not None or not pretrained:
            raise InfantposeError(
                f"the {recipe} recipe is a pretrained network as it is (not fine-tuned):"
                " no --epochs, --resume, --init or --from-scratch"
            )
        return _fit_pretrained_pose(r, params, train_s, val_s, out, extra)
    collate = None
    realism = None
    if r.get("realism"):
        from infantpose.train.realism import DEFAULT_TEXTURE_DIRS, TEXTURE_SOURCES, Realism

        realism = Realism()
        extra["realism"] = {"texture_files": len(realism.files), "texture_dirs": list(DEFAULT_TEXTURE_DIRS),
                            "sources": TEXTURE_SOURCES}  # fmt: skip
        if not realism.files:
            print("warning: no texture photos found (apt-get install gnome-backgrounds plasma-workspace-wallpapers):"
                  " realism uses procedural textures only")  # fmt: skip
    if stage == "pose2d":
        train_set = D.Pose2DDataset(train_s, params, augment=True, seed=seed, realism=realism)
        loss_fn, validate = losses.heatmap_loss, _validate_pose(val_s, params)
        cfg = replace(cfg, metric="pckh@1", mode="max")
    elif stage == "detector" and not params.whole_frame:
        train_set = D.DetectorDataset(train_s, params, augment=True, seed=seed, realism=realism)
        loss_fn, validate = losses.detector_loss, _validate_detector(val_s, params)
        cfg = replace(cfg, metric="iou", mode="max")
    elif stage == "detector":
        train_set = D.WholeFrameDetectionDataset(train_s, augment=True, seed=seed)
        loss_fn, validate = losses.detection_model_loss, _validate_detector(val_s, params)
        cfg = replace(cfg, metric="iou", mode="max")
        collate = D.collate_lists
    elif stage == "lifter":
        # The window is the network's own receptive field: one number, never a second constant to keep in step.
        params["window"] = int(build_model(r["arch"], **r["model"]).receptive_field)
        train_set, validate, params = _lifter_data(r, params, train_s, val_s, init, pose2d, out, seed, bank)
        loss_fn = losses.lifter_loss
        cfg = replace(cfg, metric="mpjpe_mm", mode="min")
        if pose2d is not None:
            extra["finetuned_on"] = str(pose2d)
    else:
        raise InfantposeError(f"unknown stage {stage!r}; choose detector, pose2d or lifter")
    torch.manual_seed(seed)  # initial weights are part of the run's reproducibility
    model = build_model(r["arch"], **r["model"])
    if not pretrained and r.get("pretrained"):
        extra["trunk_init"] = "random (--from-scratch)"
    elif r.get("pretrained") == "imagenet" and init is None and not resume:
        from infantpose.train.models.efficientnet_lite import load_imagenet

        trunk = model.pretrained_trunk() if hasattr(model, "pretrained_trunk") else None
        if trunk is None:
            raise InfantposeError(f"recipe {recipe!r}: {r['arch']} has no ImageNet-initialisable trunk")
        extra["trunk_init"] = load_imagenet(trunk)
        print(f"trunk init: {extra['trunk_init']}")
    if init is not None and not resume:
        extra["init"] = {"path": str(init), "tensors": init_weights(model, init)}
    info = {"stage": stage, "arch": r["arch"], "model_kwargs": r["model"], "params": params, **extra}
    return fit(model, train_set, loss_fn, validate, cfg, info, collate=collate)


# 2D architectures whose recipes use a real-photo network as it is, with a fitted joint regressor.
PRETRAINED_AS_IS = ("blazepose", "movenet")


def _pretrained_pose(name: str) -> tuple[torch.nn.Module, dict[str, Any], tuple[str, ...], dict[str, str]]:
    """A recipe's ``pretrained`` 2D network: (model, its kwargs, its channel names, where it came from)."""
    if name == "blazepose":
        from infantpose.skeleton import BLAZEPOSE_CHANNELS
        from infantpose.train.models import blazepose

        model, kwargs = blazepose.build_pretrained()
        return model, kwargs, BLAZEPOSE_CHANNELS, blazepose.SOURCE
    if name.startswith("movenet-"):
        from infantpose.skeleton import COCO_KEYPOINTS
        from infantpose.train.models import movenet

        variant = name.removeprefix("movenet-")
        model, kwargs = movenet.build_pretrained(variant)
        source = {**movenet.SOURCE, "file": movenet.SOURCE["file"].format(variant=variant)}
        return model, kwargs, COCO_KEYPOINTS, source
    raise InfantposeError(f"unknown pretrained 2D network {name!r}")


def _fit_pretrained_pose(
    r: dict, params: PoseParams, train_s: list, val_s: list, out: Path, extra: dict[str, Any]
) -> dict[str, Any]:
    """A pretrained 2D recipe (BlazePose, MoveNet): the network as it is, plus a fitted joint regressor
    (no gradient steps).

    Fine-tuning on renders is what made earlier models learn the renderer; here only the
    regressor for the MPII joints the network lacks is learnt from the synthetic frames.
    """
    import json
    import time

    from infantpose.train.checkpoint import atomic_save, make_checkpoint
    from infantpose.train.regressor import fit_regressor

    t0 = time.perf_counter()
    model, kwargs, channels, source = _pretrained_pose(r["pretrained"])
    fit_s = _spread(train_s, int(r.get("fit_frames", 2000)))
    raw = PoseStage(TorchBackend(model, params), params)  # no regressor yet: the heatmap joints
    cache = ImageCache()
    preds = []
    for i in range(0, len(fit_s), 32):
        preds.append(_pose_on_samples(raw, fit_s[i : i + 32], cache))
        print(f"[pose2d] landmarks on training frames {min(i + 32, len(fit_s))}/{len(fit_s)}", end="\r", flush=True)
    print()
    boxes = np.stack([s.box for s in fit_s])
    scale = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    res = fit_regressor(
        np.concatenate(preds), np.stack([s.joints2d for s in fit_s]), np.stack([s.visible for s in fit_s]),
        scale, channels,
    )  # fmt: skip
    params = replace(params, heatmap_joints=tuple(channels),
                     joint_regressor=tuple(tuple(row) for row in res.regressor.round(6).tolist()))  # fmt: skip
    val_s = _spread(val_s, int(r.get("val_frames", VAL_LIMIT)))  # six passes per frame (upright search)
    metrics = {"epoch": 0, **_validate_pose(val_s, params)(model), "seconds": time.perf_counter() - t0}
    fit_info = {"frames": res.frames, "rms_prior": res.error_prior, "rms_fitted": res.error_fitted}
    print(f"[pose2d] regressor fit (rms in box diagonals): {json.dumps(fit_info)}")
    print("[pose2d] " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
    ckpt = make_checkpoint("pose2d", r["arch"], kwargs, params, model, metrics=metrics, epoch=0,
                           pretrained=source, regressor_fit=fit_info, **extra)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    atomic_save(ckpt, out / "best.pt")
    atomic_save(ckpt, out / "last.pt")
    with open(out / "log.jsonl", "a") as f:
        f.write(json.dumps(metrics) + "\n")
    return {"best": metrics["pckh@1"], "metric": "pckh@1", "history": [metrics]}


def _pose_on_samples(stage: Any, samples: list, cache: Any) -> np.ndarray:
    """(N, J, 2) px of the 2D stage on crops around samples' ground-truth poses.

    Each crop is the one the runtime tracks with: the box the stage builds from a pose
    (:meth:`PoseStage.pose_boxes`), here the ground truth's, turned upright by the ground truth
    for networks that need it; one pass per frame instead of the runtime's search.
    """
    gt = np.stack([s.joints2d for s in samples])
    rot = upright_angle(gt) if stage.params.upright else np.zeros(len(samples))
    return stage([cache(s.image) for s in samples], stage.pose_boxes(gt, rot), rot, refine=False)[0]


def _validate_pose(val_s: list, params: PoseParams) -> Any:
    gt = np.stack([s.joints2d for s in val_s])
    vis = np.stack([s.visible for s in val_s])
    thr = np.array([s.pckh_2d if s.pckh_2d else np.nan for s in val_s])
    boxes = np.stack([s.box for s in val_s])
    cache = ImageCache()

    def validate(model: torch.nn.Module) -> dict[str, float]:
        stage = PoseStage(TorchBackend(model, params, next(model.parameters()).device), params)
        kp = np.concatenate(
            [stage([cache(s.image) for s in val_s[i : i + 32]], boxes[i : i + 32])[0] for i in range(0, len(val_s), 32)]
        )
        res = evaluate_2d(kp, gt, vis, thr, Protocol.STANDARD)
        return {"pckh@1": res["pckh@1"], "pckh@2": res["pckh@2"], "error_px": res["error_px"]}

    return validate


def _validate_detector(val_s: list, params: DetectorParams) -> Any:
    gt = np.stack([s.box for s in val_s])
    cache = ImageCache()

    def validate(model: torch.nn.Module) -> dict[str, float]:
        stage = DetectorStage(TorchBackend(model, params, next(model.parameters()).device), params)
        boxes = np.concatenate(
            [stage([cache(s.image) for s in val_s[i : i + 32]])[0] for i in range(0, len(val_s), 32)]
        )
        return {"iou": float(box_iou(boxes, gt).mean())}

    return validate


def _lifter_data(
    r: dict,
    params: dict[str, Any],
    train_s: list,
    val_s: list,
    init: Path | None,
    pose2d: Path | None,
    out: Path,
    seed: int,
    bank_size: tuple[int, int, int] | None,
) -> tuple[Any, Any, LifterParams]:
    seqs = D.lifter_sequences(train_s)
    val_seqs = D.lifter_sequences(val_s)
    bank = [] if bank_size is None else _pose_bank_sequences(out, *bank_size)
    norm = params.get("input_norm", "pixels")
    if init is not None:  # fine-tuning keeps the pre-trained normalisation
        ck = torch.load(init, map_location="cpu", weights_only=True)
        if isinstance(ck, dict) and "mean_2d" in ck.get("params", {}):
            norm = ck["params"].get("input_norm", "pixels")
            stats = {k: ck["params"][k] for k in ("mean_2d", "std_2d", "mean_3d", "std_3d")}
        else:
            stats = D.normalisation_stats(seqs, norm)
    else:
        stats = D.normalisation_stats(seqs, norm)
    params = {**params, **stats, "input_norm": norm, "units": "mm", "root": MPII.root, "joint_set": MPII.name}
    params = parse_params("lifter", params, f"recipe {r['arch']}")
    window = params.window
    inputs = None
    if pose2d is not None:
        import hashlib

        key = hashlib.sha1(
            f"{pose2d.resolve()}:{pose2d.stat().st_mtime_ns}:{VOTE_PRIOR}:{VOTE_BACK}:{VOTE_WINDOW}".encode()
        )
        key.update("|".join(sorted({f"{s.sequence}" for s in train_s})).encode())
        # Shared by every lifter fine-tuned on the same 2D network and data.
        inputs = predicted_2d(pose2d, train_s, pose2d.parent / f"pred2d_{key.hexdigest()[:12]}.npz")
        if load_checkpoint(pose2d)["params"].view == "front":
            # A 2D stage that assumes a front view labels a prone infant's sides the other way round:
            # its 2D cannot match that infant's 3D, so those sequences would teach the lifter noise.
            kept = [s for s in seqs if back_view_share(s.kp2d) <= MAX_BACK_VIEW]
            print(f"[lifter] the 2D stage assumes a front view: {len(seqs) - len(kept)} of {len(seqs)} training "
                  f"sequences seen mostly from behind are left out")  # fmt: skip
            seqs = kept
        # Fine-tuning on the 2D network's output is judged on its output for the validation frames too:
        # on ground-truth 2D the best epoch would be the one that moved least from the pre-trained model.
        val_key = hashlib.sha1(
            key.hexdigest().encode() + b"|val|" + ",".join(sorted({s.sequence for s in val_s})).encode()
        )
        val_inputs = predicted_2d(pose2d, val_s, pose2d.parent / f"pred2d_val_{val_key.hexdigest()[:12]}.npz")
        val_seqs = [replace(s, kp2d=val_inputs[s.name]) for s in val_seqs]
    if bank and inputs is not None:
        # The bank has no pixels: its 2D is the ground truth, which a 2D network misses systematically (its
        # joint conventions: BlazePose's hips sit elsewhere than the skeleton's). Mixed in unmoved it would
        # teach two conventions at once; moved by the mean offset measured on the training renders, the bank
        # keeps its many body sizes through fine-tuning (on the renders alone the lifter forgets them).
        rendered = [s for s in seqs if s.name in inputs]
        offset = D.convention_offset(np.concatenate([s.kp2d for s in rendered]),
                                     np.concatenate([inputs[s.name] for s in rendered]))  # fmt: skip
        print(f"[lifter] pose bank 2D moved to the 2D stage's convention (mean |offset| {np.abs(offset).mean():.4f} "
              f"of the pose's size, from {sum(len(s.kp2d) for s in rendered)} rendered frames)")  # fmt: skip
        bank = [replace(b, kp2d=D.to_convention(b.kp2d, offset)) for b in bank]
    if bank:
        print(f"[lifter] pose bank: {len(bank)} pose-only synthetic infants x {len(bank[0].kp2d)} frames")
        seqs = seqs + bank
    train_set = D.LifterDataset(seqs, stats, window, augment=True, noise_px=r.get("noise_px", 0.0), seed=seed,
                                inputs_2d=inputs, norm=norm, root=MPII.root,
                                track_starts=r.get("track_starts", 0.0),
                                convention_jitter=r.get("convention_jitter", 0.0))  # fmt: skip

    def validate(model: torch.nn.Module) -> dict[str, float]:
        stage = LifterStage(TorchBackend(model, params, next(model.parameters()).device), params)
        preds, gts, thr = [], [], []
        for s in val_seqs:
            preds.append(stage(sequence_input(s.kp2d, params)))
            gts.append(s.kp3d)
        thr = np.concatenate([[v.pckh_3d or np.nan] for v in val_s])
        res = evaluate_3d(np.concatenate(preds), np.concatenate(gts), np.nanmean(thr), MPII.root, Protocol.STANDARD)
        return {"mpjpe_mm": res["mpjpe_mm"], "pa_mpjpe_mm": res["pa_mpjpe_mm"], "pckh@1": res["pckh@1"]}

    return train_set, validate, params


def _pose_bank_size(r: dict) -> tuple[int, int, int] | None:
    """(infants, frames, wide_every) of the recipe's pose bank (``pose_bank``, ``pose_bank_frames``,
    ``pose_bank_wide_every``), None without one."""
    infants = int(r.get("pose_bank") or 0)
    if infants <= 0:
        return None
    return infants, int(r.get("pose_bank_frames", 150)), int(r.get("pose_bank_wide_every", 0))


def _pose_bank_sequences(out: Path, infants: int, frames: int, wide_every: int = 0) -> list[D.Sequence2D3D]:
    """A pose bank of ``infants`` x ``frames`` (every ``wide_every``-th moving more widely) as lifter
    sequences, cached in the run folder ``out``."""
    try:
        from infantpose.synth.poses import cached_pose_bank
    except ImportError as e:  # the synth extra
        raise InfantposeError(f"the pose bank needs the synth extra (pip install '.[synth]'): {e}") from None
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"pose bank: {infants} infants", total=infants)
        bank = cached_pose_bank(
            out, infants, frames, POSE_BANK_SEED, lambda i, n: bar.update(task, completed=i), wide_every
        )
    return [D.Sequence2D3D(k, v[0], v[1] - v[1][:, MPII.root : MPII.root + 1]) for k, v in sorted(bank.items())]


# Not a data seed (2026, 7777, 4242): the bank's infants are none of the rendered ones.
POSE_BANK_SEED = 31


# Training sequences with more back-view frames than this are left out of lifter fine-tuning on a
# front-view 2D stage (see posture.front_view).
MAX_BACK_VIEW = 0.2


def predicted_2d(pose2d: Path, samples: list, cache_file: Path) -> dict[str, np.ndarray]:
    """The 2D network's keypoints (ground-truth boxes) per sequence, cached in ``cache_file``."""
    if cache_file.is_file():
        with np.load(cache_file) as z:
            return {k: z[k] for k in z.files}
    ck = load_checkpoint(pose2d)
    if ck["stage"] != "pose2d":
        raise InfantposeError(f"{pose2d}: is a {ck['stage']} checkpoint, not pose2d")
    stage = stage_from_checkpoint(ck)
    cache = ImageCache()
    groups: dict[str, list] = {}
    for s in samples:
        groups.setdefault(s.sequence, []).append(s)
    out = {}
    for name, ss in groups.items():
        ss.sort(key=lambda s: s.frame)
        kps = []
        for i in range(0, len(ss), 32):
            kps.append(_pose_on_samples(stage, ss[i : i + 32], cache))
            cache.clear()
        kp = np.concatenate(kps)
        if ck["params"].view == "auto":  # the runtime's vote over the recording, frame by frame
            kp = vote_recording(kp, np.ones(kp.shape[:2]))[0]
        out[name] = kp
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, **out)
    return out
