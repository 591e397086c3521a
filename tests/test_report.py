"""The analysis pictures: the 3D viewer in a real headless browser, and the HTML report."""

import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from infantpose.skeleton import MPII

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _recording(frames: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(F, 16, 3) camera-axes mm of a small moving body and (F,) s."""
    rng = np.random.default_rng(0)
    base = rng.uniform(-150, 150, (MPII.num_joints, 3))
    base[MPII.index("pelvis")] = 0.0
    t = np.arange(frames) / 30.0
    kp = base + 20 * np.sin(2 * np.pi * t)[:, None, None]
    kp[:, MPII.index("pelvis")] = 0.0
    kp[5] = np.nan  # a frame without an infant
    return kp, t


def _browser(page, png, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--window-size=800,640",
         "--virtual-time-budget=3000", f"--screenshot={png}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (scripts/setup-system.sh --browser installs it)")
def test_the_viewer_loads_without_console_errors_and_draws_the_skeleton(tmp_path):
    from infantpose.clinical.report import write_viewer

    kp, t = _recording()
    page = write_viewer(tmp_path / "viewer.html", kp, t, 30.0, "test <recording>")
    png = tmp_path / "shot.png"
    res = _browser(page, png, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    console = [x for x in res.stderr.splitlines() if "CONSOLE" in x or "Uncaught" in x]
    assert not console, console
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 300
    # Bones are drawn in the skeleton's left/right/centre colours (BGR): some pixels of each must be there.
    for colour in {tuple(c) for c in MPII.bone_colours()}:
        near = np.all(np.abs(img.astype(int) - np.array(colour)) < 30, axis=-1)
        assert near.sum() > 20, colour


def test_the_viewer_embeds_its_data_safely(tmp_path):
    from infantpose.clinical.report import write_viewer

    kp, t = _recording()
    text = write_viewer(tmp_path / "v.html", kp, t, 30.0, "</script><b>x</b>").read_text()
    assert "</script><b>" not in text  # the title is escaped, the data cannot close its script tag
    data = json.loads(text.split('type="application/json">')[1].split("</script>")[0])
    assert data["frames"][5] is None and len(data["frames"]) == 30 and data["extent"] > 0


def test_the_report_has_plots_and_tables(tmp_path):
    pytest.importorskip("matplotlib", reason="the report needs the analysis extra (matplotlib)")
    from infantpose.clinical.kinematics import analyse, features
    from infantpose.clinical.report import write_report

    kp, t = _recording()
    k = analyse(kp, t)
    text = write_report(tmp_path / "r.html", k, json.loads(json.dumps(features(k), default=float)), "x").read_text()
    # Four angle groups (every angle) and the speeds.
    assert text.count("data:image/png;base64,") == 5 and "symmetry index" in text and "<table>" in text


def test_the_report_shows_annotated_frames_of_the_recording(tmp_path):
    pytest.importorskip("matplotlib", reason="the report needs the analysis extra (matplotlib)")
    from infantpose.clinical.kinematics import analyse, features
    from infantpose.clinical.report import annotated_frames, write_report

    video = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30, (160, 120))
    for _ in range(10):
        w.write(np.full((120, 160, 3), 90, np.uint8))
    w.release()
    kp2d = np.column_stack([np.linspace(40, 120, MPII.num_joints), np.linspace(20, 100, MPII.num_joints)])
    records = [{"frame": i, "t": i / 30, "box": [30, 10, 130, 110], "kp2d": kp2d.tolist(),
                "conf": [0.9] * MPII.num_joints} for i in range(10)]  # fmt: skip
    records[9]["kp2d"] = None
    frames = annotated_frames(video, records, count=4)
    assert [c for c, _ in frames][-1] == "frame 9, t = 0.30 s (no infant)" and len(frames) == 4
    kp, t = _recording(10)
    k = analyse(kp, t)
    text = write_report(tmp_path / "r.html", k, json.loads(json.dumps(features(k), default=float)), "x", frames)
    assert text.read_text().count("data:image/jpeg;base64,") == 4
