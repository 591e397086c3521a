"""Image sizes read from file headers, without decoding: the pixel cap is applied before any
decoder allocates (a 1 MB PNG can claim 20000 x 20000 pixels, 1.2 GB once decoded).

Sizes are (width, height) in pixels; None when the header cannot be read, which callers
treat as a refusal, never as "no limit".
"""

from __future__ import annotations

import struct

# Frames and photos larger than this many pixels are refused before decoding. 8K UHD (7680 x 4320) passes.
MAX_IMAGE_PIXELS = 40_000_000
# Image files larger than this are refused unread (a photo is a few MB; 8K PNG at most ~100 MB).
MAX_IMAGE_BYTES = 256 * 1024 * 1024


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame header; None if absent or malformed."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h = int.from_bytes(data[i + 5 : i + 7], "big")
            w = int.from_bytes(data[i + 7 : i + 9], "big")
            return w, h
        if length < 2:
            return None
        i += 2 + length
    return None


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk; None if it is not one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def bmp_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a BMP's DIB header (height's sign is the row order); None if it is not one."""
    if data[:2] != b"BM" or len(data) < 26:
        return None
    header = int.from_bytes(data[14:18], "little")
    if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        w, h = struct.unpack("<HH", data[18:22])
        return w, h
    w, h = struct.unpack("<ii", data[18:26])
    return abs(w), abs(h)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an encoded JPEG, PNG or BMP; None for anything else or a broken header."""
    for reader in (jpeg_size, png_size, bmp_size):
        size = reader(data)
        if size is not None:
            return size
    return None
