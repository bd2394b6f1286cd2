"""Photo checks without trusting the file name or the browser's content type.

``inspect_photo`` parses the header (only JPEG, PNG and WebP; width and height readable and sane)
without Pillow, so Pillow's many other format plugins never see an upload. ``check_photo``, what
uploads go through, adds a pixel bound and a full decode restricted to that one format.
"""

from __future__ import annotations

import io
import re
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


# Decoding: the header is not enough (a bomb, a truncated body or a polyglot has a fine header).
# 40 million pixels is a 7,700×5,200 photo; a PNG or WebP that size decodes in at most 160 MB,
# a JPEG is decoded at 1/8 scale (every coefficient read, a 64th of the memory).
MAX_PHOTO_PIXELS = 40_000_000
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Markup that turns an image into an HTML/SVG polyglot. XMP metadata (``<x:xmpmeta``, ``<?xpacket``,
# ``<rdf:``) is legitimate in photos and not matched; these tags never occur in one by design, and by
# chance about once in a million 10 MB photos.
_MARKUP = re.compile(rb"<(?:script|html[\s>]|body[\s>]|svg[\s>]|iframe|!doctype|\?php)", re.IGNORECASE)
_BROKEN = "Tệp ảnh bị hỏng hoặc không đầy đủ, không đọc được. Vui lòng chọn ảnh khác."


def check_photo(data: bytes) -> ImageInfo:
    """``inspect_photo``, then a real decode: refuses decompression bombs (by pixel count, before
    decoding), truncated or corrupt files and HTML polyglots, each with a Vietnamese message."""
    info = inspect_photo(data)
    if info.width * info.height > MAX_PHOTO_PIXELS:
        raise InvalidInput(
            f"Ảnh có quá nhiều điểm ảnh ({info.width}×{info.height}); tối đa "
            f"{MAX_PHOTO_PIXELS // 1_000_000} triệu điểm ảnh. Vui lòng giảm kích thước ảnh.",
            code="photo_too_many_pixels",
        )
    if _MARKUP.search(data):
        raise InvalidInput("Tệp ảnh có chứa mã trang web, không được chấp nhận.", code="photo_with_markup")
    _decode(data, info)
    return info


def _decode(data: bytes, info: ImageInfo) -> None:
    from PIL import Image

    formats = [_PILLOW_FORMATS[info.content_type]]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as img:
            img.verify()  # structure and checksums (PNG CRCs)
        with Image.open(io.BytesIO(data), formats=formats) as img:
            if (img.width, img.height) != (info.width, info.height):
                raise InvalidInput(_BROKEN, code="photo_broken")
            if img.format == "JPEG":
                img.draft(img.mode, (img.width // 8, img.height // 8))
            img.load()  # every byte of pixel data; a truncated file raises here
    except InvalidInput:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError) as err:
        raise InvalidInput(_BROKEN, code="photo_broken") from err
