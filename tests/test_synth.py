"""Synthetic generator: geometry of rendered frames, determinism and resume.

Needs the synth extra (anny, pyrender-maintained) and OSMesa; the first anny
build writes its cache (about a minute), later runs take seconds.
"""

import importlib.util
import json

import cv2
import numpy as np
import pytest

from infantpose.datasets import MiniRGBD
from infantpose.datasets.minirgbd import rgb_path
from infantpose.geometry import project
from infantpose.skeleton import MINI_RGBD

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("anny") is None or importlib.util.find_spec("pyrender") is None,
    reason="the synth extra (anny, pyrender-maintained) is not installed",
)

FRAMES = 4


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from infantpose.synth.generate import generate

    out = tmp_path_factory.mktemp("synth")
    summary = generate(out, sequences=1, frames=FRAMES, seed=7, workers=1, progress=False)
    assert summary["rendered"] == FRAMES
    return out


def test_reader_reads_the_output(dataset):
    ds = MiniRGBD(dataset, split="all")
    assert len(ds) == FRAMES
    card = json.loads((dataset / "dataset.json").read_text())
    assert card["seed"] == 7 and "anny" in card["licence"]
    s = ds[0]
    assert (s.pckh_2d, s.pckh_3d) == (card["sequences"]["01"]["pckh_2d"], card["sequences"]["01"]["pckh_3d"])
    # An infant's neck -> head segment (anny's head bone sits at the skull base).
    assert 20 < s.pckh_3d < 60


def test_projection_mask_and_frame(dataset):
    ds = MiniRGBD(dataset, split="all")
    inside_mask = []
    for s in ds:
        uv = project(s.joints3d / 1000.0, ds.intrinsics)
        assert np.abs(uv - s.joints2d).max() < 0.01
        assert s.visible.all(), "every joint must be inside the image"
        mask = cv2.imread(str(dataset / s.sequence / "fg_mask" / f"mask_{s.frame:05d}.png"), 0)
        ij = np.round(s.joints2d).astype(int)
        inside_mask.extend(mask[ij[:, 1], ij[:, 0]] > 0)
        img = cv2.imread(str(s.image))
        assert img.shape == (480, 640, 3)
    assert np.mean(inside_mask) >= 0.9


def test_left_is_the_subjects_left(dataset):
    ds = MiniRGBD(dataset, split="all")
    pelvis, neck = MINI_RGBD.index("pelvis"), MINI_RGBD.index("neck")
    lhip, rhip = MINI_RGBD.index("leftThigh"), MINI_RGBD.index("rightThigh")
    for s in ds:
        # Rotate the image plane so the infant's head points up, then compare hips.
        up = s.joints2d[neck] - s.joints2d[pelvis]
        ang = np.arctan2(up[0], -up[1])
        c, si = np.cos(ang), np.sin(ang)
        rot = np.array([[c, si], [-si, c]])
        p = (s.joints2d - s.joints2d[pelvis]) @ rot.T
        assert p[neck, 1] < 0 and abs(p[neck, 0]) < 1e-6
        assert p[lhip, 0] > p[rhip, 0]


def test_same_seed_same_frames_and_resume(dataset, tmp_path):
    from infantpose.synth.generate import generate

    seq = dataset / "01"
    victim = rgb_path(seq, 2)
    before = victim.read_bytes()
    joints = (seq / "joints_3D" / "syn_joints_3D_00002.txt").read_text()
    victim.unlink()
    summary = generate(dataset, sequences=1, frames=FRAMES, seed=7, workers=1, resume=True, progress=False)
    assert summary["rendered"] == 1  # only the missing frame
    assert victim.read_bytes() == before
    assert (seq / "joints_3D" / "syn_joints_3D_00002.txt").read_text() == joints
    assert not list(seq.rglob("*.tmp")), "no half-written files"


def test_v2_variety_postures_and_oblique_cameras(tmp_path):
    """v2 records each sequence's posture, keeps the infant in the frame, and leaves v1 untouched."""
    from infantpose.synth.generate import generate
    from infantpose.synth.motion import POSTURES

    generate(tmp_path / "v2", sequences=3, frames=1, seed=5, workers=1, progress=False, variety="v2")
    card = json.loads((tmp_path / "v2" / "dataset.json").read_text())
    assert card["variety"] == "v2"
    seqs = card["sequences"].values()
    assert all(s["posture"] in POSTURES and s["variety"] == "v2" for s in seqs)
    assert {s["posture"] for s in seqs} != {"supine"}  # seed 5 draws side-lying and prone infants
    for s in MiniRGBD(tmp_path / "v2", split="all"):
        assert s.visible.all()
    generate(tmp_path / "v1", sequences=1, frames=1, seed=7, workers=1, progress=False)
    assert card["sequences"]["01"]["phenotype"] != {}
    v1 = json.loads((tmp_path / "v1" / "dataset.json").read_text())["sequences"]["01"]
    assert v1["posture"] == "supine"


def test_pose_bank_is_the_projection_of_its_3d_and_cached(tmp_path):
    """Pose-only infants: MPII 2D = the MINI-RGBD camera's projection of the 3D, same bank from the cache."""
    from infantpose.geometry import MINI_RGBD_INTRINSICS
    from infantpose.skeleton import MPII
    from infantpose.synth.poses import cached_pose_bank

    bank = cached_pose_bank(tmp_path, infants=2, frames=3, seed=5)
    assert sorted(bank) == ["bank/0001", "bank/0002"]
    for kp2d, kp3d in bank.values():
        assert kp2d.shape == (3, MPII.num_joints, 2) and kp3d.shape == (3, MPII.num_joints, 3)
        assert 200 < np.median(kp3d[..., 2]) < 2000  # mm in front of the camera
        np.testing.assert_allclose(kp2d, project(kp3d / 1000.0, MINI_RGBD_INTRINSICS), atol=1e-2)
    assert bank["bank/0001"][1].tobytes() != bank["bank/0002"][1].tobytes()
    again = cached_pose_bank(tmp_path, infants=2, frames=3, seed=5)  # read back, not regenerated
    assert all(np.array_equal(again[k][0], bank[k][0]) and np.array_equal(again[k][1], bank[k][1]) for k in bank)
    assert len(list(tmp_path.glob("pose_bank_5_2x3.npz"))) == 1


def test_a_wide_pose_bank_keeps_the_other_infants_and_moves_every_kth_more(tmp_path):
    """wide_every=2: infant 1 is the plain bank's, infant 2 moves more widely (its own cache file)."""
    from infantpose.synth.poses import cached_pose_bank

    plain = cached_pose_bank(tmp_path, infants=2, frames=30, seed=5)
    wide = cached_pose_bank(tmp_path, infants=2, frames=30, seed=5, wide_every=2)
    assert sorted(p.name for p in tmp_path.glob("pose_bank_5_2x30*.npz")) == [
        "pose_bank_5_2x30.npz", "pose_bank_5_2x30_wide2.npz"
    ]  # fmt: skip
    np.testing.assert_array_equal(wide["bank/0001"][1], plain["bank/0001"][1])
    # Same infant, camera and posture; the limbs stray further from rest: the 3D differs.
    assert np.abs(wide["bank/0002"][1] - plain["bank/0002"][1]).max() > 20.0  # mm


def test_motion_spread_moves_the_limbs_further_and_a_resume_must_keep_it(dataset, tmp_path):
    """--motion-spread 1.8: same infant and camera (seed 7), limbs further from the usual clip; the
    card records it, and resuming that folder with another spread is refused in one line."""
    from infantpose.errors import InfantposeError
    from infantpose.synth.generate import generate

    out = tmp_path / "wide"
    generate(out, sequences=1, frames=FRAMES, seed=7, workers=1, progress=False, spread=1.8)
    card = json.loads((out / "dataset.json").read_text())
    assert card["motion_spread"] == 1.8 and "motion_spread" not in json.loads((dataset / "dataset.json").read_text())
    usual, wide = MiniRGBD(dataset, split="all")[0], MiniRGBD(out, split="all")[0]
    assert np.abs(wide.joints3d - usual.joints3d).max() > 20.0  # mm
    with pytest.raises(InfantposeError, match="motion spread 1.8, not 1.0"):
        generate(out, sequences=1, frames=FRAMES, seed=7, workers=1, progress=False, resume=True)
