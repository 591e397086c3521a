"""Files: reading frames, caching decoded frames, and writes that never leave half a file.

Used by training, evaluation, export checks, the synthetic generator and the runtime's tools.
Images are BGR uint8 (H, W, 3), as OpenCV reads them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from infantpose.errors import DatasetError, InfantposeError
from infantpose.imagesize import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, image_size


class ImageTooLarge(DatasetError):
    """An image file over the pixel or byte cap: refused before decoding."""


def read_image(path: Any, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """A BGR uint8 (H, W, 3) image from disk, decoded only when its header says it has at most
    ``max_pixels`` pixels; DatasetError names a missing, special, oversized or unreadable file."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        raise DatasetError(f"{path}: missing or not a readable image") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise DatasetError(f"{path}: not a regular file")
    if st.st_size > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"{path}: {st.st_size:,} bytes is more than an image may have ({MAX_IMAGE_BYTES:,})")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror})") from None
    size = image_size(data)
    if size is None or min(size) < 1:
        raise DatasetError(f"{path}: not a JPEG, PNG or BMP with a readable size")
    if size[0] * size[1] > max_pixels:
        raise ImageTooLarge(f"{path}: {size[0]}x{size[1]} pixels is more than the cap of {max_pixels:,}")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetError(f"{path}: not a readable image")
    return img


class ImageCache:
    """Decoded BGR frames kept in memory after the first read (training and verify read frames many times)."""

    def __init__(self) -> None:
        self._images: dict[Any, np.ndarray] = {}

    def __call__(self, path: Any) -> np.ndarray:
        img = self._images.get(path)
        if img is None:
            img = self._images[path] = read_image(path)
        return img

    def clear(self) -> None:
        self._images.clear()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write; renamed over ``path`` when the block succeeds.

    Readers see the old file or the new one, never a partial one; on failure the temporary goes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # durable before the rename
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` whole or not at all."""
    atomic_write_bytes(path, text.encode("utf-8"))


def check_writable(path: Path, what: str, folder: bool = False) -> None:
    """InfantposeError (one line naming ``what``) unless ``path`` can be written: a file name that is
    not a folder (with ``folder``: a folder name that is not a file), whose nearest existing folder
    this process can create files in. Nothing is left behind: a refused command makes no folder."""
    path = Path(path)
    if not folder and (path.is_dir() or str(path).endswith(os.sep)):
        raise InfantposeError(f"{what} {path}: is a folder; give a file name")
    if folder and path.exists() and not path.is_dir():
        raise InfantposeError(f"{what} {path}: is a file; give a folder")
    probe = path if folder and path.is_dir() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise InfantposeError(f"{what} {path}: {probe} is a file, not a folder")
    try:  # os.access says yes to root on read-only or virtual file systems: try for real
        fd, name = tempfile.mkstemp(dir=probe, prefix=".infantpose-probe.")
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        raise InfantposeError(f"{what} {path}: cannot write in {probe} ({e.strerror})") from None


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path, or (hard links) the same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(
    inputs: dict[str, Path | None],
    outputs: dict[str, Path | None],
    folders: tuple[str, ...] = (),
    sealed: tuple[str, ...] = (),
) -> None:
    """The one output guard of every command: InfantposeError before any work when an output
    would replace an input (same path, symlink or hard link), land inside a sealed input folder
    (a bundle, an image folder being read), name the same file as another output, or cannot be
    written.

    ``inputs`` and ``outputs`` map an option (``--jsonl``; "" for a positional argument) to its
    path (None: not given; ``-``: standard output). Outputs named in ``folders`` are folders,
    the others files; inputs named in ``sealed`` are folders nothing may be written into.
    """
    seen: dict[Path, str] = {}  # outputs so far -> their option
    for flag, out in outputs.items():
        if out is None or str(out) == "-":
            continue
        out = Path(out)
        for src_flag, src in inputs.items():
            if src is None or str(src) == "-" or not Path(src).exists():
                continue
            src = Path(src)
            name = f"the input {src}" if not src_flag else f"the input {src_flag} {src}"
            if _same(out, src):
                raise InfantposeError(f"{flag} {out}: would overwrite {name}")
            if src_flag in sealed and src.is_dir() and src.resolve() in out.resolve().parents:
                raise InfantposeError(f"{flag} {out}: would write inside {name}")
        twin = next((f for p, f in seen.items() if _same(out, p)), None)
        if twin is not None:
            raise InfantposeError(f"{flag} {out}: the same file as {twin}")
        seen[out] = flag
        check_writable(out, flag, folder=flag in folders)
