"""Training-time realism (torch-free numpy/OpenCV): determinism, what each step may touch, textures."""

import cv2
import numpy as np

from infantpose.skeleton import MPII
from infantpose.train.realism import Realism, find_texture_files, procedural_texture, sensor


def _frame():
    img = np.full((120, 160, 3), 90, np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    cv2.rectangle(img, (50, 20), (110, 100), (180, 150, 130), -1)
    mask[20:101, 50:111] = 255
    rng = np.random.default_rng(3)
    joints = np.stack([rng.uniform(55, 105, MPII.num_joints), rng.uniform(25, 95, MPII.num_joints)], axis=1)
    return img, mask, joints


def _textures(tmp_path):
    d = tmp_path / "tex"
    (d / "Kay" / "contents" / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, size in (("640x480.jpg", (48, 64)), ("1920x1080.jpg", (108, 192))):
        cv2.imwrite(str(d / "Kay" / "contents" / "images" / name), rng.integers(0, 255, (*size, 3), np.uint8))
    cv2.imwrite(str(d / "photo.png"), rng.integers(0, 255, (50, 70, 3), np.uint8))
    (d / "notes.txt").write_text("not an image")
    return d


def test_texture_files_one_per_wallpaper_folder(tmp_path):
    files = find_texture_files([_textures(tmp_path), tmp_path / "missing"])
    assert [f.name for f in files] == ["1920x1080.jpg", "photo.png"]  # the largest of Kay's sizes


def test_same_generator_same_image(tmp_path):
    img, mask, joints = _frame()
    real = Realism([_textures(tmp_path)])
    a = real.scene(img, mask, joints, np.random.default_rng([1, 2]))
    b = real.scene(img, mask, joints, np.random.default_rng([1, 2]))
    assert np.array_equal(a, b) and a.shape == img.shape and a.dtype == np.uint8


def test_background_keeps_the_body_and_replaces_the_rest(tmp_path):
    img, mask, _ = _frame()
    out = Realism([_textures(tmp_path)]).background(img, mask, np.random.default_rng(0))
    inner = (slice(25, 95), slice(55, 105))  # away from the softened silhouette edge
    assert np.abs(out[inner].astype(int) - img[inner]).max() <= 2
    assert np.abs(out[:10].astype(int) - img[:10]).mean() > 5


def test_garment_only_paints_inside_the_mask(tmp_path):
    img, mask, joints = _frame()
    out = Realism([_textures(tmp_path)]).garment(img, mask, joints, np.random.default_rng(4))
    outside = cv2.dilate(mask, np.ones((11, 11), np.uint8)) == 0  # past the 1 px soft edge
    assert np.array_equal(out[outside], img[outside])
    assert np.abs(out[mask > 0].astype(int) - img[mask > 0]).mean() > 1


def test_without_photos_procedural_textures_stand_in(tmp_path):
    real = Realism([tmp_path / "none"])
    assert real.files == ()
    tex = real.texture(np.random.default_rng(0), (64, 48))
    assert tex.shape == (48, 64, 3) and tex.dtype == np.uint8
    assert procedural_texture(np.random.default_rng(1), (32, 16)).shape == (16, 32, 3)


def test_negative_and_sensor_shapes(tmp_path):
    real = Realism([_textures(tmp_path)])
    neg = real.negative((160, 128), np.random.default_rng(0))
    assert neg.shape == (128, 160, 3) and neg.dtype == np.uint8
    img, _, _ = _frame()
    for seed in range(10):
        out = sensor(img, np.random.default_rng(seed))
        assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(sensor(img, np.random.default_rng(0), strength=0.0), img)
