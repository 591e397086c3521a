"""Where results go: JSONL, CSV, an annotated mp4 and an on-screen window.

Every sink writes as it goes (JSONL and CSV are flushed per frame) and
``close()`` finalises it, so an interrupted run keeps everything up to the
last processed frame.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from infantpose.errors import InfantposeError
from infantpose.preprocess import letterbox_affine
from infantpose.runtime.result import FrameResult

STDOUT = Path("-")  # --jsonl - / --csv -: write to standard output


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """A block that writes ``path``: an OSError in it becomes one InfantposeError naming the file."""
    try:
        yield
    except OSError as e:
        raise InfantposeError(f"{path}: cannot write ({e.strerror})") from None


class LineFile:
    """A text file written one whole line at a time, straight to the OS (no buffer to lose).

    When a write fails (disk full, /dev/full, a closed pipe) the file is cut back to its last
    complete line and one InfantposeError says so: a reader never sees half a record.
    ``-`` is standard output.
    """

    def __init__(self, path: Path) -> None:
        self.path, self.lines = path, 0
        if path == STDOUT:
            self.fd, self.own = sys.stdout.fileno(), False
            sys.stdout.flush()
            return
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fd, self.own = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), True
        self.good = 0  # bytes of complete lines

    def write_line(self, line: str) -> None:
        data = (line + "\n").encode("utf-8")
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as e:
            if self.own:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, self.good)
            raise InfantposeError(
                f"{self.path}: cannot write ({e.strerror}); it keeps its first {self.lines} complete lines"
            ) from None
        self.lines += 1
        if self.own:
            self.good += len(data)

    def close(self) -> None:
        if self.own and self.fd >= 0:
            fd, self.fd = self.fd, -1
            try:
                os.close(fd)
            except OSError as e:
                raise InfantposeError(f"{self.path}: cannot close ({e.strerror})") from None


class JsonlSink:
    """One JSON object per line per frame (see FrameResult.to_json)."""

    def __init__(self, path: Path) -> None:
        self.f = LineFile(path)

    def write(self, frame: np.ndarray, result: FrameResult, annotated: np.ndarray | None) -> None:
        self.f.write_line(json.dumps(result.to_json()))

    def close(self) -> None:
        self.f.close()


class CsvSink:
    """One row per frame: frame, t, tracked, score, box, then x/y/conf per joint, then 3D x/y/z mm."""

    def __init__(self, path: Path, joints: list[str]) -> None:
        self.f = LineFile(path)
        head = ["frame", "t", "tracked", "score", "x1", "y1", "x2", "y2"]
        head += [f"{j}_{c}" for j in joints for c in ("x", "y", "conf")]
        head += [f"{j}_{c}_mm" for j in joints for c in ("x", "y", "z")]
        self._head = head
        self._row(head)

    def _row(self, cells: list) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(cells)
        self.f.write_line(buf.getvalue())

    def write(self, frame: np.ndarray, result: FrameResult, annotated: np.ndarray | None) -> None:
        r = result
        row = [r.frame, f"{r.t:.6f}", int(r.tracked), "" if r.score is None else f"{r.score:.4f}"]
        if not r.found:  # no infant: empty cells, the row keeps the frame's time and score
            row += [""] * (len(self._head) - len(row))
        else:
            row += [f"{v:.2f}" for v in r.box]
            row += [f"{v:.3f}" for xy, c in zip(r.kp2d, r.conf, strict=True) for v in (*xy, c)]
            row += [f"{v:.1f}" for v in r.kp3d.reshape(-1)]
        self._row(row)

    def close(self) -> None:
        self.f.close()


CODECS = ("auto", "h264", "mp4v")


def h264_available() -> bool:
    """Whether imageio-ffmpeg (its bundled ffmpeg encodes H.264) is installed."""
    import importlib.util

    return importlib.util.find_spec("imageio_ffmpeg") is not None


class VideoSink:
    """Annotated frames to an mp4: H.264 (browser-playable; through imageio-ffmpeg's ffmpeg) or
    mp4v (OpenCV, every build; most browsers do not play it). ``codec`` "auto": H.264 when
    imageio-ffmpeg is installed, else mp4v (``codec_used`` says which).

    The video takes the first frame's size; a frame of another size (a folder of
    mixed photos) is letterboxed into it and counted in ``resized``, never dropped.
    """

    def __init__(self, path: Path, fps: float, codec: str = "auto") -> None:
        if codec not in CODECS:
            raise InfantposeError(f"unknown video codec {codec!r} (choose {', '.join(CODECS)})")
        if codec == "h264" and not h264_available():
            raise InfantposeError("H.264 video needs imageio-ffmpeg: pip install 'infantpose[video]'")
        self.path, self.fps = path, fps
        self.codec_used = "h264" if codec == "h264" or (codec == "auto" and h264_available()) else "mp4v"
        # Why "auto" did not give H.264 (None when it did, or when mp4v was asked for).
        self.fallback = "imageio-ffmpeg is not installed" if codec == "auto" and self.codec_used == "mp4v" else None
        self.writer: cv2.VideoWriter | None = None
        self.encoder: Any = None  # imageio-ffmpeg's generator, fed BGR frames
        self.size: tuple[int, int] | None = None
        self.resized = 0
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)

    def _open(self, w: int, h: int) -> None:
        self.size = (w, h)
        if self.codec_used == "h264":
            import imageio_ffmpeg

            # yuv420p (what browsers play) needs even sizes: ffmpeg pads by one pixel where needed.
            self.encoder = imageio_ffmpeg.write_frames(
                str(self.path), (w, h), pix_fmt_in="bgr24", fps=self.fps, codec="libx264", macro_block_size=1,
                output_params=["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-movflags", "+faststart"],
            )  # fmt: skip
            self.encoder.send(None)
            return
        self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        if not self.writer.isOpened():
            raise InfantposeError(f"{self.path}: cannot open an mp4v video writer")

    def write(self, frame: np.ndarray, result: FrameResult, annotated: np.ndarray | None) -> None:
        img = annotated if annotated is not None else frame
        if self.size is None:
            self._open(img.shape[1], img.shape[0])
        if (img.shape[1], img.shape[0]) != self.size:
            img = cv2.warpAffine(img, letterbox_affine((img.shape[1], img.shape[0]), self.size), self.size)
            self.resized += 1
        if self.encoder is not None:
            try:
                self.encoder.send(np.ascontiguousarray(img))
            except (OSError, RuntimeError) as e:
                raise InfantposeError(f"{self.path}: the H.264 encoder failed ({type(e).__name__})") from None
        else:
            self.writer.write(img)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
        if self.encoder is not None:
            encoder, self.encoder = self.encoder, None
            try:
                encoder.close()
            except (OSError, RuntimeError) as e:
                raise InfantposeError(f"{self.path}: the H.264 encoder failed to finish ({type(e).__name__})") from None


class StillsSink:
    """Annotated photos: one image per input photo, named as the photo, in the folder ``path``
    (or, with ``single``, the one image file ``path``), JPEG or PNG as the name says."""

    def __init__(self, path: Path, single: bool = False) -> None:
        self.path, self.single, self.written = path, single, 0
        with writing(path):
            (path.parent if single else path).mkdir(parents=True, exist_ok=True)

    def write(self, frame: np.ndarray, result: FrameResult, annotated: np.ndarray | None) -> None:
        from infantpose.fileio import atomic_write_bytes

        target = self.path if self.single else self.path / (result.source or f"frame_{result.frame:06d}.png")
        ok, buf = cv2.imencode(target.suffix.lower() or ".png", annotated if annotated is not None else frame)
        if not ok:
            raise InfantposeError(f"{target}: cannot encode an image of this type")
        with writing(target):
            atomic_write_bytes(target, buf.tobytes())
        self.written += 1

    def close(self) -> None:
        pass


def display_available() -> bool:
    """True when an OpenCV window can be shown (a desktop session)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class WindowSink:
    """An OpenCV window; pressing q or Esc asks the run to stop."""

    def __init__(self, title: str = "infantpose") -> None:
        self.title = title
        self.quit = False

    def write(self, frame: np.ndarray, result: FrameResult, annotated: np.ndarray | None) -> None:
        cv2.imshow(self.title, annotated if annotated is not None else frame)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.quit = True

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)


def sidecar_path(path: Path) -> Path:
    """``NAME.meta.json`` beside the JSONL/CSV output ``path``."""
    return path.with_name(path.stem + ".meta.json")


def write_sidecar(path: Path, pipeline: Any, source: Any) -> Path:
    """``NAME.meta.json`` beside a JSONL/CSV output: joint names and order, units, axes, what produced it
    (bundle and its manifest's sha256, precision, view) and from what (the source, credentials redacted)."""
    from infantpose import __version__
    from infantpose.fileio import atomic_write_text
    from infantpose.skeleton import get_joint_set

    meta = {
        "joints": list(get_joint_set(pipeline.joint_set).joints),
        "units": {"kp2d": "px of the input frame, x right, y down", "conf": "0-1",
                  "kp3d": "mm, camera axes (x right, y down, z away), pelvis at the origin", "t": "s"},
        "source": source.name,
        "fps": source.fps,
        "stills": bool(source.stills),  # each frame processed on its own (unrelated photos)
        "infantpose": __version__,
        **pipeline.info,
    }  # fmt: skip
    side = sidecar_path(path)
    with writing(side):
        atomic_write_text(side, json.dumps(meta, indent=2) + "\n")
    return side
