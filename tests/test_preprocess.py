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
