"""Kinematics against hand-computed cases, and the clinical files read back."""

import json

import numpy as np
import pytest

from infantpose.clinical.kinematics import analyse, features, joint_angles, spectrum, symmetry_index
from infantpose.skeleton import MPII

J = MPII.index
# A body lying supine under the camera, in camera axes (x right, y down, z away), mm: head towards
# -y, the body's left towards +x (a front view), the chest facing the camera (-z).
STRAIGHT = {
    "pelvis": (0, 0, 0), "thorax": (0, -150, 0), "upper_neck": (0, -190, 0), "head_top": (0, -290, 0),
    "l_hip": (40, 0, 0), "r_hip": (-40, 0, 0), "l_knee": (40, 130, 0), "r_knee": (-40, 130, 0),
    "l_ankle": (40, 250, 0), "r_ankle": (-40, 250, 0), "l_shoulder": (70, -150, 0),
    "r_shoulder": (-70, -150, 0), "l_elbow": (70, -60, 0), "r_elbow": (-70, -60, 0),
    "l_wrist": (70, 30, 0), "r_wrist": (-70, 30, 0),
}  # fmt: skip


def _pose(**moves) -> np.ndarray:
    kp = np.array([STRAIGHT[n] for n in MPII.joints], float)
    for name, xyz in moves.items():
        kp[J(name)] = xyz
    return kp[None]


def test_a_straight_body_has_zero_angles():
    a = joint_angles(_pose())
    for name in (
        "l_knee_flexion_deg",
        "r_knee_flexion_deg",
        "l_elbow_flexion_deg",
        "l_hip_flexion_deg",
        "r_hip_abduction_deg",
        "l_shoulder_elevation_deg",
        "head_flexion_deg",
        "head_lateral_flexion_deg",
    ):
        assert abs(a[name][0]) < 1e-9, name  # fmt: skip


def test_right_angles_and_their_signs():
    # Left knee bent at a right angle: the shank points at the camera (anterior of a supine infant).
    a = joint_angles(_pose(l_ankle=(40, 130, -120)))
    assert a["l_knee_flexion_deg"][0] == pytest.approx(90.0)
    # Left hip flexed 90 degrees: the thigh points forward (towards the camera).
    a = joint_angles(_pose(l_knee=(40, 0, -130), l_ankle=(40, 0, -250)))
    assert a["l_hip_flexion_deg"][0] == pytest.approx(90.0) and a["l_knee_flexion_deg"][0] == pytest.approx(0.0)
    # Right hip abducted 90 degrees: the thigh points away from the midline (-x for the right leg).
    a = joint_angles(_pose(r_knee=(-170, 0, 0), r_ankle=(-290, 0, 0)))
    assert a["r_hip_abduction_deg"][0] == pytest.approx(90.0)
    # Left arm raised overhead: elevation 180; the right elbow bent at a right angle.
    a = joint_angles(_pose(l_elbow=(70, -240, 0), l_wrist=(70, -330, 0), r_wrist=(-160, -60, 0)))
    assert a["l_shoulder_elevation_deg"][0] == pytest.approx(180.0)
    assert a["r_elbow_flexion_deg"][0] == pytest.approx(90.0)
    # Head bent towards the chest by 45 degrees, then tilted towards the left shoulder by 45.
    a = joint_angles(_pose(head_top=(0, -190 - 70.7107, -70.7107)))
    assert a["head_flexion_deg"][0] == pytest.approx(45.0, abs=1e-3)
    a = joint_angles(_pose(head_top=(70.7107, -190 - 70.7107, 0)))
    assert a["head_lateral_flexion_deg"][0] == pytest.approx(45.0, abs=1e-3)


def test_a_sinusoidal_limb_gives_its_frequency_and_speed():
    fps, hz, amp = 30.0, 1.5, 20.0
    t = np.arange(300) / fps
    kp = np.repeat(_pose(), len(t), axis=0)
    kp[:, J("l_wrist"), 0] += amp * np.sin(2 * np.pi * hz * t)
    k = analyse(kp, t, frames=1)
    f = features(k)
    assert f["limbs"]["l_arm"]["dominant_hz"] == pytest.approx(2 * hz, abs=0.1)  # speed peaks twice a cycle
    expected = 2 * np.pi * hz * amp * 2 / np.pi  # mean |v| of a sine
    gain = np.sin(2 * np.pi * hz / fps) / (2 * np.pi * hz / fps)  # what central differences keep of it
    assert f["limbs"]["l_arm"]["mean_speed_mm_s"] == pytest.approx(expected * gain, rel=0.01)
    assert f["limbs"]["r_arm"]["mean_speed_mm_s"] == pytest.approx(0.0, abs=1e-9)
    assert f["symmetry_index_pct"]["arm_mean_speed"] == pytest.approx(200.0)
    assert spectrum(np.sin(2 * np.pi * 2.0 * t), fps)["power_1_3_hz"] > 0.95


def test_symmetry_index():
    assert symmetry_index(10.0, 10.0) == 0.0
    assert symmetry_index(15.0, 5.0) == pytest.approx(100.0)
    assert np.isnan(symmetry_index(0.0, 0.0))


def test_analyze_writes_csv_summary_trc_and_c3d_that_read_back(tmp_path):
    pytest.importorskip("c3d", reason="C3D needs the analysis extra (c3d)")
    from typer.testing import CliRunner

    from infantpose.cli import app
    from infantpose.clinical.mocap import read_c3d, read_trc, to_y_up

    rng = np.random.default_rng(0)
    t = np.arange(40) / 30.0
    kp = np.repeat(_pose(), len(t), axis=0) + rng.normal(0, 5, (len(t), MPII.num_joints, 3))
    kp[:, J("pelvis")] = 0.0
    results = tmp_path / "r.jsonl"
    lines = [json.dumps({"frame": i, "t": float(t[i]), "kp3d": None if i == 7 else np.round(kp[i], 1).tolist()})
             for i in range(len(t))]  # fmt: skip
    results.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["analyze", str(results), "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    rows = (tmp_path / "a" / "kinematics.csv").read_text().splitlines()
    assert len(rows) == 41 and "l_knee_flexion_deg" in rows[0] and "l_wrist_speed_mm_s" in rows[0]
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["frames"] == 40 and set(summary["limbs"]) == {"l_arm", "r_arm", "l_leg", "r_leg"}
    want = to_y_up(np.round(kp, 1))
    want[7] = np.nan
    names, times, trc = read_trc(tmp_path / "a" / "markers.trc")
    assert names == list(MPII.joints) and np.allclose(times, t)
    np.testing.assert_allclose(trc, want, atol=0.01)  # <= 0.01 mm
    names, rate, c3d_pts = read_c3d(tmp_path / "a" / "markers.c3d")
    assert names == list(MPII.joints) and rate == pytest.approx(30.0)
    np.testing.assert_allclose(c3d_pts, want, atol=0.01)


def test_analyze_refuses_what_is_not_a_recording(tmp_path):
    from infantpose.clinical.analysis import read_results
    from infantpose.errors import InfantposeError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 0, "kp3d": null}\nnot json\n')
    with pytest.raises(InfantposeError, match="bad.jsonl:2: not an infantpose result record"):
        read_results(bad)
    still = tmp_path / "photos.jsonl"
    still.write_text('{"t": 0, "kp3d": null}\n{"t": 0, "kp3d": null}\n')
    with pytest.raises(InfantposeError, match="times do not increase"):
        read_results(still)


def test_eval_pictures_have_four_panels(tmp_path):
    from types import SimpleNamespace

    import cv2

    from infantpose.evaluate.pictures import PANEL, write_pictures

    img = tmp_path / "f.png"
    cv2.imwrite(str(img), np.full((240, 320, 3), 90, np.uint8))
    kp3d = np.repeat(_pose(), 3, axis=0)
    kp2d = kp3d[..., :2] / 4 + np.array([160.0, 150.0])
    split = SimpleNamespace(images=[img] * 3, kp2d=kp2d, kp3d=kp3d, seq=np.array(["11"] * 3))
    paths = write_pictures(split, kp2d + 3, kp3d + 5, tmp_path / "pics", count=2)
    assert [p.name for p in paths] == ["0000_11.png", "0002_11.png"]
    fig = cv2.imread(str(paths[0]))
    assert fig.shape == (PANEL, 2 * round(PANEL * 320 / 240) + 2 * PANEL, 3)  # two image panels, two 3D panels


def test_analyze_writes_an_opensim_mot_that_an_independent_reader_reads(tmp_path):
    import json

    from infantpose.clinical.analysis import analyze
    from infantpose.clinical.kinematics import joint_angles

    rng = np.random.default_rng(1)
    base = rng.uniform(-150, 150, (16, 3))
    t = np.arange(40) / 30.0
    kp = base + 15 * np.sin(2 * np.pi * 1.5 * t)[:, None, None]
    kp[7] = np.nan
    lines = [json.dumps({"t": float(ti), "kp3d": None if not np.isfinite(k).all() else k.tolist()})
             for ti, k in zip(t, kp, strict=True)]  # fmt: skip
    (tmp_path / "r.jsonl").write_text("\n".join(lines))
    analyze(tmp_path / "r.jsonl", tmp_path / "out", c3d=False, report=False, filter="none")
    text = (tmp_path / "out" / "angles.mot").read_text().splitlines()
    # OpenSim storage: name, key=value lines up to endheader, then a tab-separated table with a time column.
    end = text.index("endheader")
    header = dict(x.split("=", 1) for x in text[1:end])
    columns = text[end + 1].split("\t")
    rows = [[float(v) for v in x.split("\t")] for x in text[end + 2 :]]
    assert header["inDegrees"] == "yes" and int(header["nRows"]) == len(rows) == 40
    assert int(header["nColumns"]) == len(columns) == 1 + len(joint_angles(kp[:1])) and columns[0] == "time"
    assert all(len(r) == len(columns) for r in rows) and np.isnan(rows[7][1:]).all()
    knee = columns.index("l_knee_flexion")
    assert rows[0][knee] == pytest.approx(joint_angles(kp[:1])["l_knee_flexion_deg"][0], abs=1e-3)  # degrees
    assert [r[0] for r in rows] == pytest.approx(t.tolist(), abs=1e-6)


def test_the_butterworth_filter_is_zero_phase_and_keeps_nan_frames():
    from infantpose.filters import butterworth, low_pass

    fps = 30.0
    t = np.arange(300) / fps
    slow, fast = np.sin(2 * np.pi * 1.0 * t), 0.5 * np.sin(2 * np.pi * 12.0 * t)
    y = butterworth(slow + fast, fps, 6.0)
    assert np.abs(y - slow)[30:-30].max() < 0.01  # 1 Hz kept without delay, 12 Hz removed
    x = (slow + fast)[:, None].repeat(3, axis=1)
    x[100:103] = np.nan
    z = low_pass(x, fps, "butterworth", 6.0)
    assert np.isnan(z[100:103]).all() and np.isfinite(z[:100]).all() and np.isfinite(z[103:]).all()
    with pytest.raises(ValueError, match="cut-off"):
        butterworth(slow, fps, 20.0)
    try:  # the same numbers as scipy's filtfilt where scipy is installed (not on the runtime-only install)
        import scipy.signal as ss
    except ImportError:
        return
    b, a = ss.butter(2, 6.0 / (fps / 2))
    assert np.abs(y - ss.filtfilt(b, a, slow + fast))[30:-30].max() < 1e-9
