"""Bad and hostile input through the HTTP API: injection, oversized photos, stale saves."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib

from fastapi.testclient import TestClient

from loa.content.atom import ATOM_NS
from tests.content.conftest import COMMUNE_A, World
from tests.support.auth import bearer

SCRIPT = "<script>alert('xss')</script>"


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def new_bulletin(client: TestClient, headers: dict[str, str], **overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "title": "Thông báo tiêm chủng",
        "body": "Trạm y tế xã tổ chức tiêm chủng mở rộng.",
        "kind": "announcement",
        "priority": "priority",
        "topics": ["y-te"],
        "area_code": COMMUNE_A,
    }
    payload.update(overrides)
    response = client.post("/api/v1/bulletins", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_script_injection_is_neutralised_everywhere(client: TestClient, world: World) -> None:
    editor, approver = bearer(client, "bientap.a"), bearer(client, "duyet.a")
    created = new_bulletin(
        client, editor, title=f"Tin {SCRIPT}", body=f"Nội dung {SCRIPT} <img src=x onerror=alert(1)>"
    )
    bid = created["id"]
    assert created["title"] == f"Tin {SCRIPT}"  # kept as typed: it is text, escaped wherever shown
    assert "<script" not in str(created["body_html"]) and "&lt;script&gt;" in str(created["body_html"])
    for step, by in (("submit", editor), ("approve", approver), ("publish", editor)):
        assert client.post(f"/api/v1/bulletins/{bid}/{step}", headers=by).status_code == 200
    feed = client.get("/feeds/bulletins.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert b"<script" not in feed.content
    root = ET.fromstring(feed.content)
    entry = root.find(f"{{{ATOM_NS}}}entry")
    assert entry is not None
    assert entry.findtext(f"{{{ATOM_NS}}}title") == f"Tin {SCRIPT}"  # escaped in XML, intact as text
    content = entry.findtext(f"{{{ATOM_NS}}}content") or ""
    assert "<script" not in content and "&lt;script&gt;" in content
    public = client.get("/api/v1/bulletins", params={"status": "published"})
    assert public.status_code == 200
    assert "<script" not in public.json()["items"][0]["body_html"]


def test_photo_limits_and_formats(client: TestClient, world: World) -> None:
    editor = bearer(client, "bientap.a")
    bid = new_bulletin(client, editor)["id"]
    url = f"/api/v1/bulletins/{bid}/attachments"
    big = png_bytes() + b"\x00" * (50 * 1024 * 1024)
    response = client.post(url, files={"file": ("anh.png", big, "image/png")}, headers=editor)
    assert response.status_code == 413
    assert response.json()["title"].startswith("Ảnh quá lớn (tối đa 10 MB)")
    fake = client.post(
        url, files={"file": ("anh.jpg", b"MZ\x90\x00 not an image", "image/jpeg")}, headers=editor
    )
    assert fake.status_code == 422 and "JPEG, PNG hoặc WebP" in fake.json()["title"]
    ok = client.post(
        url,
        files={"file": ("anh.png", png_bytes(), "image/png")},
        data={"caption": "Trạm y tế"},
        headers=editor,
    )
    assert ok.status_code == 201, ok.text
    photo = ok.json()
    assert (photo["width"], photo["height"], photo["content_type"]) == (64, 48, "image/png")
    assert client.get(photo["url"]).status_code == 401  # not published yet: not public
    got = client.get(photo["url"], headers=editor)
    assert got.status_code == 200 and got.content == png_bytes()


def test_concurrent_edit_of_one_draft(client: TestClient, world: World) -> None:
    editor, operator = bearer(client, "bientap.a"), bearer(client, "vanhanh.a")
    created = new_bulletin(client, editor)
    bid, version = created["id"], created["version"]
    first = client.patch(
        f"/api/v1/bulletins/{bid}", json={"version": version, "body": "Bản sửa thứ nhất."}, headers=editor
    )
    assert first.status_code == 200 and first.json()["version"] == version + 1  # type: ignore[operator]
    mine = "Đoạn văn rất dài của người thứ hai, không được mất."
    second = client.put(
        f"/api/v1/bulletins/{bid}",
        json={
            "version": version,
            "title": "Tiêu đề của tôi",
            "body": mine,
            "kind": "news",
            "area_code": COMMUNE_A,
        },
        headers=operator,
    )
    assert second.status_code == 409
    problem = second.json()
    assert problem["title"].startswith("Bản tin đã được người khác sửa. Vui lòng tải lại")
    assert problem["details"]["your_changes"]["body"] == mine
    assert client.get(f"/api/v1/bulletins/{bid}", headers=editor).json()["body"] == "Bản sửa thứ nhất."


def test_validation_and_permission_errors_are_vietnamese(client: TestClient, world: World) -> None:
    editor, approver = bearer(client, "bientap.a"), bearer(client, "duyet.a")
    bad = client.post(
        "/api/v1/bulletins", json={"title": "", "priority": "rat-gap", "area_code": COMMUNE_A}, headers=editor
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["details"]} == {"title", "priority"}
    assert client.post("/api/v1/bulletins", json={"title": "x"}, headers=approver).status_code in (403, 422)
    bid = new_bulletin(client, editor)["id"]
    client.post(f"/api/v1/bulletins/{bid}/submit", headers=editor)
    no_comment = client.post(f"/api/v1/bulletins/{bid}/return", json={"comment": " "}, headers=approver)
    assert no_comment.status_code == 422 and "ý kiến" in no_comment.json()["title"]
    own = client.post(f"/api/v1/bulletins/{bid}/approve", headers=editor)
    assert own.status_code == 403
    assert client.get("/api/v1/bulletins", params={"status": "xoa"}, headers=editor).status_code == 422
    assert client.get("/api/v1/bulletins").status_code == 401
