"""What a user sees: annotated stills, an inset that leaves the infant visible, de-identified frames,
and an annotated video that a browser plays (runtime-only install, shipped bundle)."""

from __future__ import annotations

import shutil
import subprocess

import cv2
import numpy as np
import pytest

from infantpose.deidentify import FaceMasker, face_region
from infantpose.runtime.overlay import annotate, place_inset
from infantpose.runtime.pipeline import DEFAULT_BUNDLE
from infantpose.runtime.result import FrameResult
from infantpose.skeleton import MPII
from tests.test_redteam import DEMO, _cli, _one_line_error

pytestmark = pytest.mark.skipif(not (DEFAULT_BUNDLE / "manifest.json").is_file(), reason="no shipped bundle")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _photos(folder, n: int) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(DEMO))
    names = []
    for i in range(n):
        for _ in range(7):  # frames apart: different poses
            ok, img = cap.read()
        assert ok
        names.append(f"IMG_{4000 + 7 * i}.{'png' if i % 3 == 0 else 'jpg'}")  # camera numbering: stills
        cv2.imwrite(str(folder / names[-1]), img)
    return names


def test_photos_give_one_annotated_image_each_and_video_sources_refuse_an_image_name(tmp_path):
    names = _photos(tmp_path / "photos", 9)
    res = _cli("run", str(tmp_path / "photos"), "--out", str(tmp_path / "annotated") + "/")
    assert res.returncode == 0, res.stderr
    written = sorted(p.name for p in (tmp_path / "annotated").iterdir())
    assert written == sorted(names)
    for name in names:  # same format as the input, same size, and drawn on
        out, src = cv2.imread(str(tmp_path / "annotated" / name)), cv2.imread(str(tmp_path / "photos" / name))
        assert out.shape == src.shape and np.abs(out.astype(int) - src).mean() > 1
        assert (tmp_path / "annotated" / name).read_bytes()[:4] == (tmp_path / "photos" / name).read_bytes()[:4]
    res = _cli("run", str(tmp_path / "photos" / names[1]), "--out", str(tmp_path / "one.png"))
    assert res.returncode == 0 and cv2.imread(str(tmp_path / "one.png")).shape[:2] == (480, 640)
    _one_line_error(_cli("run", str(DEMO), "--out", str(tmp_path / "x.png")), 2, "one photo as the source")
    _one_line_error(_cli("run", str(DEMO), "--out", str(tmp_path / "x.txt")), 2, "not a video")


def test_the_inset_goes_where_the_body_is_not_and_never_over_the_label():
    label = (6, 6, 200, 30)
    body_top_right = np.array([420.0, 0.0, 640.0, 200.0])
    x, y = place_inset((640, 480), (320, 160), body_top_right, label)
    assert (x, y) != (310, 10)  # not the default top-right corner over the body
    assert not (x < 200 and y < 30)  # never over the frame label
    assert place_inset((640, 480), (320, 160), None, label, "corner") == (310, 10)
    assert place_inset((200, 120), (320, 160), None, label) is None  # does not fit: left out
    # A portrait frame: the label and the inset's caption never overlap.
    frame = np.zeros((640, 360, 3), np.uint8)
    kp = np.stack([np.linspace(120, 240, 16), np.linspace(380, 620, 16)], axis=1)
    r = FrameResult(0, None, 0.0, np.array([100, 360, 260, 630.0]), 0.9, False, kp, np.ones(16), np.zeros((16, 3)))
    img = annotate(frame, r, "mpii")
    assert img[6:30, 6:100].max() > 0  # the label is drawn where it belongs
    off = annotate(frame, r, "mpii", inset="off")
    assert off[:, 200:].max() <= img[:, 200:].max()


def _face_frames(n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[FrameResult], list]:
    """Frames of fine noise (a "face" everywhere) with a known head, the 2D wobbling by up to 6 px,
    the infant lost on frame 3; the true face disc per frame (centre, radius px)."""
    frames, results, faces = [], [], []
    for i in range(n):
        frames.append(rng.integers(0, 256, (360, 480, 3), np.uint8))
        top, neck = np.array([240.0 + 3 * i, 100.0]), np.array([240.0 + 3 * i, 130.0])
        kp = np.tile(np.array([240.0, 250.0]), (16, 1))
        kp[MPII.index("head_top")], kp[MPII.index("upper_neck")] = top, neck
        kp += rng.uniform(-6, 6, kp.shape)
        lost = i == 3
        results.append(FrameResult(i, None, i / 30, None, 0.9, not lost, None if lost else kp,
                                   None if lost else np.ones(16), None))  # fmt: skip
        faces.append((top + 0.2 * (top - neck), 36.0))  # the whole head: crown to chin, ear to ear
    return frames, results, faces


def test_no_face_pixel_survives_de_identification_through_wobble_and_loss():
    rng = np.random.default_rng(0)
    frames, results, faces = _face_frames(8, rng)
    for mode in ("blur", "mosaic"):
        masker = FaceMasker(mode)
        for frame, r, (centre, radius) in zip(frames, results, faces, strict=True):
            out = masker(frame, r.kp2d, r.conf)
            yy, xx = np.mgrid[: frame.shape[0], : frame.shape[1]]
            face = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2
            detail = np.abs(cv2.Laplacian(out, cv2.CV_32F)).max(axis=2)
            if mode == "blur":  # the noise's fine detail is gone from every face pixel
                assert detail[face].max() < 0.15 * np.abs(cv2.Laplacian(frame, cv2.CV_32F)).max(axis=2).mean()
            else:  # every face pixel is its block's mean: no pixel keeps its own value
                assert (out[face] != frame[face]).any(axis=1).mean() > 0.99
            assert (out[~face] == frame[~face]).mean() > 0.5  # the rest of the frame is left as it was
    nothing = FaceMasker("blur")(frames[0], None)  # nothing known: the whole frame is covered
    assert np.abs(cv2.Laplacian(nothing, cv2.CV_32F)).max() < 0.15 * np.abs(cv2.Laplacian(frames[0], cv2.CV_32F)).mean()
    assert face_region(np.full((16, 2), np.nan), (480, 360)) is None


def test_de_identified_run_output_covers_the_face_the_chain_found(tmp_path):
    res = _cli("run", str(DEMO), "--max-frames", "12", "--out", str(tmp_path / "d.mp4"), "--deidentify", "blur",
               "--jsonl", str(tmp_path / "d.jsonl"), "--inset", "off")  # fmt: skip
    assert res.returncode == 0, res.stderr
    import json

    records = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    cap, src = cv2.VideoCapture(str(tmp_path / "d.mp4")), cv2.VideoCapture(str(DEMO))
    for rec in records:
        ok, out = cap.read()
        ok2, frame = src.read()
        assert ok and ok2
        region = face_region(np.asarray(rec["kp2d"]), (frame.shape[1], frame.shape[0]))
        x1, y1, x2, y2 = np.round(region).astype(int)
        inner = (slice(y1 + 4, y2 - 4), slice(x1 + 4, x2 - 4))
        sharp = np.abs(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.CV_32F))[inner].mean()
        blurred = np.abs(cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.CV_32F))[inner].mean()
        assert blurred < 0.5 * sharp, (rec["frame"], blurred, sharp)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (scripts/setup-system.sh --browser installs it)")
def test_make_demo_writes_a_video_that_headless_chromium_plays(tmp_path):
    res = _cli("demo", "--out", str(tmp_path / "demo"), "--no-show", timeout=300)
    assert res.returncode == 0 and "video h264" in res.stdout, res.stdout + res.stderr
    res = _cli("run", str(DEMO), "--max-frames", "10", "--out", str(tmp_path / "demo" / "m.mp4"), "--codec", "mp4v")
    assert res.returncode == 0
    page = tmp_path / "demo" / "page.html"
    page.write_text(
        '<!doctype html><video id="v" muted preload="auto"></video><pre id="out">pending</pre><script>'
        'const v = document.getElementById("v"), out = document.getElementById("out");'
        'v.addEventListener("loadeddata", () => { out.textContent = "ready " + v.readyState + " " + v.videoWidth; });'
        'v.addEventListener("error", () => { out.textContent = "error " + (v.error && v.error.code); });'
        'v.src = new URLSearchParams(location.search).get("src");</script>'
    )

    def state(name: str) -> str:
        res = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=5000", "--dump-dom", page.as_uri() + f"?src={name}"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return res.stdout.split('<pre id="out">')[1].split("<")[0]

    assert state("demo.mp4").startswith("ready 4 640")  # HAVE_ENOUGH_DATA: decoded
    assert state("m.mp4").startswith("error")  # the check tells a playable file from one that is not


def test_the_python_api_draws_a_result():
    from infantpose import Pipeline

    frame = cv2.VideoCapture(str(DEMO)).read()[1]
    with Pipeline.from_bundle() as pipe:
        r = pipe.still(frame)
        img = pipe.draw(frame, r, inset="off")
    assert img.shape == frame.shape and np.abs(img.astype(int) - frame).sum() > 0
