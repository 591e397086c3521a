"""Red team, round three: every command keeps the promises of ``run`` (docs/reliability.md).

One test per finding: outputs never replace inputs, studies resume from what is on disk, one
study writer at a time, signals end every command promptly (workers included), changed inputs
are redone, pixel caps hold before decoding, credentials never printed, every external-data
file hashed, and hostile files (analyze, eval --coco, batch, the Python API) are one line.
Runs on the runtime-only install; a case that needs an extra says so in its skip reason.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import struct
import subprocess
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from infantpose.errors import BundleError, DatasetError, InfantposeError
from infantpose.fileio import read_image
from infantpose.runtime.pipeline import DEFAULT_BUNDLE
from infantpose.runtime.sources import Source, jpeg_size, redact_url
from tests.test_redteam import DEMO, PY, _cli, _frames_jpeg, _one_line_error, first_frame_after, server

pytestmark = pytest.mark.skipif(not (DEFAULT_BUNDLE / "manifest.json").is_file(), reason="no shipped bundle")
__all__ = ["server"]  # the fixture, shared with test_redteam


def _png_header(w: int, h: int) -> bytes:
    """A PNG whose IHDR claims ``w`` x ``h`` pixels, followed by one tiny IDAT: decoding it would allocate
    w * h * 3 bytes; the header check must refuse it first."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def _frames(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(DEMO))
    paths = []
    for i in range(n):
        ok, img = cap.read()
        assert ok
        paths.append(folder / f"frame_{i:04d}.png")
        cv2.imwrite(str(paths[-1]), img)
    return paths


def _coco(tmp: Path, n: int = 2) -> Path:
    """A COCO keypoint file over ``n`` demo frames in tmp/img (labels made up: only the reading is tested)."""
    paths = _frames(tmp / "img", n)
    names = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
             "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
             "right_knee", "left_ankle", "right_ankle"]  # fmt: skip
    kp = [v for j in range(17) for v in (100 + 5 * j, 100 + 7 * j, 2)]
    doc = {"images": [{"id": i, "file_name": p.name, "width": 640, "height": 480} for i, p in enumerate(paths)],
           "annotations": [{"id": i + 1, "image_id": i, "category_id": 1, "keypoints": kp, "bbox": [50, 50, 200, 200],
                            "area": 40000} for i in range(n)],
           "categories": [{"id": 1, "name": "infant", "keypoints": names}]}  # fmt: skip
    (tmp / "gt.json").write_text(json.dumps(doc))
    return tmp / "gt.json"


# --- 1. one output guard: no output replaces an input, in any command -------------------------


def test_no_command_writes_over_its_input(tmp_path):
    src = tmp_path / "in.mp4"
    shutil.copy(DEMO, src)
    os.link(src, tmp_path / "o.jsonl")  # a hard link: another name for the input
    before = src.read_bytes()
    _one_line_error(_cli("run", str(src), "--max-frames", "5", "--jsonl", str(tmp_path / "o.jsonl")), 2, "overwrite")
    bundle = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    model = (bundle / "lifter.fp32.onnx").read_bytes()
    res = _cli("run", str(src), "--bundle", str(bundle), "--jsonl", str(bundle / "lifter.fp32.onnx"))
    _one_line_error(res, 2, "inside")
    gt = _coco(tmp_path)
    gt_text = gt.read_text()
    _one_line_error(_cli("eval", "--coco", str(gt), "--images", str(tmp_path / "img"), "--json", str(gt)), 2)
    labelme = tmp_path / "a.json"
    labelme.write_text(json.dumps({"shapes": [], "imageWidth": 10, "imageHeight": 10}))
    _one_line_error(_cli("labelme2coco", str(labelme), "--out", str(labelme)), 2, "overwrite")
    _one_line_error(_cli("bench", "--source", str(src), "--json", str(src)), 2, "overwrite")
    out = tmp_path / "an"
    assert _cli("run", str(src), "--max-frames", "6", "--jsonl", str(tmp_path / "r.jsonl")).returncode == 0
    assert _cli("analyze", str(tmp_path / "r.jsonl"), "--out", str(out), "--no-report").returncode == 0
    table = (out / "kinematics.csv").read_bytes()
    _one_line_error(_cli("analyze", str(out / "kinematics.csv"), "--out", str(out)), 2, "overwrite")
    _one_line_error(_cli("analyze", str(tmp_path / "r.jsonl"), "--out", str(tmp_path / "r.jsonl")), 2)
    # Every input is as it was.
    assert src.read_bytes() == before and (bundle / "lifter.fp32.onnx").read_bytes() == model
    assert gt.read_text() == gt_text and (out / "kinematics.csv").read_bytes() == table
    assert json.loads(labelme.read_text())["imageWidth"] == 10


def test_outputs_that_cannot_be_written_are_one_line_before_any_work(tmp_path):
    (tmp_path / "f").write_text("a file")
    for target in ("/proc/x.jsonl", str(tmp_path / "f" / "x.jsonl")):
        _one_line_error(_cli("run", str(DEMO), "--jsonl", target), 2, target)
    _one_line_error(_cli("run", str(DEMO), "--out", str(tmp_path / "photo.png")), 2, "one photo as the source")
    (tmp_path / "d").mkdir()
    _one_line_error(_cli("run", str(DEMO), "--out", str(tmp_path / "d")), 2, "folder")
    _one_line_error(_cli("run", str(DEMO), "--csv", str(tmp_path / "f" / "sub" / "x.csv")), 2, "is a file")


# --- 2-5 and 13. batch: the table from what is on disk, one writer, signals, changed inputs ----


def _study(tmp: Path, n: int) -> Path:
    study = tmp / "recs"
    study.mkdir()
    for i in range(n):
        shutil.copy(DEMO, study / f"r{i}.mp4")
    return study


def _batch(study: Path, out: Path, *extra: str, frames: int = 10) -> list[str]:
    return [PY, "-m", "infantpose.cli", "batch", str(study), "--out", str(out), "--workers", "1",
            "--max-frames", str(frames), *extra]  # fmt: skip


def _rows(out: Path) -> list[dict]:
    with open(out / "study.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    kids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(p.name))
    return kids


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_study_promptly_and_its_table_survives_the_resume(tmp_path, sig):
    study, out = _study(tmp_path, 4), tmp_path / "st"
    proc = subprocess.Popen(_batch(study, out, frames=120), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while time.time() < deadline and not list(out.glob("*.done.json")):
        time.sleep(0.1)
    workers = _children(proc.pid)
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    stopped_in = time.monotonic() - t0
    assert proc.returncode == 128 + sig, err
    assert stopped_in < 3.0, stopped_in  # within ~2 s, workers included
    assert "Traceback" not in err and "interrupted" in err
    deadline = time.time() + 2
    while time.time() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    assert workers and not any(map(_alive, workers))  # no orphaned worker keeps running
    assert not list(out.glob("*.partial"))  # nothing half-written is left as done
    done = len(list(out.glob("*.jsonl")))
    assert 1 <= done < 4 and len(_rows(out)) == done
    res = subprocess.run(_batch(study, out, frames=120), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{4 - done} processed, {done} already done" in res.stdout
    assert len(_rows(out)) == 4  # the table is rebuilt from every finished recording, not copied


def test_two_studies_into_one_folder_the_second_is_refused(tmp_path):
    study, out = _study(tmp_path, 2), tmp_path / "st"
    first = subprocess.Popen(_batch(study, out, frames=90), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (out / ".infantpose-batch.lock").exists():
            time.sleep(0.05)
        time.sleep(0.5)
        _one_line_error(subprocess.run(_batch(study, out), capture_output=True, text=True, timeout=120), 2,
                        "another infantpose batch")  # fmt: skip
    finally:
        first.communicate(timeout=300)
    assert first.returncode == 0
    for f in out.glob("*.jsonl"):
        assert all(json.loads(line) for line in f.read_text().splitlines())  # every line whole
    assert len(_rows(out)) == 2


def test_a_changed_recording_or_setting_is_redone_and_a_study_table_is_never_read(tmp_path):
    study, out = _study(tmp_path, 2), tmp_path / "st"
    res = subprocess.run(_batch(study, out), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "2 processed" in res.stdout
    (out / "study.csv").write_bytes(b'\x00\xffgarbage,\n"unclosed')  # a broken table is rebuilt, not read
    cap = cv2.VideoCapture(str(DEMO))
    cap.read()
    frames = [cap.read()[1] for _ in range(12)]
    w = cv2.VideoWriter(str(study / "r0.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, frames[0].shape[1::-1])
    for f in frames:
        w.write(cv2.flip(f, 1))
    w.release()
    res = subprocess.run(_batch(study, out), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "1 processed, 1 already done" in res.stdout, res.stdout + res.stderr
    res = subprocess.run(_batch(study, out, frames=8), capture_output=True, text=True, timeout=300)
    assert "2 processed, 0 already done" in res.stdout  # other settings: redone
    assert len(_rows(out)) == 2 and all(r["frames"] == "8" for r in _rows(out))


def test_batch_bad_outputs_ray_addresses_failures_and_formula_names(tmp_path):
    study = tmp_path / "recs"
    study.mkdir()
    shutil.copy(DEMO, study / "=HYPERLINK(evil).mp4")
    (study / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    _one_line_error(_cli("batch", str(study / "broken.mp4"), "--out", str(study / "broken.mp4")), 2, "overwrite")
    (tmp_path / "f").write_text("x")
    _one_line_error(_cli("batch", str(study), "--out", str(tmp_path / "f")), 2, "is a file")
    _one_line_error(_cli("batch", str(study), "--out", str(tmp_path / "o"), "--ray", "nonsense:1", timeout=30), 2,
                    "--ray")  # fmt: skip
    _one_line_error(_cli("batch", str(study), "--out", str(tmp_path / "o"), "--ray", "no port", timeout=30), 2)
    if shutil.which("ray") or _has("ray"):
        env = {**os.environ, "RAY_ADDRESS": ""}
        res = _cli("batch", str(study), "--out", str(tmp_path / "o"), "--ray", "auto", timeout=120, env=env)
        _one_line_error(res, 2, "--ray auto")
    out = tmp_path / "st"
    res = subprocess.run(_batch(study, out), capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert not list(out.glob("*.partial"))  # the failed recording leaves nothing behind
    text = (out / "study.csv").read_text()
    assert "'=HYPERLINK(evil)" in text and "\n=HYPERLINK" not in text  # text, not a spreadsheet formula


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --- 6 and 7. pixel caps hold before decoding: network frames and image files -----------------


def test_an_mjpeg_frame_whose_size_cannot_be_read_is_refused_not_decoded(server):
    jpg = bytearray(_frames_jpeg(1, (640, 480))[0])
    sof = next(i for i in range(2, len(jpg) - 9) if jpg[i] == 0xFF and jpg[i + 1] in (0xC0, 0xC2))
    jpg[sof + 5 : sof + 9] = (12000).to_bytes(2, "big") * 2
    app0_end = 4 + int.from_bytes(jpg[4:6], "big")
    hostile = bytes(jpg[:app0_end]) + b"\x00\x01\x02" + bytes(jpg[app0_end:])  # junk: the size is unreadable
    assert jpeg_size(hostile) is None

    frame, src = first_frame_after(server, hostile, good=2)
    assert frame.image.shape == (240, 320, 3) and src.stats.corrupt >= 3


def test_image_files_over_the_pixel_cap_are_skipped_in_one_line_before_decoding(tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(20000, 20000))
    with pytest.raises(DatasetError, match="20000x20000"):
        read_image(huge)
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(huge, folder / "a_huge.png")
    for i, p in enumerate(_frames(tmp_path / "tmp", 2)):
        shutil.move(p, folder / f"photo_{'bc'[i]}.png")
    (folder / "d_tiny.png").write_bytes(cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tobytes())
    res = _cli("run", str(folder), "--jsonl", str(tmp_path / "o.jsonl"))
    assert res.returncode == 0, res.stderr
    warnings = [x for x in res.stderr.splitlines() if x.startswith("warning:")]
    assert any("a_huge.png" in x and "cap" in x for x in warnings) and any("1x1" in x for x in warnings), warnings
    assert "Traceback" not in res.stderr
    names = [json.loads(x)["source"] for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert names == ["photo_b.png", "photo_c.png"]  # the frames after the bad ones are not lost


# --- 8. credentials in a query string are never printed -----------------------------------------


def test_credentials_in_query_strings_are_redacted_everywhere():
    assert (
        redact_url("rtsp://127.0.0.1:1/s?user=admin&password=S3cretQS") == "rtsp://127.0.0.1:1/s?user=***&password=***"
    )
    assert redact_url("http://cam/x.mjpg?res=720&pwd=S3cret#token=abc") == "http://cam/x.mjpg?res=720&pwd=***#token=***"
    assert redact_url("http://u:pw@cam/?api_key=k1&fps=30") == "http://***@cam/?api_key=***&fps=30"
    res = _cli("run", "rtsp://127.0.0.1:1/s?user=admin&password=S3cretQS", "--reconnect-timeout", "1", timeout=60)
    assert res.returncode != 0 and "S3cretQS" not in res.stdout + res.stderr and "admin" not in res.stderr


# --- 9. every file a model names is hashed, or the model is refused ---------------------------


def test_external_data_that_the_manifest_does_not_hash_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx", reason="building an external-data model needs onnx (the export extra)")
    from infantpose import Pipeline
    from infantpose.fileio import atomic_write_text
    from infantpose.runtime.bundle import load_bundle, sha256_file

    bundle = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    model = onnx.load(str(bundle / "lifter.fp32.onnx"))
    onnx.save_model(model, str(bundle / "lifter.fp32.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=False, size_threshold=4096)  # fmt: skip
    from infantpose.onnxfiles import onnx_external_files

    files = sorted(onnx_external_files((bundle / "lifter.fp32.onnx").read_bytes()))
    assert len(files) >= 2 and all((bundle / f).is_file() for f in files)
    doc = json.loads((bundle / "manifest.json").read_text())
    art = next(a for a in doc["stages"]["lifter"]["artifacts"] if a["file"] == "lifter.fp32.onnx")
    art["sha256"] = sha256_file(bundle / "lifter.fp32.onnx")
    art["external"] = {files[0]: sha256_file(bundle / files[0])}  # only one of them listed
    atomic_write_text(bundle / "manifest.json", json.dumps(doc))
    load_bundle(bundle)  # the manifest is well-formed and every file it lists matches its sha256
    with pytest.raises(BundleError, match="does not hash"):
        Pipeline.from_bundle(bundle)
    _one_line_error(_cli("check", str(bundle)), 2, "does not hash")
    art["external"] = {f: sha256_file(bundle / f) for f in files}  # every file listed: accepted
    atomic_write_text(bundle / "manifest.json", json.dumps(doc))
    Pipeline.from_bundle(bundle).close()


# --- 10 and 14. folders with odd files, signals at start-up ------------------------------------


def test_special_files_in_an_image_folder_neither_hang_nor_crash(tmp_path):
    folder = tmp_path / "frames"
    _frames(folder, 3)
    os.mkfifo(folder / "frame_0009.png")
    (folder / "frame_0010.png").symlink_to(folder / "frame_0010.png")  # a link to itself
    res = _cli("run", str(folder), "--jsonl", str(tmp_path / "o.jsonl"), timeout=60)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize("delay", [0.1, 0.3, 1.0])
def test_a_signal_during_start_up_is_never_lost_nor_a_traceback(tmp_path, delay):
    proc = subprocess.Popen([PY, "-m", "infantpose.cli", "run", str(DEMO), "--jsonl", str(tmp_path / "p.jsonl")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(delay)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, err)
    assert time.monotonic() - t0 < 3.0 and "Traceback" not in err
    lines = (tmp_path / "p.jsonl").read_text().splitlines() if (tmp_path / "p.jsonl").exists() else []
    assert len(lines) < 300  # stopped, not run to the end of the clip
    assert all(json.loads(x) for x in lines)


# --- 11. analyze: hostile results files ----------------------------------------------------------


def test_analyze_refuses_hostile_results_in_one_line(tmp_path):
    res = _cli("run", str(DEMO), "--max-frames", "8", "--jsonl", str(tmp_path / "r.jsonl"))
    assert res.returncode == 0
    good = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]

    def write(name: str, records: list | None = None, raw: bytes | None = None) -> Path:
        path = tmp_path / name
        path.write_bytes(raw if raw is not None else "\n".join(json.dumps(r) for r in records).encode())
        return path

    strings = [dict(r) for r in good]
    strings[0]["kp3d"] = [["a", "b", "c"]] * 16
    nan_t = [dict(r) for r in good]
    nan_t[2]["t"] = float("nan")
    cases = {
        write("rand.jsonl", raw=bytes(np.random.default_rng(0).integers(0, 256, 3000, np.uint8))): "UTF-8",
        write("strings.jsonl", strings): "strings.jsonl:1",
        write("deep.jsonl", raw=b"[" * 100000 + b"]" * 100000): "nested",
        write("nan.jsonl", nan_t): "finite",
    }
    for path, words in cases.items():
        _one_line_error(_cli("analyze", str(path), "--out", str(tmp_path / "a")), 2, words)
    bom = write("bom.jsonl", raw=b"\xef\xbb\xbf" + (tmp_path / "r.jsonl").read_bytes())
    assert _cli("analyze", str(bom), "--out", str(tmp_path / "b"), "--no-report").returncode == 0
    nobox = write("nobox.jsonl", [{k: v for k, v in r.items() if k != "box"} for r in good])
    res = _cli("analyze", str(nobox), "--out", str(tmp_path / "c"), "--video", str(DEMO))
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    _one_line_error(_cli("analyze", str(tmp_path / "r.jsonl"), "--out", "/proc/zz"), 2, "/proc")


# --- 12. eval --coco: hostile ground truth ----------------------------------------------------------


def test_eval_coco_refuses_hostile_ground_truth_in_one_line_before_any_image_runs(tmp_path):
    gt = _coco(tmp_path)
    doc = json.loads(gt.read_text())
    edits = {
        "string keypoints": lambda d: d["annotations"][0].__setitem__("keypoints", ["x"] * 51),
        "no width": lambda d: d["images"][0].pop("width"),
        "list image_id": lambda d: d["annotations"][0].__setitem__("image_id", [0]),
        "two-number bbox": lambda d: d["annotations"][0].__setitem__("bbox", [1, 2]),
        "NaN keypoint": lambda d: d["annotations"][0]["keypoints"].__setitem__(0, math.nan),
        "Infinity keypoint": lambda d: d["annotations"][0]["keypoints"].__setitem__(3, math.inf),
        "absolute file_name": lambda d: d["images"][0].__setitem__("file_name", "/etc/passwd"),
        "file_name out of the folder": lambda d: d["images"][0].__setitem__("file_name", "../gt.json"),
    }
    for n, (what, edit) in enumerate(edits.items()):
        bad = json.loads(json.dumps(doc))
        edit(bad)
        path = tmp_path / f"bad{n}.json"
        path.write_text(json.dumps(bad))
        res = _cli("eval", "--coco", str(path), "--images", str(tmp_path / "img"))
        _one_line_error(res, 2)
        assert "images:" not in res.stdout, what  # refused before the evaluation
    _one_line_error(_cli("eval", "--coco", str(gt)), 2, "--images FOLDER")
    if _has("pycocotools"):  # scoring needs the eval extra; the refusals above do not
        no_id = json.loads(json.dumps(doc))
        no_id["categories"][0].pop("id")  # one category: its id may be left out
        (tmp_path / "noid.json").write_text(json.dumps(no_id))
        assert _cli("eval", "--coco", str(tmp_path / "noid.json"), "--images", str(tmp_path / "img")).returncode == 0
        res = _cli("eval", "--coco", str(gt), "--images", str(tmp_path / "img"), "--json", str(tmp_path / "f/r.json"))
        assert res.returncode == 0 and json.loads((tmp_path / "f" / "r.json").read_text())["images"] == 2
    else:  # a missing pycocotools is found before any image runs
        _one_line_error(_cli("eval", "--coco", str(gt), "--images", str(tmp_path / "img")), 2, "pycocotools")
    (tmp_path / "g").write_text("a file")
    res = _cli("eval", "--coco", str(gt), "--images", str(tmp_path / "img"), "--json", str(tmp_path / "g" / "r.json"))
    _one_line_error(res, 2, "is a file")
    assert "images:" not in res.stdout  # the output is checked before the evaluation


# --- 15. the Python API --------------------------------------------------------------------------------


def test_the_python_api_refuses_bad_arguments_and_a_nan_time_poisons_nothing():
    from infantpose import Pipeline

    cap = cv2.VideoCapture(str(DEMO))
    frames = [cap.read()[1] for _ in range(4)]
    with Pipeline.from_bundle() as pipe:
        first = pipe(frames[0], 0.0)
        with pytest.raises(ValueError, match="finite"):
            pipe(frames[1], math.nan)
        later = pipe(frames[2], 2 / 30)
        assert later.kp3d is not None and np.isfinite(later.kp3d).all() and np.isfinite(later.kp2d).all()
        with pytest.raises(ValueError, match="finite"):
            pipe(frames[3], "0.1")
        assert first.found
    first.t = math.nan
    first.kp3d[0, 0] = math.inf
    record = json.dumps(first.to_json(), allow_nan=False)  # valid JSON: non-finite values are null
    assert json.loads(record)["t"] is None and json.loads(record)["kp3d"][0][0] is None
    for bad in ({"min_score": 2.0}, {"min_score": math.nan}, {"threads": "2"}, {"precision": 16}):
        with pytest.raises(InfantposeError):
            Pipeline.from_bundle(**bad)
    with Source(Path(DEMO)) as src:  # a Path works as well as a str
        assert next(src.frames()).image.shape[2] == 3
    for bad in ({"reconnect_timeout": "5"}, {"read_timeout": math.nan}, {"max_pixels": "big"}):
        with pytest.raises(InfantposeError):
            Source(str(DEMO), **bad)


# --- 16. found by a new user --------------------------------------------------------------------------


def test_bundle_params_and_joint_sets_a_runtime_cannot_honour_are_refused(tmp_path):
    from infantpose.runtime.bundle import read_manifest

    bundle = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    doc = json.loads((bundle / "manifest.json").read_text())
    for edit, words in (
        (lambda d: d.__setitem__("joint_set", "coco-133"), "joint_set"),
        (lambda d: d["stages"]["detector"]["params"].__setitem__("input_size", [100000, 100000]), "input_size"),
    ):
        bad = json.loads(json.dumps(doc))
        edit(bad)
        (bundle / "manifest.json").write_text(json.dumps(bad))
        with pytest.raises(BundleError, match=words):
            read_manifest(bundle)
        _one_line_error(_cli("run", str(DEMO), "--bundle", str(bundle), "--max-frames", "1"), 2, words)


def test_the_bare_command_too_many_threads_and_library_noise(tmp_path):
    res = _cli()
    assert res.returncode == 2 and "Usage" in res.stdout + res.stderr
    assert not [x for x in res.stderr.splitlines() if x.strip() == "error:" or x.startswith("error:  ")]
    res = _cli("run", str(DEMO), "--max-frames", "2", "--jsonl", str(tmp_path / "o.jsonl"), "--threads", "6")
    assert res.returncode == 0
    assert any(x.startswith("warning: --threads 6") for x in res.stderr.splitlines()), res.stderr
    res = _cli("eval", "--coco", str(tmp_path / "none.json"), "--images", str(tmp_path))
    _one_line_error(res, 2)  # nothing from OpenCV, numpy or Ray before the one line


def test_importing_the_cli_module_keeps_the_programs_own_signal_handlers():
    code = ("import signal; h = signal.getsignal(signal.SIGINT); import infantpose.cli; "
            "assert signal.getsignal(signal.SIGINT) is h")  # fmt: skip
    res = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
