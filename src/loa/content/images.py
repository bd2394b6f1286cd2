"""Photo checks without trusting the file name or the browser's content type: the header is parsed.

Only JPEG, PNG and WebP are accepted; the width and height must be readable from the header and
sane. (Pillow is not a dependency; reading the header is all a check of the format needs.)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from loa.errors import InvalidInput

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_SIDE_PX = 20_000

_NOT_A_PHOTO = "Tệp không phải ảnh hợp lệ. Chỉ nhận ảnh JPEG, PNG hoặc WebP."


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    extension: str
    width: int
    height: int


def _png(data: bytes) -> ImageInfo | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return ImageInfo("image/png", "png", width, height)


_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg(data: bytes) -> ImageInfo | None:
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            return None
        if marker in _SOF:
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return ImageInfo("image/jpeg", "jpg", width, height)
        if marker == 0xDA:  # start of scan before any frame header: broken file
            return None
        pos += 2 + length
    return None


def _webp(data: bytes) -> ImageInfo | None:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return ImageInfo("image/webp", "webp", w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return ImageInfo("image/webp", "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return ImageInfo("image/webp", "webp", w, h)
    return None


def inspect_photo(data: bytes) -> ImageInfo:
    """Identify a photo from its bytes, or raise ``InvalidInput`` with a Vietnamese message."""
    if not data:
        raise InvalidInput("Tệp ảnh rỗng.")
    for parse in (_jpeg, _png, _webp):
        try:
            info = parse(data)
        except (struct.error, IndexError):
            info = None
        if info is not None:
            if not (0 < info.width <= MAX_SIDE_PX and 0 < info.height <= MAX_SIDE_PX):
                raise InvalidInput(f"Kích thước ảnh không hợp lệ ({info.width}×{info.height} điểm ảnh).")
            return info
    raise InvalidInput(_NOT_A_PHOTO)
