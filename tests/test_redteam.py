"""Red team: what infantpose promises when a user, a file, a server or the system misbehaves.

Each test is one promise (docs/reliability.md). Everything here runs on the runtime-only
install (no torch) against the shipped bundle; hostile servers are small fixtures on
127.0.0.1, and every subprocess has a timeout so that a hang fails instead of blocking CI.

The common promise: bad input is one line on stderr starting with ``error:``, no traceback,
no raw control character, no credential, and a documented exit status (2: bad input or
environment, 1: a failed check, 128 + N: stopped by signal N); nothing already written is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from infantpose.runtime.pipeline import DEFAULT_BUNDLE
from infantpose.runtime.sources import Source, jpeg_size

PY = sys.executable
DEMO = DEFAULT_BUNDLE.parent / "demo.mp4"
pytestmark = pytest.mark.skipif(not (DEFAULT_BUNDLE / "manifest.json").is_file(), reason="no shipped bundle")


def _cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "infantpose.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)  # fmt: skip


def _one_line_error(res: subprocess.CompletedProcess, code: int = 2, *words: str) -> None:
    """The promise for bad input: exit ``code``, one ``error:`` line, no traceback or escape character."""
    assert res.returncode == code, (res.returncode, res.stderr)
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "Traceback" not in res.stderr and "\x1b" not in res.stderr + res.stdout
    for w in words:
        assert w in lines[0], lines[0]


def _frames_jpeg(n: int = 1, size: tuple[int, int] = (320, 240)) -> list[bytes]:
    cap = cv2.VideoCapture(str(DEMO))
    out = []
    for _ in range(n):
        ok, img = cap.read()
        assert ok
        out.append(cv2.imencode(".jpg", cv2.resize(img, size))[1].tobytes())
    return out


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 whose GET handler is ``behave(handler)``; counts connections."""

    def __init__(self, behave: Callable[[BaseHTTPRequestHandler], None]) -> None:
        outer = self
        self.connections = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.connections += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    behave(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _mjpeg_head(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
    h.end_headers()


def _mjpeg_part(h: BaseHTTPRequestHandler, jpg: bytes) -> None:
    h.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg) + jpg + b"\r\n")


def _garbage(h: BaseHTTPRequestHandler, good: int = 0, auth: str | None = None) -> None:
    """An MJPEG stream: ``good`` real frames, then bytes that never hold a JPEG, for ever."""
    if auth is not None and h.headers.get("Authorization") != auth:
        h.send_response(401)
        h.send_header("WWW-Authenticate", 'Basic realm="cam"')
        h.end_headers()
        return
    _mjpeg_head(h)
    for jpg in _frames_jpeg(good):
        _mjpeg_part(h, jpg)
        time.sleep(1 / 30)
    noise = np.random.default_rng(0).integers(0, 255, 65536, dtype=np.uint8).tobytes().replace(b"\xff", b"\0")
    deadline = time.time() + 60
    while time.time() < deadline:
        h.wfile.write(noise)
        time.sleep(0.01)


@pytest.fixture
def server():
    made: list[_Server] = []

    def make(behave):
        made.append(_Server(behave))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _raw_server(reply: bytes) -> tuple[socket.socket, int]:
    """A socket server that answers every connection with ``reply`` (a hostile HTTP response)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            try:
                conn.recv(65536)
                conn.sendall(reply)
            except OSError:
                pass
            finally:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock, sock.getsockname()[1]


# --- 2. streams that never give a frame cannot hang the run ---------------------------------


def test_a_stream_of_garbage_ends_with_one_line_instead_of_hanging(server):
    s = server(_garbage)
    t0 = time.time()
    res = _cli("run", f"http://127.0.0.1:{s.port}/", "--reconnect-timeout", "2", "--read-timeout", "1", "--no-show",
               timeout=60)  # fmt: skip
    _one_line_error(res, 2, "no frame could be read")
    assert time.time() - t0 < 30


def test_good_frames_then_garbage_keep_a_playable_video(server, tmp_path):
    s = server(lambda h: _garbage(h, good=20 if s.connections == 1 else 0))  # reconnections get garbage only
    video, jsonl = tmp_path / "v.mp4", tmp_path / "r.jsonl"
    res = _cli("run", f"http://127.0.0.1:{s.port}/", "--reconnect-timeout", "2", "--read-timeout", "1", "--no-show",
               "--out", str(video), "--jsonl", str(jsonl), timeout=90)  # fmt: skip
    assert res.returncode == 0, res.stderr
    records = [json.loads(x) for x in jsonl.read_text().splitlines()]
    cap = cv2.VideoCapture(str(video))
    assert 1 <= len(records) <= 20 and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(records)


def test_ctrl_c_on_a_stalled_stream_stops_within_two_seconds(server, tmp_path):
    s = server(_garbage)
    jsonl = tmp_path / "r.jsonl"
    proc = subprocess.Popen([PY, "-m", "infantpose.cli", "run", f"http://127.0.0.1:{s.port}/", "--no-show",
                             "--reconnect-timeout", "600", "--jsonl", str(jsonl)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(8)  # bundle loaded, stream open, reader waiting on garbage
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 2.0, err
    assert proc.returncode == 130, err
    assert jsonl.exists()


def test_an_mjpeg_camera_is_opened_once_and_basic_auth_comes_from_the_url(server):
    import base64

    token = "Basic " + base64.b64encode(b"alice:S3c@ret/PW").decode()
    s = server(lambda h: _garbage(h, good=5, auth=token))
    url = f"http://alice:S3c%40ret%2FPW@127.0.0.1:{s.port}/cam"
    src = Source(url, reconnect_timeout=1, read_timeout=1)
    try:
        frame = next(src.frames())
        assert frame.image.shape == (240, 320, 3)
        assert s.connections == 1  # the probe's connection is the stream's
        assert "S3c" not in src.name
    finally:
        src.close()


def test_oversized_network_frames_are_skipped_before_decoding(server):
    jpg = bytearray(_frames_jpeg(1)[0])
    assert jpeg_size(bytes(jpg)) == (320, 240)
    sof = next(i for i in range(2, len(jpg) - 9) if jpg[i] == 0xFF and jpg[i + 1] in (0xC0, 0xC2))
    jpg[sof + 5 : sof + 9] = (12000).to_bytes(2, "big") * 2  # the header now says 12000 x 12000
    assert jpeg_size(bytes(jpg)) == (12000, 12000)

    frame, src = first_frame_after(server, bytes(jpg))
    assert frame.image.shape == (240, 320, 3)
    assert src.stats.corrupt >= 3


def first_frame_after(server, bad: bytes, bad_count: int = 3, good: int = 3) -> tuple:
    """(first frame, closed Source) of an MJPEG stream that sends ``bad_count`` copies of ``bad`` and then
    ``good`` real 320x240 frames."""

    def bad_then_good(h):
        _mjpeg_head(h)
        for _ in range(bad_count):
            _mjpeg_part(h, bad)
        for small in _frames_jpeg(good):
            _mjpeg_part(h, small)
        time.sleep(5)

    s = server(bad_then_good)
    src = Source(f"http://127.0.0.1:{s.port}/", reconnect_timeout=1, read_timeout=2)
    try:
        return next(src.frames()), src
    finally:
        src.close()


# --- 3 and 5. hostile or broken servers: one line, URL redacted, nothing raw on the terminal --


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 \x1b]0;pwned\x07\x1b[2J OK\r\nContent-Type: text/plain\r\n\r\nhello",  # escapes
        b"garbage that is no status line\r\n\r\n",  # BadStatusLine
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n",  # LineTooLong
        b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",  # too many headers
        b"HTTP/1.1 500 \x1b[31mbroken\r\n\r\n",  # an error status with escapes
    ],
)
def test_hostile_http_answers_are_one_clean_line(reply):
    sock, port = _raw_server(reply)
    try:
        res = _cli("run", f"http://bob:Hunter2@127.0.0.1:{port}/cam", "--no-show", "--reconnect-timeout", "1",
                   "--read-timeout", "1", timeout=60)  # fmt: skip
    finally:
        sock.close()
    _one_line_error(res, 2)
    assert "Hunter2" not in res.stderr + res.stdout and "pwned" not in res.stderr


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:abc/", "http://alice:S3cretPW@127.0.0.1/cam", "rtsp://alice:S3c/retPW@127.0.0.1:1/s",
     "rtsp://alice:S3c@retPW@127.0.0.1:1/s"],
)  # fmt: skip
def test_bad_or_unreachable_urls_never_print_credentials(url):
    res = _cli("run", url, "--no-show", "--reconnect-timeout", "1", timeout=60)
    _one_line_error(res, 2)
    assert "S3c" not in res.stderr + res.stdout and "retPW" not in res.stderr


# --- 6 and 7. signals, displays and full disks ----------------------------------------------


def test_no_display_with_show_is_one_line_before_anything_is_written(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    video = tmp_path / "v.mp4"
    res = _cli("run", str(DEMO), "--show", "--out", str(video), env=env)
    _one_line_error(res, 2, "--show")
    assert not video.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_full_disk_is_one_line_and_the_other_outputs_are_finalised(tmp_path):
    video = tmp_path / "v.mp4"
    res = _cli("run", str(DEMO), "--jsonl", "/dev/full", "--out", str(video), "--no-show", "--max-frames", "5")
    _one_line_error(res, 2, "No space left on device")
    cap = cv2.VideoCapture(str(video))  # the video got the frame the JSONL could not take, and was closed
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 1


def test_a_cut_line_is_never_left_behind(tmp_path):
    from infantpose.errors import InfantposeError
    from infantpose.runtime.sinks import LineFile

    f = LineFile(tmp_path / "r.jsonl")
    f.write_line('{"frame": 0}')
    os.close(f.fd)  # the next write fails as a full disk would
    with pytest.raises(InfantposeError, match="keeps its first 1 complete lines"):
        f.write_line('{"frame": 1}')
    assert (tmp_path / "r.jsonl").read_text() == '{"frame": 0}\n'


def test_jsonl_to_standard_output_keeps_the_summary_on_stderr():
    res = _cli("run", str(DEMO), "--jsonl", "-", "--no-show", "--max-frames", "3")
    assert res.returncode == 0, res.stderr
    assert [json.loads(x)["frame"] for x in res.stdout.splitlines()] == [0, 1, 2]
    assert "frames 3" in res.stderr


# --- 4 and the "also" list: sources and inputs ------------------------------------------------


def test_unreadable_images_or_silent_sources_are_not_a_silent_success(tmp_path):
    bad = tmp_path / "photos"
    bad.mkdir()
    for i in range(3):
        (bad / f"p{i}.jpg").write_bytes(b"not an image")
    _one_line_error(_cli("run", str(bad), "--no-show"), 2, "no frame could be read", "3 unreadable")


def test_a_folder_named_like_a_camera_is_a_folder(tmp_path, monkeypatch):
    folder = tmp_path / "7"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((64, 64, 3), 128, np.uint8))
    monkeypatch.chdir(tmp_path)
    src = Source("7")
    try:
        assert not src.live and src.name.endswith("7")
    finally:
        src.close()


@pytest.mark.parametrize(
    "args,words",
    [
        (["run", str(DEMO), "--reconnect-timeout", "nan"], ["reconnect timeout"]),
        (["run", str(DEMO), "--precision", "fp64"], ["--precision"]),
        (["run", str(DEMO), "--view", "sideways"], ["--view"]),
        (["run", str(DEMO), "--engine"], ["no fp32 engine model"]),
        (["run", str(DEMO), "--jsonl", str(DEMO)], ["would overwrite the input"]),
        (["run", str(DEMO), "--out", "-"], ["--out"]),
        (["run", ""], ["the source is empty"]),
        (["run", "0", "--camera-size", "12x"], ["--camera-size"]),
        (["bench", "--precisions", "fp64"], ["--precisions"]),
        (["bench", "--live-seconds", "-1"], ["--live-seconds"]),
        (["bench", "--peer", "/nonexistent/peer.json"], ["no such report"]),
        (["bench", "--compare", "/nonexistent/a.json", "/nonexistent/b.json"], ["no such report"]),
        (["nosuchcommand"], ["No such command"]),
    ],
)
def test_bad_arguments_are_one_line(args, words):
    _one_line_error(_cli(*args, timeout=60), 2, *words)


def test_the_source_api_takes_a_camera_index_as_an_int():
    from infantpose.errors import InfantposeError

    with pytest.raises(InfantposeError, match="camera 97"):
        Source(97)


# --- 8 and 9. bundles --------------------------------------------------------------------


def _copy_bundle(tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(DEFAULT_BUNDLE, tmp_path / "bundle"))


def _rehash(bundle: Path) -> None:
    from infantpose.runtime.bundle import sha256_file

    m = json.loads((bundle / "manifest.json").read_text())
    for stage in m["stages"].values():
        for a in stage["artifacts"]:
            a["sha256"] = sha256_file(bundle / a["file"])
    (bundle / "manifest.json").write_text(json.dumps(m))


def test_check_works_without_torch_and_finds_tampering(tmp_path):
    res = _cli("check")
    assert res.returncode == 0 and "is intact" in res.stdout, res.stderr
    b = _copy_bundle(tmp_path)
    with open(b / "lifter.fp32.onnx", "r+b") as f:
        f.seek(-10, os.SEEK_END)
        f.write(b"0123456789")
    _one_line_error(_cli("check", str(b)), 2, "sha256 does not match")


def test_a_model_of_another_stage_is_refused_at_load(tmp_path):
    import shutil

    b = _copy_bundle(tmp_path)
    shutil.copy(b / "detector.fp32.onnx", b / "lifter.fp32.onnx")
    _rehash(b)  # the hashes are right: the contents are wrong
    _one_line_error(_cli("run", str(DEMO), "--bundle", str(b), "--no-show"), 2, "are not the manifest's")


@pytest.mark.parametrize(
    "mutate,words",
    [
        (lambda m: m["stages"]["detector"]["params"].pop("input_size"), "'input_size'"),
        (lambda m: m["stages"]["detector"]["params"].update(stride=0), "'stride'"),
        (lambda m: m.update(stages=list(m["stages"])), "stages must be a JSON object"),
    ],
)
def test_malformed_manifests_are_one_line(tmp_path, mutate, words):
    b = _copy_bundle(tmp_path)
    m = json.loads((b / "manifest.json").read_text())
    mutate(m)
    (b / "manifest.json").write_text(json.dumps(m))
    _one_line_error(_cli("run", str(DEMO), "--bundle", str(b), "--no-show"), 2, words)


def test_external_data_the_manifest_does_not_hash_is_never_loaded(tmp_path):
    onnx = pytest.importorskip("onnx", reason="writing an external-data model needs the export extra")
    b = _copy_bundle(tmp_path)
    model = onnx.load(str(b / "lifter.fp32.onnx"))
    onnx.save(model, str(b / "lifter.fp32.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="lifter.data", size_threshold=0)  # fmt: skip
    _rehash(b)  # the model file is hashed; its weights file is not listed
    _one_line_error(_cli("run", str(DEMO), "--bundle", str(b), "--no-show"), 2, "external-data")


def test_verification_recorded_as_failed_is_a_warning(tmp_path):
    b = _copy_bundle(tmp_path)
    m = json.loads((b / "manifest.json").read_text())
    m["meta"]["verified"] = {**m["meta"].get("verified", {}), "passed": False}
    (b / "manifest.json").write_text(json.dumps(m))
    res = _cli("run", str(DEMO), "--bundle", str(b), "--no-show", "--max-frames", "2")
    assert res.returncode == 0
    assert [x for x in res.stderr.splitlines() if x.startswith("warning:") and "FAILED" in x], res.stderr


def test_the_memory_benchmark_writes_valid_json(tmp_path):
    out = tmp_path / "m.json"
    cmd = [PY, "-m", "infantpose.benchmarks.memory", "--source", str(DEMO), "--frames", "3", "--every", "10",
           "--json", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr

    def no_nan(token):
        raise AssertionError(f"{token} in the JSON")

    report = json.loads(out.read_text(), parse_constant=no_nan)
    assert report["slope_kib_per_1000_frames"] is None  # too few frames to fit: null, not NaN


def test_results_come_with_a_sidecar_naming_joints_units_and_bundle(tmp_path):
    res = _cli("run", str(DEMO), "--jsonl", str(tmp_path / "p.jsonl"), "--no-show", "--max-frames", "2")
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "p.meta.json").read_text())
    assert meta["joints"][0] == "r_ankle" and "mm" in meta["units"]["kp3d"] and len(meta["manifest_sha256"]) == 64


def test_eval_scores_the_installed_bundle_without_checkpoints(tmp_path):
    from .fixtures import make_minirgbd

    make_minirgbd(tmp_path / "data", sequences=("11", "12"), frames=3)
    res = _cli("eval", "--data", str(tmp_path / "data"), "--split", "test", "--bundle", "default")
    assert res.returncode == 0, res.stderr
    assert "3D full chain" in res.stdout and "box IoU" in res.stdout


def test_the_annotated_video_is_h264_when_the_encoder_is_there(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="H.264 needs the video extra (imageio-ffmpeg)")
    video = tmp_path / "v.mp4"
    res = _cli("run", str(DEMO), "--out", str(video), "--no-show", "--max-frames", "6")
    assert res.returncode == 0 and "video h264" in res.stdout, res.stderr
    cap = cv2.VideoCapture(str(video))
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
    assert "".join(chr((fourcc >> 8 * i) & 255) for i in range(4)).lower() in ("h264", "avc1")
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    res = _cli("run", str(DEMO), "--out", str(tmp_path / "m.mp4"), "--codec", "mp4v", "--no-show", "--max-frames", "2")
    assert res.returncode == 0 and "video mp4v" in res.stdout
