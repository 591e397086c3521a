import numpy as np
import pytest

from infantpose import skeleton as sk


def test_joint_counts_and_roots():
    assert sk.MINI_RGBD.num_joints == 25
    assert sk.MPII.num_joints == 16
    assert sk.MPI_INF_3DHP.num_joints == 28
    assert sk.MPII.joints[sk.MPII.root] == "pelvis"
    assert sk.MINI_RGBD.joints[sk.MINI_RGBD.root] == "pelvis"
    assert sk.MPI_INF_3DHP.joints[sk.MPI_INF_3DHP.root] == "pelvis"
    assert len(sk.MPII.bones) == 15


def test_minirgbd_to_mpii_picks_the_seed_joints():
    names = [sk.MINI_RGBD.joints[i] for i in sk.mapping("minirgbd")]
    expected = {
        "r_ankle": "rightFoot", "r_knee": "rightCalf", "r_hip": "rightThigh",
        "l_hip": "leftThigh", "l_knee": "leftCalf", "l_ankle": "leftFoot",
        "pelvis": "pelvis", "thorax": "spine2", "upper_neck": "neck",
        "head_top": "noseVertex", "r_wrist": "rightHand", "r_elbow": "rightForeArm",
        "r_shoulder": "rightUpperArm", "l_shoulder": "leftUpperArm",
        "l_elbow": "leftForeArm", "l_wrist": "leftHand",
    }  # fmt: skip
    assert dict(zip(sk.MPII.joints, names, strict=True)) == expected


def test_3dhp_to_mpii_picks_matching_joints():
    names = [sk.MPI_INF_3DHP.joints[i] for i in sk.mapping("mpi_inf_3dhp")]
    assert names[:7] == ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee",
                         "left_ankle", "pelvis"]  # fmt: skip
    assert names[7:10] == ["spine4", "neck", "head"]
    assert names[10:] == ["right_wrist", "right_elbow", "right_shoulder", "left_shoulder",
                          "left_elbow", "left_wrist"]  # fmt: skip


def test_map_joints_reorders_any_trailing_dim():
    x = np.arange(25 * 3, dtype=float).reshape(1, 25, 3)
    y = sk.map_joints(x, "minirgbd")
    assert y.shape == (1, 16, 3)
    np.testing.assert_array_equal(y[0, 0], x[0, 8])
    flags = np.arange(25) % 2 == 0
    np.testing.assert_array_equal(sk.map_flags(flags, "minirgbd"), flags[sk.mapping("minirgbd")])
    with pytest.raises(ValueError, match="expected 25"):
        sk.map_joints(np.zeros((16, 3)), "minirgbd")
    with pytest.raises(KeyError, match="unknown joint set"):
        sk.get_joint_set("coco")


def test_flip_pairs_swap_left_and_right():
    for js in sk.JOINT_SETS.values():
        perm = js.flip_permutation()
        np.testing.assert_array_equal(perm[perm], np.arange(js.num_joints))
        for a, b in js.flip_pairs:
            assert js.side(a) == "left" and js.side(b) == "right"
    mp = sk.MPII
    assert (mp.index("l_hip"), mp.index("r_hip")) in mp.flip_pairs
    assert len(mp.flip_pairs) == 6
    assert len(sk.MINI_RGBD.flip_pairs) == 9
    assert len(sk.MPI_INF_3DHP.flip_pairs) == 10


def test_colours_follow_sides():
    cols = sk.MPII.joint_colours()
    assert cols[sk.MPII.index("l_wrist")] == sk.COLOUR_LEFT
    assert cols[sk.MPII.index("r_wrist")] == sk.COLOUR_RIGHT
    assert cols[sk.MPII.index("thorax")] == sk.COLOUR_CENTRE
    assert len(sk.MPII.bone_colours()) == len(sk.MPII.bones)


def test_flip_permutation_of_names_swaps_each_side_prefix():
    import numpy as np

    from infantpose.skeleton import COCO_KEYPOINTS, MPII, flip_permutation_of

    np.testing.assert_array_equal(flip_permutation_of(MPII.joints), MPII.flip_permutation())
    perm = flip_permutation_of(COCO_KEYPOINTS)
    assert COCO_KEYPOINTS[perm[COCO_KEYPOINTS.index("left_eye")]] == "right_eye"
    assert COCO_KEYPOINTS[perm[COCO_KEYPOINTS.index("nose")]] == "nose"
