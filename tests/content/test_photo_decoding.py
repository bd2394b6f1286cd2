"""Photos are decoded before they are accepted (issue 20, point 12): a header that looks right is not
enough. Real images are made with Pillow; the hostile ones by hand."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from loa.content.images import MAX_PHOTO_PIXELS, check_photo, inspect_photo
from loa.errors import InvalidInput
from tests.content.conftest import World
from tests.content.test_api_inputs import new_bulletin
from tests.support.auth import bearer


def real_photo(fmt: str, size: tuple[int, int] = (320, 240)) -> bytes:
    """A photo with detail (noise), so a truncated copy really lacks image data."""
    out = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(out, format=fmt, quality=90)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of ``width``×``height`` zeros: a few hundred kilobytes that would decode to
    hundreds of megabytes. Compressed row by row so the test itself stays small."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_real_photos_are_accepted(fmt: str, content_type: str) -> None:
    info = check_photo(real_photo(fmt))
    assert (info.content_type, info.width, info.height) == (content_type, 320, 240)


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (12_000, 12_000)])
def test_decompression_bombs_are_refused_before_decoding(width: int, height: int) -> None:
    bomb = png_bomb(width, height)
    assert len(bomb) < 2 * 1024 * 1024 and width * height > MAX_PHOTO_PIXELS
    assert inspect_photo(bomb).width == width  # the header alone looks like a fine photo
    with pytest.raises(InvalidInput, match="quá nhiều điểm ảnh"):
        check_photo(bomb)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_photos_are_refused(fmt: str) -> None:
    whole = real_photo(fmt)
    cut = whole[: len(whole) * 6 // 10]
    inspect_photo(cut)  # the header is intact
    with pytest.raises(InvalidInput, match="bị hỏng hoặc không đầy đủ"):
        check_photo(cut)


def test_html_polyglots_are_refused() -> None:
    jpeg = real_photo("JPEG")
    payload = b"<html><body><script>fetch('/api/v1/users')</script></body></html>"
    header_only = jpeg[: jpeg.index(b"\xff\xda")]  # frame header, no scan: then HTML
    for polyglot in (jpeg + payload, header_only + payload, jpeg[:200] + b"<SCRIPT src=//x>" + jpeg[200:]):
        with pytest.raises(InvalidInput):
            check_photo(polyglot)
    with pytest.raises(InvalidInput, match="JPEG, PNG hoặc WebP"):
        check_photo(payload)  # an HTML file named .jpg


def test_upload_of_a_truncated_photo_is_refused_in_vietnamese(client: TestClient, world: World) -> None:
    editor = bearer(client, "bientap.a")
    bid = new_bulletin(client, editor)["id"]
    url = f"/api/v1/bulletins/{bid}/attachments"
    whole = real_photo("JPEG")
    refused = client.post(
        url, files={"file": ("anh.jpg", whole[: len(whole) // 2], "image/jpeg")}, headers=editor
    )
    assert refused.status_code == 422
    assert refused.json()["title"].startswith("Tệp ảnh bị hỏng hoặc không đầy đủ")
    bomb = client.post(
        url, files={"file": ("anh.png", png_bomb(20_000, 20_000), "image/png")}, headers=editor
    )
    assert bomb.status_code == 422 and "quá nhiều điểm ảnh" in bomb.json()["title"]
    assert client.get(f"/api/v1/bulletins/{bid}", headers=editor).json()["attachments"] == []
    ok = client.post(url, files={"file": ("anh.jpg", whole, "image/jpeg")}, headers=editor)
    assert ok.status_code == 201, ok.text
