"""Lifter training: 2D -> 3D sequences from the renders (their ground-truth 2D, or a 2D network's
output when fine-tuning behind it), optionally with a bank of pose-only synthetic infants; validated
by MPJPE through the runtime's lifter stage."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from infantpose.errors import InfantposeError
from infantpose.fileio import ImageCache
from infantpose.metrics import Protocol, evaluate_3d
from infantpose.posture import VOTE_BACK, VOTE_PRIOR, VOTE_WINDOW, back_view_share, vote_recording
from infantpose.skeleton import MPII
from infantpose.stages import parse_params
from infantpose.stages.lifter import LifterParams, LifterStage, sequence_input
from infantpose.train import data as D
from infantpose.train import losses
from infantpose.train.checkpoint import load_checkpoint
from infantpose.train.recipes import Recipe
from infantpose.train.tasks import Context, Setup, model_loss
from infantpose.train.tasks.pose2d import on_samples
from infantpose.train.torch_backend import TorchBackend, stage_from_checkpoint

# Not a data seed (2026, 7777, 4242): the bank's infants are none of the rendered ones.
POSE_BANK_SEED = 31

# Training sequences with more back-view frames than this are left out of lifter fine-tuning on a
# front-view 2D stage (see posture.front_view).
MAX_BACK_VIEW = 0.2


def pose_bank_size(r: Recipe, pose2d: Path | None) -> tuple[int, int, int] | None:
    """(infants, frames, wide_every) of the recipe's pose bank, None without one. Fine-tuning on a 2D
    network's output mixes the bank in only where the recipe says so (``finetune_bank``)."""
    if r.pose_bank <= 0 or (pose2d is not None and not r.finetune_bank):
        return None
    return r.pose_bank, r.pose_bank_frames, r.pose_bank_wide_every


def setup(ctx: Context) -> Setup:
    r = ctx.recipe
    # The window is the network's own receptive field: one number, never a second constant to keep in step.
    params = {**ctx.params, "window": int(ctx.model.receptive_field)}
    bank_size = pose_bank_size(r, ctx.pose2d)
    if bank_size is not None:
        ctx.extra["data"]["pose_bank"] = {
            "infants": bank_size[0], "frames": bank_size[1], "wide_every": bank_size[2], "seed": POSE_BANK_SEED,
            "2d": "ground truth" if ctx.pose2d is None else "moved to the 2D stage's convention",
        }  # fmt: skip
    if ctx.pose2d is not None:
        ctx.extra["finetuned_on"] = str(ctx.pose2d)
    seqs = D.lifter_sequences(ctx.train_s)
    val_seqs = D.lifter_sequences(ctx.val_s)
    bank = [] if bank_size is None else pose_bank_sequences(ctx.out, *bank_size)
    norm = params.get("input_norm", "pixels")
    stats = None
    if ctx.init is not None:  # fine-tuning keeps the pre-trained normalisation
        ck = torch.load(ctx.init, map_location="cpu", weights_only=True)
        if isinstance(ck, dict) and "mean_2d" in ck.get("params", {}):
            norm = ck["params"].get("input_norm", "pixels")
            stats = {k: ck["params"][k] for k in ("mean_2d", "std_2d", "mean_3d", "std_3d")}
    if stats is None:
        stats = D.normalisation_stats(seqs, norm)
    params = {**params, **stats, "input_norm": norm, "units": "mm", "root": MPII.root, "joint_set": MPII.name}
    params: LifterParams = parse_params("lifter", params, f"recipe {r.arch}")
    inputs = None
    if ctx.pose2d is not None:
        pose2d = ctx.pose2d
        key = hashlib.sha1(
            f"{pose2d.resolve()}:{pose2d.stat().st_mtime_ns}:{VOTE_PRIOR}:{VOTE_BACK}:{VOTE_WINDOW}".encode()
        )
        key.update("|".join(sorted({f"{s.sequence}" for s in ctx.train_s})).encode())
        # Shared by every lifter fine-tuned on the same 2D network and data.
        inputs = predicted_2d(pose2d, ctx.train_s, pose2d.parent / f"pred2d_{key.hexdigest()[:12]}.npz")
        if load_checkpoint(pose2d, stage="pose2d")["params"].view == "front":
            # A 2D stage that assumes a front view labels a prone infant's sides the other way round:
            # its 2D cannot match that infant's 3D, so those sequences would teach the lifter noise.
            kept = [s for s in seqs if back_view_share(s.kp2d) <= MAX_BACK_VIEW]
            print(f"[lifter] the 2D stage assumes a front view: {len(seqs) - len(kept)} of {len(seqs)} training "
                  f"sequences seen mostly from behind are left out")  # fmt: skip
            seqs = kept
        # Fine-tuning on the 2D network's output is judged on its output for the validation frames too:
        # on ground-truth 2D the best epoch would be the one that moved least from the pre-trained model.
        val_key = hashlib.sha1(
            key.hexdigest().encode() + b"|val|" + ",".join(sorted({s.sequence for s in ctx.val_s})).encode()
        )
        val_inputs = predicted_2d(pose2d, ctx.val_s, pose2d.parent / f"pred2d_val_{val_key.hexdigest()[:12]}.npz")
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
    train_set = D.LifterDataset(seqs, stats, params.window, augment=True, noise_px=r.noise_px, seed=ctx.seed,
                                inputs_2d=inputs, norm=norm, root=MPII.root, track_starts=r.track_starts,
                                convention_jitter=r.convention_jitter)  # fmt: skip
    return Setup(train_set, model_loss(ctx.model, losses.lifter_loss), validate(val_seqs, ctx.val_s, params),
                 "mpjpe_mm", "min", params)  # fmt: skip


def validate(val_seqs: list, val_s: list, params: LifterParams):
    """model -> MPJPE, PA-MPJPE (mm) and PCKh@1 of the lifter stage on the validation sequences."""

    def run(model: torch.nn.Module) -> dict[str, float]:
        stage = LifterStage(TorchBackend(model, params, next(model.parameters()).device), params)
        preds, gts = [], []
        for s in val_seqs:
            preds.append(stage(sequence_input(s.kp2d, params)))
            gts.append(s.kp3d)
        thr = np.concatenate([[v.pckh_3d or np.nan] for v in val_s])
        res = evaluate_3d(np.concatenate(preds), np.concatenate(gts), np.nanmean(thr), MPII.root, Protocol.STANDARD)
        return {"mpjpe_mm": res["mpjpe_mm"], "pa_mpjpe_mm": res["pa_mpjpe_mm"], "pckh@1": res["pckh@1"]}

    return run


def pose_bank_sequences(out: Path, infants: int, frames: int, wide_every: int = 0) -> list[D.Sequence2D3D]:
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


def predicted_2d(pose2d: Path, samples: list, cache_file: Path) -> dict[str, np.ndarray]:
    """The 2D network's keypoints (ground-truth boxes) per sequence, cached in ``cache_file``."""
    if cache_file.is_file():
        with np.load(cache_file) as z:
            return {k: z[k] for k in z.files}
    ck = load_checkpoint(pose2d, stage="pose2d")
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
            kps.append(on_samples(stage, ss[i : i + 32], cache))
            cache.clear()
        kp = np.concatenate(kps)
        if ck["params"].view == "auto":  # the runtime's vote over the recording, frame by frame
            kp = vote_recording(kp, np.ones(kp.shape[:2]))[0]
        out[name] = kp
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, **out)
    return out
