"""Metrics against values worked out by hand (see the comments)."""

import numpy as np
import pytest

from infantpose import metrics as m

# Root 0. After aligning the roots, joint 1 is off by (3, 4, 0) -> 5 mm, joint 2 exact.
GT3 = np.array([[[0.0, 0, 0], [10, 0, 0], [0, 20, 0]]])
PRED3 = GT3 + np.array([1.0, 1.0, 1.0])
PRED3[0, 1] += [3, 4, 0]


def test_3d_errors_root_aligned():
    np.testing.assert_allclose(m.errors_3d(PRED3, GT3, root=0), [[0, 5, 0]])


def test_mpjpe_standard_excludes_root_seed_includes_it():
    e = m.errors_3d(PRED3, GT3, root=0)
    assert m.mean_error(e, "standard", root=0) == pytest.approx(2.5)  # (5 + 0) / 2
    assert m.mean_error(e, "original", root=0) == pytest.approx(5 / 3)  # (0 + 5 + 0) / 3


def test_pckh_zero_quirk():
    e = m.errors_3d(PRED3, GT3, root=0)
    # threshold 4, k=1: standard -> joint 2 (0 <= 4) hits, joint 1 (5) misses: 50 %.
    assert m.pckh(e, 4.0, 1.0, "standard", root=0) == pytest.approx(50.0)
    # seed: a 0 error is a miss, root included: nothing hits.
    assert m.pckh(e, 4.0, 1.0, "original", root=0) == pytest.approx(0.0)
    # k=2 (8 mm): standard 2/2; seed only joint 1 of 3.
    assert m.pckh(e, 4.0, 2.0, "standard", root=0) == pytest.approx(100.0)
    assert m.pckh(e, 4.0, 2.0, "original", root=0) == pytest.approx(100 / 3)


def test_2d_invisible_handling():
    gt = np.array([[[0.0, 0], [10, 10], [20, 20]]])
    pred = np.array([[[3.0, 4], [10, 10], [26, 28]]])
    vis = np.array([[True, True, False]])
    std = m.evaluate_2d(pred, gt, vis, 5.0, "standard")
    assert std["error_px"] == pytest.approx(2.5)  # (5 + 0) / 2, joint 2 left out
    assert std["pckh@1"] == pytest.approx(100.0)
    seed = m.evaluate_2d(pred, gt, vis, 5.0, "original")
    assert seed["error_px"] == pytest.approx(5 / 3)  # invisible zeroed -> 0 error
    assert seed["pckh@1"] == pytest.approx(100 / 3)  # only joint 0 (5 <= 5, > 0)


def test_per_sample_thresholds():
    e = np.array([[1.0, 3.0], [1.0, 3.0]])
    assert m.pckh(e, np.array([2.0, 4.0]), 1.0, "standard") == pytest.approx(75.0)


def test_evaluate_3d_summary():
    out = m.evaluate_3d(PRED3, GT3, 4.0, root=0, protocol="original")
    assert out["protocol"] == "original"
    assert out["mpjpe_mm"] == pytest.approx(5 / 3)
    assert out["per_joint_mm"] == pytest.approx([0, 5, 0])
    with pytest.raises(ValueError, match="unknown protocol"):
        m.evaluate_3d(PRED3, GT3, 4.0, root=0, protocol="coco")


def test_pa_mpjpe_removes_similarity_transform():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 16, 3)) * 100
    a = np.deg2rad(40)
    r = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    pred = 1.7 * gt @ r.T + np.array([5.0, -3.0, 20.0])
    assert m.pa_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-8)
    assert m.pa_mpjpe(pred + rng.normal(size=pred.shape), gt) > 0


def test_box_iou_by_hand():
    iou = m.box_iou(np.array([[0, 0, 10, 10], [0, 0, 10, 10]]), np.array([[5, 5, 15, 15], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [25 / 175, 0.0])


def test_jitter():
    t = np.arange(6, dtype=float)
    quad = (t**2)[:, None, None]  # acceleration 2 every frame
    assert m.mean_acceleration(quad) == pytest.approx(2.0)
    assert m.mean_acceleration((3 * t)[:, None, None]) == pytest.approx(0.0)
    assert m.acceleration_error(quad, np.zeros_like(quad)) == pytest.approx(2.0)
    assert np.isnan(m.mean_acceleration(quad[:2]))
