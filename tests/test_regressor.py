"""Joint regressor: fitting landmark -> MPII rows, and applying them (numpy only)."""

import numpy as np
import pytest

from infantpose.heatmaps import apply_joint_regressor
from infantpose.skeleton import BLAZEPOSE_CHANNELS, BLAZEPOSE_DERIVED_PRIOR, BLAZEPOSE_TO_MPII, MPII
from infantpose.train.regressor import fit_regressor, prior_regressor

C = BLAZEPOSE_CHANNELS


def test_apply_joint_regressor_by_hand():
    coords = np.array([[[0.0, 0.0], [10.0, 20.0], [4.0, 4.0]]])
    conf = np.array([[1.0, 0.5, 0.0]], np.float32)
    r = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.5, -0.5, 0.0]])
    kp, c = apply_joint_regressor(coords, conf, r)
    np.testing.assert_allclose(kp[0], [[0, 0], [5, 10], [-5, -10]])
    np.testing.assert_allclose(c[0], [1.0, 0.75, 0.875])  # |w|-weighted: (1.5*1 + 0.5*0.5) / 2
    assert apply_joint_regressor(coords, conf, None)[0] is coords
    with pytest.raises(ValueError, match="heatmap joints"):
        apply_joint_regressor(coords, conf, np.ones((2, 4)) / 4)


def test_prior_rows_are_one_hot_or_the_prior_and_sum_to_one():
    r = prior_regressor(C)
    np.testing.assert_allclose(r.sum(1), 1.0)
    for name, src in BLAZEPOSE_TO_MPII.items():
        assert r[MPII.index(name), C.index(src)] == 1.0
    assert set(BLAZEPOSE_TO_MPII) | set(BLAZEPOSE_DERIVED_PRIOR) == set(MPII.joints)


def test_fit_recovers_a_known_combination_and_commutes_with_similarity():
    rng = np.random.default_rng(0)
    n = 400
    pred = rng.uniform(100, 300, (n, len(C), 2))
    truth = prior_regressor(C)
    j = MPII.index("upper_neck")
    truth[j] = 0
    truth[j, C.index("left_shoulder")] = truth[j, C.index("right_shoulder")] = 0.4
    truth[j, C.index("left_ear")] = truth[j, C.index("right_ear")] = 0.1
    gt = np.einsum("jc,ncd->njd", truth, pred) + rng.normal(0, 0.2, (n, 16, 2))
    fit = fit_regressor(pred, gt, np.ones((n, 16), bool), np.full(n, 200.0), C, ridge=1e-6)
    np.testing.assert_allclose(fit.regressor.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(fit.regressor[j], truth[j], atol=0.02)
    assert fit.error_fitted["upper_neck"] < 0.1 * fit.error_prior["upper_neck"]
    assert fit.frames["upper_neck"] == n
    # rows summing to 1: scaling and shifting the image moves the output the same way
    kp, _ = apply_joint_regressor(pred[:3], np.ones((3, len(C)), np.float32), fit.regressor)
    kp2, _ = apply_joint_regressor(2 * pred[:3] + 7, np.ones((3, len(C)), np.float32), fit.regressor)
    np.testing.assert_allclose(kp2, 2 * kp + 7, atol=1e-9)


def test_fit_drops_failed_frames_and_keeps_the_prior_without_data():
    rng = np.random.default_rng(1)
    n = 50
    pred = rng.uniform(100, 300, (n, len(C), 2))
    gt = np.einsum("jc,ncd->njd", prior_regressor(C), pred)
    gt[: n // 2] += 150  # the landmark joints miss by far on half the frames: not fitted on
    vis = np.ones((n, 16), bool)
    vis[:, MPII.index("thorax")] = False
    fit = fit_regressor(pred, gt, vis, np.full(n, 100.0), C)
    assert fit.frames["pelvis"] == n // 2
    assert fit.frames["thorax"] == 0
    np.testing.assert_array_equal(fit.regressor[MPII.index("thorax")], prior_regressor(C)[MPII.index("thorax")])
