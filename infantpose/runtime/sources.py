"""Frame sources: webcam index, video file, network stream (RTSP / HTTP MJPEG), image folder,
MINI-RGBD sequence folder. Capture runs in its own thread.

Files and folders are read frame by frame in order (a bounded queue: nothing is
dropped). Live sources keep only the newest frame: frames the consumer did not
take in time are dropped and counted, so latency never builds up. A live source
that stalls or drops is reopened with exponential backoff.
"""

from __future__ import annotations

import base64
import http.client
import math
import os
import re
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Full, Queue
from typing import Any

import cv2
import numpy as np

from infantpose.errors import DatasetError, InfantposeError
from infantpose.fileio import ImageTooLarge, read_image
from infantpose.imagesize import MAX_IMAGE_PIXELS, jpeg_size

__all__ = ["MAX_FRAME_PIXELS", "Frame", "Source", "jpeg_size", "redact_url"]

# FFmpeg (inside OpenCV) prints to stderr on its own, URLs included: keep it quiet.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
# Frames (network frames, image files) larger than this many pixels are skipped (counted as
# corrupt) before decoding: a 12000 x 12000 JPEG alone would take 432 MB. 8K UHD passes.
MAX_FRAME_PIXELS = MAX_IMAGE_PIXELS
# A network stream that delivers no decodable frame for this many seconds is treated as stalled.
READ_DEADLINE_S = 5.0


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``scheme://user:pw@host/...`` -> (URL without credentials, user, password); the last ``@`` ends them."""
    scheme, sep, rest = url.partition("://")
    at = rest.rfind("@") if sep else -1
    if at < 0:
        return url, None, None
    end = min([i for i in (rest.find(c, at) for c in "/?#") if i >= 0] or [len(rest)])
    user, _, password = rest[:at].partition(":")
    return scheme + sep + rest[at + 1 : end] + rest[end:], urllib.parse.unquote(user), urllib.parse.unquote(password)


def _http_open(url: str, timeout: float) -> Any:
    """urlopen with HTTP basic auth taken from the URL's credentials (what IP cameras use)."""
    clean, user, password = split_credentials(url)
    req = urllib.request.Request(clean)
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
        req.add_header("Authorization", f"Basic {token}")
    return urllib.request.urlopen(req, timeout=timeout)


# Query or fragment parameters whose names look like credentials (password=, pwd=, token=, ...).
_SECRET_PARAM = re.compile(r"(?i)(pass|pwd|secret|token|auth|key|sig|cred|session|user|login)")
_PARAM = re.compile(r"([?#&;])([^=&;#?]*)=([^&;#]*)")


def _hide_param(m: re.Match) -> str:
    sep, name, _value = m.groups()
    return f"{sep}{name}=***" if _SECRET_PARAM.search(urllib.parse.unquote(name)) else m.group(0)


def redact_url(url: str) -> str:
    """The URL for logs and errors: user:password@ replaced by ***@, credential-like query and fragment
    values (``?user=admin&password=...``, ``?pwd=``, ``#token=``) by ***, control characters escaped.

    The credentials end at the *last* ``@`` before the host (:func:`split_credentials`), so
    passwords holding ``/``, ``:`` or ``@`` are hidden whole.
    """
    clean, user, _ = split_credentials(url)
    if user is not None:
        clean = clean.replace("://", "://***@", 1)
    query = re.search(r"[?#]", clean) if "://" in clean else None
    if query is not None:
        clean = clean[: query.start()] + _PARAM.sub(_hide_param, clean[query.start() :])
    return clean.encode("unicode_escape").decode("ascii")


@dataclass
class Frame:
    """A captured BGR frame with its index, capture time (s) and file name (None for live)."""

    index: int
    image: np.ndarray
    t: float
    name: str | None = None


class SourceStats:
    """Counters shared between the capture thread and the consumer."""

    def __init__(self) -> None:
        self.read = 0
        self.dropped = 0
        self.corrupt = 0
        self.reconnects = 0


class _Reader:
    """One way to pull frames: ``open()``, ``read() -> image | None`` (None: end or failure), ``close()``."""

    live = False
    stills = False  # unrelated photos rather than the frames of one recording
    fps: float | None = None
    label = ""
    stop = threading.Event()  # replaced by the owning Source's: a blocking read checks it

    def open(self) -> None: ...

    def read(self) -> tuple[np.ndarray | None, str | None]:
        raise NotImplementedError

    def close(self) -> None: ...


class _Capture(_Reader):
    """cv2.VideoCapture over a file, a camera index or an RTSP/HTTP URL."""

    def __init__(
        self, target: str | int, live: bool, label: str, size: tuple[int, int] | None = None, fps: float | None = None
    ) -> None:
        self.target, self.live, self.label = target, live, label
        self.want_size, self.want_fps = size, fps  # a camera's requested resolution (W, H) and rate
        self.cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        # OpenCV logs its own multi-line warnings for a missing camera: we report one line instead.
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            self.cap = cv2.VideoCapture(self.target)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not self.cap.isOpened():
            self.cap.release()
            raise InfantposeError(f"cannot open {self.label}")
        if self.want_size is not None:  # a request: the camera picks its nearest mode
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.want_size[0])
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.want_size[1])
        if self.want_fps is not None:
            self.cap.set(cv2.CAP_PROP_FPS, self.want_fps)
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 1 <= fps <= 240 else None

    def read(self) -> tuple[np.ndarray | None, str | None]:
        ok, img = self.cap.read() if self.cap is not None else (False, None)
        return (img if ok else None), None

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


def frame_order(path: Path) -> tuple:
    """Sort key that orders numbered names by their numbers (``frame_2`` before ``frame_10``), so a
    recording whose frame numbers are not zero-padded still plays in order."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", path.name))


def numbered_frames(names: list[str]) -> bool:
    """Whether file names look like the frames of one recording: at least two, the same name once the
    digits are taken out (``syn_00001.png``, ``frame-0002.jpg``, ``0003.png``), and one of the numbers
    counting up in equal steps (every frame, or every k-th). Photos numbered by a camera or a dataset
    (``IMG_0412``, ``IMG_0415``, ``IMG_0431``; ``085_00000125``, ``096_00000200``) are not a recording."""
    if len(names) < 2:
        return False
    stems = {re.sub(r"\d+", "#", Path(n).stem) for n in names}
    if len(stems) != 1 or "#" not in next(iter(stems)):
        return False
    ordered = sorted((Path(n) for n in names), key=frame_order)
    numbers = np.array([[int(d) for d in re.findall(r"\d+", p.stem)] for p in ordered])  # (N, fields)
    steps = np.diff(numbers, axis=0)
    return bool(np.any((steps > 0).all(axis=0) & (steps == steps[:1]).all(axis=0)))


def _regular(path: Path) -> bool:
    """Whether ``path`` is (or links to) a regular file; False for FIFOs, devices, broken or looping links."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, RuntimeError):
        return False


class _Images(_Reader):
    """Sorted image files of a folder; unreadable files are skipped (and counted).

    ``stills`` is decided from the names: numbered frames or a MINI-RGBD ``rgb/`` folder
    are a recording, anything else a set of unrelated photos (``Source(mode=...)`` overrides).
    """

    def __init__(self, folder: Path, stats: SourceStats, max_pixels: int = MAX_FRAME_PIXELS) -> None:
        # Regular files only: a FIFO would block the reader for ever, a symlink loop cannot be read.
        # A single photo is a folder of one.
        found = [folder] if folder.is_file() else folder.iterdir()
        self.files = sorted((p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and _regular(p)), key=frame_order)
        self.max_pixels = max_pixels
        if not self.files:
            sequences = sorted(p.name for p in folder.iterdir() if (p / "rgb").is_dir())
            if sequences:  # a MINI-RGBD dataset's root: its recordings are one level down
                raise InfantposeError(
                    f"{folder}: a MINI-RGBD dataset of {len(sequences)} recordings ({', '.join(sequences[:4])}"
                    f"{', ...' if len(sequences) > 4 else ''}); run one of them, e.g. {folder / sequences[0]}"
                )
            raise InfantposeError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
        self.i, self.stats, self.label, self.fps = 0, stats, str(folder), 30.0
        self.stills = folder.is_file() or (folder.name != "rgb" and not numbered_frames([f.name for f in self.files]))

    def read(self) -> tuple[np.ndarray | None, str | None]:
        while self.i < len(self.files):
            path = self.files[self.i]
            self.i += 1
            try:  # the header's size first: a 1 MB PNG may claim 20000 x 20000 pixels
                return read_image(path, self.max_pixels), path.name
            except ImageTooLarge as e:  # said, not only counted: the user may want to resize it
                warnings.warn(f"skipped {e}", stacklevel=1)
            except DatasetError:
                pass  # not an image: counted as corrupt in the run's summary
            self.stats.corrupt += 1
        return None, None


class _MJPEG(_Reader):
    """HTTP multipart/x-mixed-replace (MJPEG) stream, parsed directly (no FFmpeg needed)."""

    live = True

    def __init__(
        self,
        url: str,
        stats: SourceStats,
        timeout: float = READ_DEADLINE_S,
        max_pixels: int = MAX_FRAME_PIXELS,
        response: Any = None,
    ) -> None:
        self.url, self.stats, self.timeout, self.max_pixels = url, stats, timeout, max_pixels
        self.label = redact_url(url)
        self.resp = response  # the probe's connection is kept: one-connection cameras
        self.buf = b""

    def open(self) -> None:
        if self.resp is None:
            self.resp = _open_stream(self.url, self.timeout)
        self.buf = b""

    def read(self) -> tuple[np.ndarray | None, str | None]:
        # None (stalled) when no decodable frame came within the deadline, even if bytes do:
        # a server sending garbage must not keep the reader (and Ctrl-C) waiting for ever.
        deadline = time.monotonic() + self.timeout
        while not self.stop.is_set() and time.monotonic() < deadline:
            start = self.buf.find(b"\xff\xd8")
            end = self.buf.find(b"\xff\xd9", start + 2) if start >= 0 else -1
            if start >= 0 and end >= 0:
                jpg, self.buf = self.buf[start : end + 2], self.buf[end + 2 :]
                size = jpeg_size(jpg)
                if size is None or size[0] * size[1] > self.max_pixels:
                    self.stats.corrupt += 1  # refused before decoding (an unreadable size too): memory stays bounded
                    continue
                img = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
                if img is None:
                    self.stats.corrupt += 1
                    continue
                return img, None
            try:
                chunk = self.resp.read1(65536) if self.resp is not None else b""
            except (OSError, ValueError, http.client.HTTPException):
                chunk = b""
            if not chunk:
                return None, None
            self.buf = self.buf[-(1 << 22) :] + chunk  # never hold more than ~4 MB of partial data
        return None, None

    def close(self) -> None:
        if self.resp is not None:
            self.resp.close()
            self.resp = None


def _open_stream(url: str, timeout: float = READ_DEADLINE_S) -> Any:
    """The HTTP response of ``url``; any failure (refused, bad URL, HTTP error, a malformed or hostile
    answer) is one InfantposeError naming the redacted URL and the error's type, never the server's text."""
    try:
        return _http_open(url, timeout)
    except urllib.error.HTTPError as e:
        raise InfantposeError(f"cannot open stream {redact_url(url)} (HTTP {int(e.code)})") from None
    except (OSError, ValueError, http.client.HTTPException) as e:
        raise InfantposeError(f"cannot open stream {redact_url(url)} ({type(e).__name__})") from None


SOURCE_MODES = ("auto", "video", "stills")


def _positive(value: Any, what: str) -> float:
    """``value`` as a finite positive float; InfantposeError naming ``what`` otherwise (strings, NaN, bools)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InfantposeError(f"{what} must be a positive number, not {value!r}")
    return float(value)


class Source:
    """Frames from any supported source, captured in a background thread.

    Args:
        spec: "0" (webcam index), a video file, a folder of images, a MINI-RGBD
            sequence folder (its ``rgb/``), or an rtsp:// / http(s):// URL.
        reconnect_timeout: live sources: give up after this many seconds without a frame.
        max_pixels: network frames larger than this (width x height) are skipped undecoded.
        read_timeout: seconds a network read may wait for a decodable frame before the
            stream counts as stalled (and is reopened).
        camera_size, camera_fps: for a webcam, the resolution (W, H) and frame rate to ask for.
        mode: "auto", "video" or "stills". Stills are processed one by one (detector on
            each, no tracking, window or smoothing); "auto" treats a folder of images as
            stills unless its names are numbered frames (or it is a MINI-RGBD ``rgb/``).
    """

    def __init__(
        self,
        spec: str | int,
        reconnect_timeout: float = 30.0,
        mode: str = "auto",
        max_pixels: int = MAX_FRAME_PIXELS,
        read_timeout: float = READ_DEADLINE_S,
        camera_size: tuple[int, int] | None = None,
        camera_fps: float | None = None,
    ) -> None:
        if isinstance(spec, os.PathLike):
            spec = os.fspath(spec)
        if not isinstance(spec, (str, int)) or isinstance(spec, bool):
            raise InfantposeError(f"the source must be a camera index, path or URL, not {type(spec).__name__}")
        if mode not in SOURCE_MODES:
            raise InfantposeError(f"unknown source mode {mode!r} (choose {', '.join(SOURCE_MODES)})")
        reconnect_timeout = _positive(reconnect_timeout, "the reconnect timeout (s)")
        read_timeout = _positive(read_timeout, "the read timeout (s)")
        max_pixels = int(_positive(max_pixels, "the frame-size cap (pixels)"))
        if camera_fps is not None:
            camera_fps = _positive(camera_fps, "the camera frame rate")
        self.stats = SourceStats()
        self.reconnect_timeout = float(reconnect_timeout)
        self.max_pixels, self.read_timeout = int(max_pixels), float(read_timeout)
        self.camera_size, self.camera_fps = camera_size, camera_fps
        self._stop = threading.Event()
        self.reader = self._reader(str(spec) if isinstance(spec, int) else spec)
        self.reader.stop = self._stop
        self.reader.open()  # errors surface now, in the caller's thread
        self.live = self.reader.live
        self.stills = self.reader.stills if mode == "auto" else mode == "stills"
        self.image_folder = isinstance(self.reader, _Images)
        self.fps = self.reader.fps
        self.name = self.reader.label
        self._queue: Queue = Queue(maxsize=8)
        self._latest: Frame | None = None
        self._cond = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def _reader(self, spec: str) -> _Reader:
        if not spec.strip():
            raise InfantposeError("the source is empty: give a camera index, file, folder or URL")
        if "://" in spec:
            scheme = spec.split("://", 1)[0].lower()
            if scheme in ("http", "https"):
                resp = _open_stream(spec, self.read_timeout)
                if "multipart/x-mixed-replace" in resp.headers.get("Content-Type", ""):
                    return _MJPEG(spec, self.stats, self.read_timeout, self.max_pixels, resp)
                resp.close()  # another HTTP stream: FFmpeg opens it itself
            if scheme in ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp"):
                return _Capture(spec, live=True, label=f"stream {redact_url(spec)}")
            raise InfantposeError(f"unsupported stream URL scheme {scheme!r} in {redact_url(spec)}")
        path = Path(spec)
        if path.is_dir():  # before camera indices: a folder called "7" is a folder
            rgb = path / "rgb"
            return _Images(rgb if rgb.is_dir() else path, self.stats, self.max_pixels)
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:  # a photo: a still, like a folder of one
            return _Images(path, self.stats, self.max_pixels)
        if path.is_file():
            return _Capture(str(path), live=False, label=str(path))
        if spec.isdigit():
            return _Capture(int(spec), True, f"camera {spec}", self.camera_size, self.camera_fps)
        raise InfantposeError(f"source not found: {redact_url(spec)} (not a camera index, URL, file or folder)")

    def _run(self) -> None:
        index = 0
        last_ok = time.monotonic()
        backoff = 0.25
        while not self._stop.is_set():
            img, name = self.reader.read()
            if img is None:
                if not self.live:
                    break
                # Live source stalled or dropped: reopen with backoff until the timeout.
                if time.monotonic() - last_ok > self.reconnect_timeout:
                    break
                self.reader.close()
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, 4.0)
                try:
                    self.reader.open()
                    self.stats.reconnects += 1
                except InfantposeError:
                    pass
                continue
            last_ok, backoff = time.monotonic(), 0.25
            if img.ndim < 2 or img.shape[0] < 2 or img.shape[1] < 2:  # nothing to find a pose in
                self.stats.corrupt += 1
                warnings.warn(f"skipped {name or 'a frame'}: {img.shape[1]}x{img.shape[0]} pixels", stacklevel=1)
                continue
            t = time.time() if self.live else index / (self.fps or 30.0)
            frame = Frame(index, img, t, name)
            index += 1
            self.stats.read += 1
            if self.live:
                with self._cond:
                    if self._latest is not None:
                        self.stats.dropped += 1
                    self._latest = frame
                    self._cond.notify()
            else:
                while not self._stop.is_set():
                    try:
                        self._queue.put(frame, timeout=0.1)
                        break
                    except Full:
                        continue
        with self._cond:
            self._done = True
            self._cond.notify_all()
        self.reader.close()

    def frames(self) -> Iterator[Frame]:
        """Frames until the source ends or :meth:`close` is called."""
        while not self._stop.is_set():
            if self.live:
                with self._cond:
                    while self._latest is None and not self._done and not self._stop.is_set():
                        self._cond.wait(0.1)
                    frame, self._latest = self._latest, None
                if frame is None:
                    return
                yield frame
            else:
                try:
                    yield self._queue.get(timeout=0.1)
                except Empty:
                    if self._done and self._queue.empty():
                        return

    def stop(self) -> None:
        """Ask the capture to stop (safe from a signal handler): :meth:`frames` returns soon after."""
        self._stop.set()

    def close(self) -> None:
        """Stop capturing. A live reader blocked in the network is left behind (a daemon thread)
        after 1 s rather than holding up the caller: Ctrl-C must end a run promptly."""
        self._stop.set()
        self._thread.join(timeout=1.0 if self.live else 5.0)

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
