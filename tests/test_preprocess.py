import numpy as np
import pytest

from infantpose.preprocess import IMAGENET_MEAN, IMAGENET_STD, normalize_image


def _formula(img, mean, std, colour):
    x = (img[..., ::-1] if colour == "RGB" else img).astype(np.float32) * (1.0 / 255.0)
    return ((x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)


@pytest.mark.parametrize("colour", ["RGB", "BGR"])
def test_normalize_lookup_is_bit_identical_to_the_formula(colour):
    img = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    out = normalize_image(img, IMAGENET_MEAN, IMAGENET_STD, colour)
    assert out.shape == (3, 37, 53) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, _formula(img, IMAGENET_MEAN, IMAGENET_STD, colour))
    # Channel order: a pure blue BGR pixel is the last RGB plane's maximum.
    blue = np.zeros((1, 1, 3), np.uint8)
    blue[..., 0] = 255
    assert normalize_image(blue, (0, 0, 0), (1, 1, 1), colour)[2 if colour == "RGB" else 0, 0, 0] == 1.0


def test_normalize_float_input_uses_the_formula():
    img = np.random.default_rng(1).uniform(0, 255, (8, 9, 3)).astype(np.float32)
    np.testing.assert_allclose(normalize_image(img), _formula(img, IMAGENET_MEAN, IMAGENET_STD, "RGB"), rtol=1e-6)


def _upright_lifter(window: int):
    from infantpose.skeleton import MPII
    from infantpose.stages.lifter import LifterParams, LifterStage

    j = MPII.num_joints
    arch = "temporal" if window > 1 else "martinez"
    params = LifterParams(arch, (0.0,) * 2 * j, (1.0,) * 2 * j, (0.0,) * 3 * j, (1.0,) * 3 * j, window=window,
                          input_norm="root_upright", root=MPII.root)  # fmt: skip
    canonical = np.random.default_rng(1).normal(0, 50, (1, 3 * j))  # what the network says, in its frame
    seen = []

    def backend(inputs):
        seen.append(next(iter(inputs.values())).copy())
        out = canonical if window == 1 else canonical[:, :, None]
        return {"kp3d": out}

    return LifterStage(backend, params), seen


@pytest.mark.parametrize("window", [1, 3])
def test_root_upright_input_is_the_same_at_any_camera_roll_and_the_3d_rolls_with_it(window):
    """Turning the frame about any point (a roll of the camera, then a shift) leaves the lifter's input
    as it was, and the 3D comes out turned about the camera axis by the same angle."""
    from infantpose.preprocess import turn_about_camera_axis, upright_turn
    from infantpose.skeleton import MPII

    rng = np.random.default_rng(0)
    kp = rng.uniform(100, 400, (window, MPII.num_joints, 2))
    for name, y in (("l_shoulder", 100), ("r_shoulder", 100), ("l_hip", 300), ("r_hip", 300)):
        kp[:, MPII.index(name), 1] = y + rng.normal(0, 5, window)  # a body lying head up, more or less
    stage, seen = _upright_lifter(window)
    first = kp if window > 1 else kp[0]
    out = stage(first[None])
    for angle in (0.7, 2.0, -2.9):
        turned = turn_about_camera_axis(kp - np.array([320.0, 240.0]), angle) + np.array([333.0, 250.0])
        out_turned = stage((turned if window > 1 else turned[0])[None])
        np.testing.assert_allclose(seen[-1], seen[0], atol=1e-5)
        np.testing.assert_allclose(out_turned, turn_about_camera_axis(out, angle), atol=1e-9)
        np.testing.assert_allclose(upright_turn(turned[-1]), np.angle(np.exp(1j * (upright_turn(kp[-1]) - angle))))
