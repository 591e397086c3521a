"""Fit a linear joint regressor: heatmap joints of a pretrained 2D network -> MPII joints.

A pretrained network (BlazePose) predicts landmarks that are not our joints. MPII joints
that are one of its landmarks get a one-hot row; the others (pelvis, thorax, upper neck)
are a weighted sum of landmarks, fitted on training frames by ridge regression towards a
geometric prior, with the weights constrained to sum to 1 (so the map commutes with
translating and scaling the image). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infantpose.skeleton import BLAZEPOSE_DERIVED_PRIOR, BLAZEPOSE_TO_MPII, MPII


@dataclass(frozen=True)
class RegressorFit:
    """The fitted (J, C) regressor and what the fit saw (errors in units of frame scale)."""

    regressor: np.ndarray
    frames: dict[str, int]
    error_prior: dict[str, float]
    error_fitted: dict[str, float]


def prior_regressor(channels: tuple[str, ...]) -> np.ndarray:
    """(16, C): one-hot rows for MPII joints that are landmarks, the geometric prior for the rest."""
    r = np.zeros((MPII.num_joints, len(channels)))
    for j, name in enumerate(MPII.joints):
        if name in BLAZEPOSE_TO_MPII:
            r[j, channels.index(BLAZEPOSE_TO_MPII[name])] = 1.0
        else:  # the prior's points the network has, weights renormalised (MoveNet has no mouth corners)
            have = {src: w for src, w in BLAZEPOSE_DERIVED_PRIOR[name].items() if src in channels}
            for src, w in have.items():
                r[j, channels.index(src)] = w / sum(have.values())
    return r


def _solve(a: np.ndarray, b: np.ndarray, w0: np.ndarray, ridge: float) -> np.ndarray:
    """argmin ||A w - b||^2 + ridge * n * ||w - w0||^2 subject to sum(w) = 1 (KKT system)."""
    c = a.shape[1]
    lam = ridge * len(b)
    kkt = np.zeros((c + 1, c + 1))
    kkt[:c, :c] = 2 * (a.T @ a + lam * np.eye(c))
    kkt[:c, c] = kkt[c, :c] = 1.0
    rhs = np.concatenate([2 * (a.T @ b + lam * w0), [1.0]])
    return np.linalg.solve(kkt, rhs)[:c]


def fit_regressor(
    pred: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray,
    scale: np.ndarray,
    channels: tuple[str, ...],
    ridge: float = 0.01,
    inlier: float = 0.25,
) -> RegressorFit:
    """Fit the rows of the MPII joints that are not landmarks.

    Args:
        pred: (N, C, 2) px, the network's decoded heatmap joints on training frames.
        gt: (N, 16, 2) px MPII ground truth; visible: (N, 16) bool.
        scale: (N,) px, a per-frame size (e.g. the box diagonal) that makes errors comparable.
        channels: the C landmark names of ``pred``'s axis 1.
        ridge: pull towards the prior, relative to the mean squared residual per frame.
        inlier: frames whose landmark joints miss the truth by more than this fraction of
            ``scale`` (median over joints) are left out: a failed detection teaches nothing.
    """
    r = prior_regressor(channels)
    s = np.asarray(scale, np.float64)[:, None, None]
    direct = [MPII.index(n) for n in BLAZEPOSE_TO_MPII]
    mapped = np.einsum("jc,ncd->njd", r, pred)
    miss = np.linalg.norm(mapped[:, direct] - gt[:, direct], axis=-1) / s[:, :, 0]
    ok = np.nanmedian(miss, axis=1) < inlier
    frames, before, after = {}, {}, {}
    for name in BLAZEPOSE_DERIVED_PRIOR:
        j = MPII.index(name)
        use = ok & visible[:, j]
        frames[name] = int(use.sum())
        w0 = r[j].copy()
        if use.sum() < 10:  # too little to fit: keep the prior
            before[name] = after[name] = float("nan")
            continue
        centre = (pred[use] * w0[None, :, None]).sum(1, keepdims=True)  # the prior's prediction
        a = ((pred[use] - centre) / s[use]).transpose(0, 2, 1).reshape(-1, len(channels))  # (2n, C)
        b = ((gt[use, j][:, None] - centre) / s[use]).reshape(-1)
        w = _solve(a, b, w0, ridge)
        before[name] = float(np.sqrt(((a @ w0 - b) ** 2).mean()))
        after[name] = float(np.sqrt(((a @ w - b) ** 2).mean()))
        r[j] = w
    return RegressorFit(r, frames, before, after)
