import numpy as np
import pytest

from infantpose import geometry as g


def test_projection_round_trip_and_known_value():
    k = g.MINI_RGBD_INTRINSICS
    # A point on the optical axis projects to the principal point.
    np.testing.assert_allclose(g.project(np.array([0.0, 0.0, 1.0]), k), [k.cx, k.cy])
    # X = 0.1 m at Z = 0.5 m: u = fx * 0.2 + cx.
    np.testing.assert_allclose(g.project(np.array([0.1, 0.0, 0.5]), k), [k.fx * 0.2 + k.cx, k.cy])
    rng = np.random.default_rng(0)
    pts = rng.uniform([-0.3, -0.3, 0.6], [0.3, 0.3, 1.2], size=(50, 3))
    back = g.back_project(g.project(pts, k), pts[:, 2], k)
    np.testing.assert_allclose(back, pts, atol=1e-12)


def test_box_to_center_scale_by_hand():
    # 100 x 50 box, aspect 1: grows to 100 x 100, padding 1.25 -> 125 px = 0.625 units.
    c, s = g.box_to_center_scale(np.array([10, 20, 110, 70]), aspect_ratio=1.0, padding=1.25)
    np.testing.assert_allclose(c, [60, 45])
    np.testing.assert_allclose(s, [0.625, 0.625])
    # Aspect 0.75 (w/h): 100 x 50 -> w wins: h = 100/0.75.
    c, s = g.box_to_center_scale(np.array([0, 0, 100, 50]), aspect_ratio=0.75, padding=1.0)
    np.testing.assert_allclose(s * 200, [100, 100 / 0.75])
    np.testing.assert_allclose(g.center_scale_to_box([60, 45], [0.5, 0.25]), [10, 20, 110, 70])


def test_box_from_points_margin_and_clip():
    box = g.box_from_points(np.array([[10, 10], [110, 60]]), margin=0.1)
    np.testing.assert_allclose(box, [0, 5, 120, 65])
    box = g.box_from_points(np.array([[0, 0], [100, 100]]), margin=0.5, image_size=(120, 90))
    np.testing.assert_allclose(box, [0, 0, 119, 89])
    with pytest.raises(ValueError):
        g.box_from_points(np.zeros((0, 2)))


def test_crop_affine_known_points():
    # A 200 px square around (300, 200) into 100 x 100: centre -> (50, 50), corner -> (0, 0).
    m = g.crop_affine(np.array([300.0, 200.0]), np.array([1.0, 1.0]), 0.0, (100, 100))
    np.testing.assert_allclose(g.apply_affine(np.array([[300, 200], [200, 100]]), m), [[50, 50], [0, 0]])
    # 90 degrees counter-clockwise: a point right of the centre ends above it.
    m = g.crop_affine(np.array([300.0, 200.0]), np.array([1.0, 1.0]), 90.0, (100, 100))
    np.testing.assert_allclose(g.apply_affine(np.array([[400.0, 200.0]]), m), [[50, 0]], atol=1e-9)


def test_crop_affine_round_trip_below_1e3_px():
    rng = np.random.default_rng(1)
    for _ in range(20):
        center = rng.uniform(100, 500, 2)
        scale = rng.uniform(0.3, 2.0, 2)
        rot = rng.uniform(-45, 45)
        size = (int(rng.integers(64, 300)), int(rng.integers(64, 300)))
        pts = rng.uniform(0, 640, (30, 2))
        fwd = g.crop_affine(center, scale, rot, size)
        inv = g.crop_affine(center, scale, rot, size, inverse=True)
        back = g.apply_affine(g.apply_affine(pts, fwd), inv)
        assert np.abs(back - pts).max() < 1e-3


def test_warp_moves_a_dot_where_the_affine_says():
    img = np.zeros((480, 640, 3), np.uint8)
    img[240, 400] = 255
    center, scale = np.array([320.0, 240.0]), np.array([1.28, 1.28])
    crop = g.warp_image(img, g.crop_affine(center, scale, 30.0, (128, 128)), (128, 128))
    assert crop.shape == (128, 128, 3)
    expected = g.apply_affine(np.array([[400.0, 240.0]]), g.crop_affine(center, scale, 30.0, (128, 128)))
    y, x = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert np.hypot(x - expected[0, 0], y - expected[0, 1]) <= 1.0


def test_a_strong_shrink_averages_the_image_and_ignores_its_resolution():
    """Below MIN_WARP_SCALE the warp reads an area-averaged copy: a blob lands where the affine says, a
    frame and its x3 copy give the same input, and fine noise is averaged instead of point-sampled."""
    import cv2

    rng = np.random.default_rng(0)
    img = np.zeros((480, 640, 3), np.uint8)
    cv2.circle(img, (400, 240), 12, (255, 255, 255), -1)
    a = g.crop_affine(np.array([320.0, 240.0]), np.array([3.2, 3.2]), 30.0, (64, 64))  # scale 0.1
    out = g.warp_image(img, a, (64, 64)).astype(float)[..., 0]
    ys, xs = np.mgrid[:64, :64]
    centroid = np.array([(xs * out).sum(), (ys * out).sum()]) / out.sum()
    assert np.hypot(*(centroid - g.apply_affine(np.array([400.0, 240.0]), a))) < 0.5
    big = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_LINEAR)
    a3 = a @ np.diag([1 / 3, 1 / 3, 1.0])  # the same crop of the x3 frame: its pixel P is (P - 1) / 3 here
    a3[:, 2] -= a[:, :2] @ np.array([1 / 3, 1 / 3])
    out3 = g.warp_image(big, a3, (64, 64)).astype(float)[..., 0]
    assert np.abs(out3 - out).mean() < 2.0
    noisy = np.clip(big + rng.normal(0, 40, big.shape), 0, 255).astype(np.uint8)
    assert np.abs(g.warp_image(noisy, a3, (64, 64)).astype(float)[..., 0] - out3).std() < 8  # point sampling: ~40
    mild = g.crop_affine(np.array([320.0, 240.0]), np.array([1.28, 1.28]), 0.0, (128, 128))  # scale 0.5
    np.testing.assert_array_equal(g.warp_image(img, mild, (128, 128)), cv2.warpAffine(img, mild, (128, 128)))
