"""Files: reading frames, caching decoded frames, and writes that never leave half a file.

Used by training, evaluation, export checks, the synthetic generator and the runtime's tools.
Images are BGR uint8 (H, W, 3), as OpenCV reads them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from infantpose.errors import DatasetError


def read_image(path: Any) -> np.ndarray:
    """A BGR frame from disk; DatasetError names a missing or unreadable file."""
    img = cv2.imread(str(path))
    if img is None:
        raise DatasetError(f"{path}: missing or not a readable image")
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
