"""Pure text rules: safe rendering, folding for search, word diffs, photo headers, the Atom feed."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from loa.content.atom import ATOM_NS, FeedEntry, build_atom
from loa.content.diffing import word_diff_html
from loa.content.images import inspect_photo
from loa.content.logic import DraftInput, clean_draft
from loa.content.richtext import html_to_text, render_markdown, search_key, search_words
from loa.errors import InvalidInput

ATTACKS = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "[bấm](javascript:alert(1))",
    "<a href='javascript:alert(1)'>x</a>",
    "<iframe src='//evil'></iframe>",
    "<svg/onload=alert(1)>",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def live_markup(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("attack", ATTACKS)
def test_markdown_body_neutralises_markup_but_keeps_the_words_visible(attack: str) -> None:
    html = render_markdown(f"Thông báo **quan trọng**\n\n{attack}")
    tags = live_markup(html)
    assert ("strong", []) in tags
    assert {t for t, _ in tags} <= {"p", "strong", "a"}
    for _tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on")
            assert "javascript" not in (value or "").lower()
    assert attack in html_to_text(html)  # still readable, as text


def test_plain_text_for_reading_keeps_paragraphs() -> None:
    html = render_markdown("# Lịch tiêm chủng\n\nNgày **15/3** tại trạm y tế.\n\n- Trẻ em\n- Người già")
    assert html.startswith("<h2>")  # the page owns <h1>
    assert html_to_text(html) == "Lịch tiêm chủng\nNgày 15/3 tại trạm y tế.\nTrẻ em\nNgười già"


def test_search_key_folds_vietnamese() -> None:
    assert (
        search_key("Cải cách hành chính", "Đắk Lắk")
        == " cải cách hành chính đắk lắk | cai cach hanh chinh dak lak "
    )
    assert search_words("Bão SO 3") == [" bão", " so", " 3"]


def test_draft_problems_are_reported_per_field_in_vietnamese() -> None:
    with pytest.raises(InvalidInput) as err:
        clean_draft(
            DraftInput(
                title="  ",
                kind="tin-vui",
                priority="gấp",
                source_kind="forwarded",
                valid_from=datetime(2025, 5, 2, tzinfo=UTC),
                valid_until=datetime(2025, 5, 1, tzinfo=UTC),
            )
        )
    fields = {d["field"] for d in err.value.details}
    assert fields == {"title", "kind", "priority", "source_reference", "valid_until"}


def test_word_diff_marks_words_and_escapes() -> None:
    html, added, removed = word_diff_html("Họp dân lúc 7 giờ", "Họp dân lúc 8 giờ <b>sáng</b>")
    assert "<del>7</del>" in html and "<ins>8</ins>" in html
    assert "&lt;b&gt;sáng&lt;/b&gt;" in html and "<b>" not in html
    assert (added, removed) == (2, 1)


def _png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_photo_headers_are_read_not_trusted() -> None:
    assert inspect_photo(_png(640, 480)).content_type == "image/png"
    info = inspect_photo(_jpeg(1920, 1080))
    assert (info.content_type, info.width, info.height) == ("image/jpeg", 1920, 1080)
    webp = (
        b"RIFF"
        + struct.pack("<I", 30)
        + b"WEBPVP8X"
        + bytes(8)
        + (799).to_bytes(3, "little")
        + (599).to_bytes(3, "little")
    )
    assert (inspect_photo(webp).width, inspect_photo(webp).height) == (800, 600)
    for fake in (
        b"GIF89a....",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\x00\x00\x00\x18ftypmp42",
        b"",
    ):
        with pytest.raises(InvalidInput):
            inspect_photo(fake)
    with pytest.raises(InvalidInput, match="Kích thước"):
        inspect_photo(_png(0, 10))


def test_atom_feed_escapes_everything() -> None:
    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    entry = FeedEntry(
        entry_id="urn:loa:bulletin:1",
        title="<script>alert(1)</script> & Thông báo",
        updated_at=now,
        published_at=now,
        summary="Tóm tắt",
        content_html=render_markdown("<script>alert(2)</script> **đậm**"),
        author="Xã Ba Tơ",
        link="https://loa.example/b/1",
        categories=[("cchc", "Cải cách hành chính")],
    )
    body = build_atom(
        [entry],
        title="Tin",
        self_url="https://loa.example/feeds/bulletins.atom",
        site_url="https://loa.example/",
        updated_at=now,
    )
    assert b"<script" not in body
    root = ET.fromstring(body)
    ns = {"a": ATOM_NS}
    item = root.find("a:entry", ns)
    assert item is not None
    assert item.findtext("a:title", namespaces=ns) == "<script>alert(1)</script> & Thông báo"
    content = item.findtext("a:content", namespaces=ns) or ""
    assert "<strong>đậm</strong>" in content and "<script" not in content
