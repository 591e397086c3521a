import json

import numpy as np
import pytest

from infantpose.datasets import MiniRGBD, MPIIDataset, MPIInf3DHP
from infantpose.datasets.minirgbd import SEED_PCKH_THRESHOLDS, joints2d_path, joints3d_path
from infantpose.errors import DatasetError
from infantpose.geometry import MINI_RGBD_INTRINSICS, project
from infantpose.skeleton import MINI_RGBD, MPII

from .fixtures import make_minirgbd, make_mpi_inf_3dhp, make_mpii


def test_minirgbd_reads_the_layout(tmp_path):
    truth = make_minirgbd(tmp_path)
    ds = MiniRGBD(tmp_path, split="test")
    assert len(ds) == 4
    s = ds[1]
    assert (s.sequence, s.frame, s.joint_set) == ("11", 1, "minirgbd")
    assert s.image.name == "syn_00001.png" and s.image.is_file()
    np.testing.assert_allclose(s.joints3d, truth["11"][1] * 1000, atol=1e-4)  # metres -> mm
    np.testing.assert_allclose(s.joints2d, project(truth["11"][1], MINI_RGBD_INTRINSICS), atol=1e-5)
    assert s.visible.all()
    # Box: the mask rectangle grown by 10 % of its size on each side.
    x1, y1 = np.floor(s.joints2d.min(0))
    x2, y2 = np.ceil(s.joints2d.max(0))
    w, h = x2 - x1, y2 - y1
    np.testing.assert_allclose(s.box, [x1 - 0.1 * w, y1 - 0.1 * h, x2 + 0.1 * w, y2 + 0.1 * h])
    # No card and real sequence names: the original's thresholds.
    assert (s.pckh_2d, s.pckh_3d) == SEED_PCKH_THRESHOLDS["11"]


def test_minirgbd_three_columns_and_mpii_mapping(tmp_path):
    make_minirgbd(tmp_path, sequences=("11",), frames=1)
    for path in (joints2d_path(tmp_path / "11", 0), joints3d_path(tmp_path / "11", 0)):
        rows = [line.split()[:3] for line in path.read_text().splitlines()]
        path.write_text("\n".join(" ".join(r) for r in rows) + "\n")
    s = MiniRGBD(tmp_path, sequences=["11"])[0]
    m = s.to_joint_set("mpii")
    assert m.joints2d.shape == (16, 2) and m.joints3d.shape == (16, 3)
    np.testing.assert_array_equal(m.joints3d[MPII.index("r_ankle")], s.joints3d[MINI_RGBD.index("rightFoot")])
    nose = s.joints2d[MINI_RGBD.index("noseVertex")]
    np.testing.assert_array_equal(m.joints2d[MPII.index("head_top")], nose)


def test_minirgbd_thresholds_from_card_and_data(tmp_path):
    make_minirgbd(tmp_path, sequences=("a", "b"), frames=3)
    ds = MiniRGBD(tmp_path, split="all")
    a, b = MINI_RGBD.head_segment
    s = ds[0]
    _, j2, j3 = ds.sequence_arrays("a")
    assert s.pckh_2d == pytest.approx(np.linalg.norm(j2[:, a] - j2[:, b], axis=-1).mean())
    assert s.pckh_3d == pytest.approx(np.linalg.norm(j3[:, a] - j3[:, b], axis=-1).mean())
    card = {"splits": {"train": ["a"], "test": ["b"]}, "sequences": {"b": {"pckh_2d": 9.5, "pckh_3d": 31.0}}}
    (tmp_path / "dataset.json").write_text(json.dumps(card))
    ds = MiniRGBD(tmp_path, split="test")
    assert [x.sequence for x in ds] == ["b"] * 3
    assert (ds[0].pckh_2d, ds[0].pckh_3d) == (9.5, 31.0)


def test_minirgbd_errors_name_the_file(tmp_path):
    make_minirgbd(tmp_path, sequences=("11", "12"), frames=1)
    with pytest.warns(UserWarning, match="train = 11 "):  # too few sequences for 01-12: derived, and said
        assert {x.sequence for x in MiniRGBD(tmp_path, split="train")} == {"11"}
    with pytest.raises(DatasetError, match="needs sequence folders 01"):
        MiniRGBD(tmp_path, split="train", splits={"train": ["01"]})
    bad = joints3d_path(tmp_path / "12", 0)
    bad.write_text("1 2 3 0\n")
    with pytest.raises(DatasetError, match=r"syn_joints_3D_00000.txt: expected 25 joint rows, found 1"):
        MiniRGBD(tmp_path, split="test")
    bad.write_text("x y z 0\n" * 25)
    with pytest.raises(DatasetError, match="not a number"):
        MiniRGBD(tmp_path, split="test")
    bad.unlink()
    with pytest.raises(DatasetError, match="syn_joints_3D_00000.txt: file not found"):
        MiniRGBD(tmp_path, split="test")
    with pytest.raises(DatasetError, match="does not exist"):
        MiniRGBD(tmp_path / "nope")


def test_mpii_json(tmp_path):
    entries = make_mpii(tmp_path)
    ds = MPIIDataset(tmp_path, "train")
    assert len(ds) == 3
    s = ds[0]
    np.testing.assert_allclose(s.joints2d, np.array(entries[0]["joints"]) - 1)  # 1-based -> 0-based
    assert not s.visible[3] and s.visible[0]
    # scale 1.5 -> 300 px square around the 0-based centre.
    np.testing.assert_allclose(s.box, [199 - 150, 219 - 150, 199 + 150, 219 + 150])
    a, b = MPII.head_segment
    assert s.pckh_2d == pytest.approx(np.linalg.norm(s.joints2d[a] - s.joints2d[b]))
    assert len(MPIIDataset(tmp_path, "val")) == 1
    (tmp_path / "annot" / "train.json").write_text('[{"image": "x.jpg"}]')
    with pytest.raises(DatasetError, match="train.json: entry 0 is malformed"):
        MPIIDataset(tmp_path, "train")


def test_mpi_inf_3dhp_mat(tmp_path):
    a3 = make_mpi_inf_3dhp(tmp_path, frames=5)
    ds = MPIInf3DHP(tmp_path, subjects=["S1"], cameras=[0, 2], stride=2)
    assert len(ds) == 6  # frames 0, 2, 4 of two cameras
    s = ds[1]
    assert s.sequence == "S1/Seq1/cam0" and s.frame == 2
    np.testing.assert_allclose(s.joints3d, a3[2].reshape(28, 3))
    assert s.image.name == "frame_000003.jpg"
    assert s.to_joint_set("mpii").joints3d.shape == (16, 3)
    with pytest.raises(DatasetError, match="has no camera 20"):
        MPIInf3DHP(tmp_path, subjects=["S1"], cameras=[20])
    (tmp_path / "S1" / "Seq1" / "annot.mat").write_bytes(b"not a mat file")
    with pytest.raises(DatasetError, match="annot.mat: not a readable MATLAB file"):
        MPIInf3DHP(tmp_path, subjects=["S1"])


def test_written_frames_use_the_mini_rgbd_file_names(tmp_path):
    from infantpose.datasets.minirgbd import write_frame

    joints = np.column_stack([np.linspace(-0.1, 0.1, 25), np.linspace(-0.1, 0.1, 25), np.full(25, 0.8)])
    img = np.zeros((48, 64, 3), np.uint8)
    write_frame(tmp_path / "01", 7, img, img[..., 0], joints, depth_mm=np.full((48, 64), 800, np.uint16))
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.*"))
    assert "01/depth/syn_00007_depth.png" in names and "01/rgb/syn_00007.png" in names
