"""Runtime: torch-free pipeline, sources (file, folder, live MJPEG with restart), sinks,
signals and one-line errors. Tests that take the ``env`` fixture export a bundle from
random-initialised models (torch); the others run on the runtime-only install."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from infantpose.runtime.sources import Source, redact_url

from .fixtures import make_bundle, make_minirgbd

PY = sys.executable


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    pytest.importorskip("torch", reason="building the test bundle needs the train/export extras")
    tmp = tmp_path_factory.mktemp("runtime")
    data = tmp / "data"
    make_minirgbd(data, sequences=("01", "11"), frames=110)
    bundle = make_bundle(data, tmp / "bundle")
    return {"data": data, "bundle": bundle, "tmp": tmp}


def _cli(*args, timeout=120):
    return subprocess.run([PY, "-m", "infantpose.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_pipeline_never_imports_torch(env):
    code = f"""
import sys, cv2
from infantpose.runtime.pipeline import Pipeline
p = Pipeline.from_bundle({str(env["bundle"])!r}, device="cpu")
img = cv2.imread({str(env["data"] / "11" / "rgb" / "syn_00000.png")!r})
for i in range(5):
    r = p(img, t=i / 30)
assert r.kp2d.shape == (16, 2) and r.kp3d.shape == (16, 3)
bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]
assert not bad, bad
"""
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_file_source_every_frame_in_order(env, tmp_path):
    seq = env["data"] / "11"
    clip = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    for f in range(40):
        w.write(cv2.imread(str(seq / "rgb" / f"syn_{f:05d}.png")))
    w.release()
    jsonl = tmp_path / "r.jsonl"
    csvf = tmp_path / "r.csv"
    res = _cli("run", str(clip), "--bundle", str(env["bundle"]), "--jsonl", str(jsonl), "--csv", str(csvf),
               "--out", str(tmp_path / "r.mp4"), "--no-show", "--device", "cpu")  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in lines] == list(range(40))
    r = lines[3]
    assert set(r) == {"frame", "source", "t", "box", "score", "tracked", "kp2d", "conf", "kp3d", "ms"}
    assert len(r["kp2d"]) == 16 and len(r["kp3d"][0]) == 3 and r["t"] == pytest.approx(3 / 30)
    assert len(csvf.read_text().splitlines()) == 41
    cap = cv2.VideoCapture(str(tmp_path / "r.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40


def test_minirgbd_folder_source_names_frames(env, tmp_path):
    jsonl = tmp_path / "r.jsonl"
    res = _cli("run", str(env["data"] / "11"), "--bundle", str(env["bundle"]), "--jsonl", str(jsonl),
               "--max-frames", "5", "--no-show")  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert [x["source"] for x in lines] == [f"syn_{i:05d}.png" for i in range(5)]


class _MJPEGHandler(BaseHTTPRequestHandler):
    frame = cv2.imencode(".jpg", np.full((120, 160, 3), 128, np.uint8))[1].tobytes()
    fps = 100.0

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            while not self.server.stopping:
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + self.frame + b"\r\n")
                time.sleep(1 / self.fps)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def _serve(port=0):
    server = ThreadingHTTPServer(("127.0.0.1", port), _MJPEGHandler)
    server.stopping = False
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stop(server):
    server.stopping = True
    server.shutdown()
    server.server_close()


def test_slow_consumer_drops_frames_instead_of_lagging():
    server = _serve()
    url = f"http://127.0.0.1:{server.server_address[1]}/stream"
    src = Source(url)
    lags = []
    try:
        assert src.live
        for i, frame in enumerate(src.frames()):
            lags.append(time.time() - frame.t)
            time.sleep(0.05)  # a consumer 5x slower than the stream
            if i == 20:
                break
    finally:
        src.close()
        _stop(server)
    assert src.stats.dropped > 20
    assert max(lags[5:]) < 0.1  # latency stays bounded: we always get a fresh frame


def test_mjpeg_stream_survives_a_server_restart():
    server = _serve()
    port = server.server_address[1]
    src = Source(f"http://127.0.0.1:{port}/live", reconnect_timeout=20)
    got_after = 0
    try:
        frames = src.frames()
        for _ in range(5):
            next(frames)
        _stop(server)
        time.sleep(0.5)
        server = _serve(port)
        deadline = time.time() + 20
        while time.time() < deadline and got_after < 5:
            next(frames)
            got_after += 1
    finally:
        src.close()
        _stop(server)
    assert got_after == 5
    assert src.stats.reconnects >= 1
    assert not src._thread.is_alive()  # stopped cleanly


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_a_signal_leaves_readable_video_and_complete_jsonl(env, tmp_path, sig):
    jsonl, video = tmp_path / "r.jsonl", tmp_path / "r.mp4"
    proc = subprocess.Popen(
        [PY, "-m", "infantpose.cli", "run", str(env["data"] / "01"), "--bundle", str(env["bundle"]),
         "--jsonl", str(jsonl), "--out", str(video), "--no-show"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline and (not jsonl.exists() or len(jsonl.read_text().splitlines()) < 10):
        time.sleep(0.1)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err  # 130 for Ctrl-C, 129 for a closed terminal
    assert "interrupted" in out
    lines = jsonl.read_text().splitlines()
    records = [json.loads(x) for x in lines]  # every line complete
    assert 10 <= len(records) < 110
    cap = cv2.VideoCapture(str(video))
    assert cap.isOpened()
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(records)


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "/nonexistent/clip.mp4"], "source not found"),
        (["run", "97"], "cannot open camera 97"),
        (["run", "http://user:secret@127.0.0.1:9/x"], "cannot open"),
        (["run", "ftp://example/x"], "unsupported stream URL scheme"),
        (["run", ""], "the source is empty"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(env, args, message):
    res = _cli(*args, "--bundle", str(env["bundle"]))
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error:"), res.stderr
    assert message in res.stderr
    assert "secret" not in res.stderr + res.stdout


def test_unreadable_bundle_exit_2(env, tmp_path):
    bad = tmp_path / "bundle"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    res = _cli("run", str(env["data"] / "11"), "--bundle", str(bad))
    assert res.returncode == 2 and res.stderr.startswith("error:") and res.stderr.count("\n") == 1, res.stderr


def test_redact_url():
    assert redact_url("rtsp://admin:pw@10.0.0.2:554/s") == "rtsp://***@10.0.0.2:554/s"
    assert redact_url("http://host/x") == "http://host/x"
    for url in ("rtsp://alice:S3c/retPW@127.0.0.1:1/s", "rtsp://alice:S3c@retPW@127.0.0.1:1/s"):
        assert redact_url(url) == "rtsp://***@127.0.0.1:1/s"  # "/" and "@" inside the password
    assert "\x1b" not in redact_url("http://host/\x1b[2J")  # control characters escaped


def test_credentials_never_printed_and_outputs_never_overwrite_the_input(env, tmp_path):
    res = _cli("run", "http://alice:S3cretPW@127.0.0.1:9/cam", "--bundle", str(env["bundle"]), "--no-show")
    assert res.returncode == 2 and "S3cretPW" not in res.stdout + res.stderr and "Traceback" not in res.stderr
    clip = tmp_path / "x.mp4"
    clip.write_bytes(b"not really a video")
    same = str(tmp_path / "p")
    for args in (["--jsonl", str(clip)], ["--out", str(clip)], ["--jsonl", same, "--csv", same]):
        res = _cli("run", str(clip), "--bundle", str(env["bundle"]), "--no-show", *args)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert clip.read_bytes() == b"not really a video"


def test_one_euro_filter_smooths_noise_and_follows_steps():
    from infantpose.runtime.smoothing import OneEuroFilter

    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    noisy = 100 + rng.normal(0, 2, 300)
    out = np.array([f(np.array([v]), i / 30)[0] for i, v in enumerate(noisy)])
    assert np.std(out[50:]) < 0.5 * np.std(noisy[50:])
    f = OneEuroFilter(min_cutoff=1.0, beta=1.0)
    step = [f(np.array([0.0 if i < 30 else 100.0]), i / 30)[0] for i in range(60)]
    assert step[-1] > 95


if os.environ.get("INFANTPOSE_TEST_CAMERA"):  # pragma: no cover - needs a real webcam

    def test_real_camera(env):
        res = _cli("run", "0", "--bundle", str(env["bundle"]), "--max-frames", "10", "--no-show")
        assert res.returncode == 0, res.stderr


def test_bench_writes_json_markdown_and_plot(env, tmp_path):
    res = _cli("bench", "--bundle", str(env["bundle"]), "--source", str(env["data"] / "11"), "--frames", "20",
               "--backends", "onnxruntime-cpu", "--precisions", "fp32", "--batch", "1,2", "--live-seconds", "1",
               "--rounds", "3", "--json", str(tmp_path / "b.json"),
               "--markdown", str(tmp_path / "b.md"), "--plot", str(tmp_path / "b.png"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "b.json").read_text())
    row = report["rows"][0]
    assert row["precision"] == "fp32" and row["tracking"]["fps"] > 0
    rounds = row["tracking"]["fps_rounds"]
    assert len(rounds) == 3 and row["tracking"]["fps"] == sorted(rounds)[1]  # the median pass is reported
    assert row["detector_every_frame"]["detector_runs"] == 20
    assert set(row["batch"]["pose2d"]) == {"1", "2"}
    assert row["live"]["capture_to_result_ms"]["p99"] > 0
    assert report["machine"]["cpu"] and report["peak_rss_mb"] > 0
    assert report["backends"] == ["onnxruntime-cpu"] and row["artifacts"]["pose2d"] == "onnx/fp32"
    live = [r for r in report["ratios"] if "live capture-to-result" in r["what"]]
    assert live and live[0]["value"] == row["live"]["p99_in_frame_intervals"]
    assert "| onnxruntime fp32 |" in (tmp_path / "b.md").read_text()
    assert cv2.imread(str(tmp_path / "b.png")) is not None
    cmp = _cli("bench", "--compare", str(tmp_path / "b.json"), "--compare", str(tmp_path / "b.json"))
    assert cmp.returncode == 0 and "1.00" in cmp.stdout


def test_bench_refuses_unknown_or_missing_backends(env):
    for backends, message in (("onnxruntime-npu", "unknown backend 'onnxruntime-npu'"),
                              ("tensorrt", "backend tensorrt: ")):  # fmt: skip
        res = _cli("bench", "--bundle", str(env["bundle"]), "--source", str(env["data"] / "11"), "--frames", "20",
                   "--backends", backends)  # fmt: skip
        if backends == "tensorrt" and res.returncode == 0:
            pytest.skip("this machine runs TensorRT")
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_no_infant_frames_write_nulls_and_stills_are_detected_one_by_one(env, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("cot.png", "park.png", "sofa.png"):
        cv2.imwrite(str(photos / name), cv2.imread(str(env["data"] / "11" / "rgb" / "syn_00000.png")))
    jsonl, csv_path = tmp_path / "p.jsonl", tmp_path / "p.csv"
    res = _cli("run", str(photos), "--bundle", str(env["bundle"]), "--jsonl", str(jsonl), "--no-show")
    assert res.returncode == 0, res.stderr
    recs = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(recs) == 3 and not any(r["tracked"] for r in recs)  # stills: the detector on each
    res = _cli("run", str(photos), "--bundle", str(env["bundle"]), "--jsonl", str(jsonl), "--csv", str(csv_path),
               "--min-score", "1.0", "--no-show")  # fmt: skip
    assert res.returncode == 0, res.stderr
    recs = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert all(r["box"] is None and r["kp2d"] is None and r["kp3d"] is None for r in recs)
    rows = csv_path.read_text().splitlines()
    assert len(rows) == 4 and rows[1].split(",")[4:] == [""] * (len(rows[0].split(",")) - 4)


def test_mixed_frame_sizes_are_all_written(env, tmp_path):
    photos = tmp_path / "mixed"
    photos.mkdir()
    img = cv2.imread(str(env["data"] / "11" / "rgb" / "syn_00000.png"))
    for i in range(6):
        cv2.imwrite(str(photos / f"{'ab'[i % 2]}{i}.png"), img if i % 2 else cv2.resize(img, (320, 240)))
    video, jsonl = tmp_path / "v.mp4", tmp_path / "p.jsonl"
    res = _cli("run", str(photos), "--bundle", str(env["bundle"]), "--out", str(video), "--jsonl", str(jsonl),
               "--no-show")  # fmt: skip
    assert res.returncode == 0, res.stderr
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(jsonl.read_text().splitlines()) == 6
