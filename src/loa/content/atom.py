"""The e-portal's Atom 1.0 feed of published bulletins, built with ``xml.etree`` (which escapes).

Entry content is ``type="html"``: the already-sanitised HTML travels as escaped text, so a feed reader
sees markup it may render, while an XML parser never sees a raw tag from a bulletin.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:loa:feeds:bulletins"


@dataclass(frozen=True)
class Enclosure:
    href: str
    content_type: str
    length: int
    title: str = ""


@dataclass(frozen=True)
class FeedEntry:
    entry_id: str
    title: str
    updated_at: datetime
    published_at: datetime
    summary: str
    content_html: str
    author: str
    link: str
    categories: Sequence[tuple[str, str]] = ()  # (term, label)
    enclosures: Sequence[Enclosure] = field(default_factory=tuple)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = text
    return el


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def build_atom(
    entries: Iterable[FeedEntry],
    *,
    title: str,
    self_url: str,
    site_url: str,
    updated_at: datetime,
    feed_id: str = FEED_ID,
) -> bytes:
    """``feed_id``: the feed's permanent id (another feed of these entries, e.g. one area's, has its own)."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": "vi"})
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    _text(feed, "subtitle", "Thông tin nguồn đã được duyệt và phát hành")
    ET.SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": self_url})
    ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": site_url})
    author = ET.SubElement(feed, "author")
    _text(author, "name", "Hệ thống thông tin cơ sở Loa")
    _text(feed, "generator", "Loa")
    updated = _text(feed, "updated", _stamp(updated_at))
    latest = updated_at
    for entry in entries:
        latest = max(latest, entry.updated_at)
        item = ET.SubElement(feed, "entry")
        _text(item, "id", entry.entry_id)
        _text(item, "title", entry.title, type="text")
        _text(item, "updated", _stamp(entry.updated_at))
        _text(item, "published", _stamp(entry.published_at))
        entry_author = ET.SubElement(item, "author")
        _text(entry_author, "name", entry.author or "Loa")
        ET.SubElement(item, "link", {"rel": "alternate", "type": "text/html", "href": entry.link})
        for term, label in entry.categories:
            ET.SubElement(item, "category", {"term": term, "label": label})
        for enc in entry.enclosures:
            attrs = {
                "rel": "enclosure",
                "href": enc.href,
                "type": enc.content_type,
                "length": str(enc.length),
            }
            if enc.title:
                attrs["title"] = enc.title
            ET.SubElement(item, "link", attrs)
        _text(item, "summary", entry.summary, type="text")
        _text(item, "content", entry.content_html, type="html")
    updated.text = _stamp(latest)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
