import numpy as np
import pytest

from infantpose import heatmaps as hm


def _maps(points, size=(48, 64), sigma=2.0):
    return hm.gaussian_heatmaps(np.asarray(points, float), np.ones(len(points), bool), size, sigma)


def test_gaussian_target_peak_and_invisible():
    maps = hm.gaussian_heatmaps(np.array([[10.0, 20.0], [5.0, 5.0]]), np.array([True, False]), (48, 64))
    assert maps.shape == (2, 64, 48) and maps.dtype == np.float32
    assert maps[0, 20, 10] == pytest.approx(1.0)
    assert maps[0, 20, 12] == pytest.approx(np.exp(-4 / 8), rel=1e-6)
    assert maps[1].max() == 0.0


@pytest.mark.parametrize("method,tol", [("dark", 0.1), ("quarter", 0.3), ("argmax", 0.5)])
def test_decoding_recovers_subpixel_gaussian(method, tol):
    rng = np.random.default_rng(0)
    pts = rng.uniform(5, 40, size=(12, 2))
    coords, conf = hm.decode_heatmaps(_maps(pts)[None], method=method)
    assert coords.shape == (1, 12, 2) and conf.shape == (1, 12)
    assert np.abs(coords[0] - pts).max() < tol
    assert np.all(conf > 0.7)


def test_dark_falls_back_at_the_border_and_on_flat_maps():
    maps = np.zeros((2, 32, 32), np.float32)
    maps[0, 0, 0] = 1.0  # peak in the corner
    coords, conf = hm.decode_heatmaps(maps, method="dark")
    np.testing.assert_allclose(coords, [[0, 0], [0, 0]])
    np.testing.assert_allclose(conf, [1.0, 0.0])


def test_unknown_decoder_and_bad_shape():
    with pytest.raises(ValueError, match="unknown heatmap decoder"):
        hm.decode_heatmaps(np.zeros((1, 1, 8, 8)), method="soft")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be"):
        hm.decode_heatmaps(np.zeros((8, 8)))


def test_heatmap_image_round_trip():
    pts = np.array([[300.0, 200.0], [350.5, 260.25]])
    center, scale = np.array([320.0, 240.0]), np.array([1.5, 1.5])
    h = hm.image_to_heatmaps(pts, center, scale, (64, 64), rotation=15)
    np.testing.assert_allclose(hm.heatmaps_to_image(h, center, scale, (64, 64), rotation=15), pts, atol=1e-9)
    # 300 px of image map onto 64 heatmap px: the centre is (32, 32).
    np.testing.assert_allclose(hm.image_to_heatmaps(center[None], center, scale, (64, 64)), [[32, 32]])


def test_dark_decodes_a_large_batch_like_single_maps():
    # 20 x 12 = 240 maps: more than OpenCV's 128 channels per blur call, so the stack is chunked.
    rng = np.random.default_rng(3)
    pts = rng.uniform(5, 40, size=(20, 12, 2))
    batch = np.stack([_maps(p) for p in pts])
    coords, _ = hm.decode_heatmaps(batch, method="dark")
    one = np.stack([hm.decode_heatmaps(m, method="dark")[0] for m in batch])
    np.testing.assert_array_equal(coords, one)
    assert np.abs(coords - pts).max() < 0.1


def test_near_tied_peaks_decode_to_the_same_pixel_whatever_the_noise():
    # Two peaks equal to within 1e-6 (the PyTorch / onnxruntime difference) must not swap.
    from infantpose.heatmaps import decode_heatmaps

    hm = np.zeros((1, 1, 16, 16), np.float32)
    hm[0, 0, 4, 4] = hm[0, 0, 10, 12] = 0.8
    for eps in (1e-6, -1e-6, 0.0):
        other = hm.copy()
        other[0, 0, 10, 12] += eps
        coords, _ = decode_heatmaps(other, "argmax")
        assert coords[0, 0].tolist() == [4.0, 4.0]
    clear = hm.copy()
    clear[0, 0, 10, 12] = 0.9  # a real difference still wins
    assert decode_heatmaps(clear, "argmax")[0][0, 0].tolist() == [12.0, 10.0]
