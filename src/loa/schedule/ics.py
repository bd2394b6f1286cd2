"""iCalendar (RFC 5545) export of a station's broadcast schedule, written by hand. Pure.

Times are UTC (``DTSTART:20230116T000000Z``), so no VTIMEZONE is needed; ``X-WR-TIMEZONE`` hints
calendar apps to show Vietnam time. Text is escaped (backslash, semicolon, comma, newline) and lines
are folded at 75 octets without splitting a UTF-8 character, with CRLF line ends (RFC 5545 §3.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PRODID = "-//Loa//Lich phat song//VI"
MAX_OCTETS = 75


@dataclass(frozen=True)
class IcsEvent:
    uid: str
    start_at: datetime
    end_at: datetime
    summary: str
    description: str = ""
    location: str = ""
    status: str = "CONFIRMED"  # or CANCELLED
    categories: Sequence[str] = ()
    sequence: int = 0


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into chunks of at most 75 octets; continuations start with a space."""
    out: list[str] = []
    current: list[str] = []
    size, limit = 0, MAX_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1  # the leading space counts
        current.append(ch)
        size += n
    out.append("".join(current))
    return "\r\n ".join(out)


def utc_stamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(e: IcsEvent, stamp: str) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(e.uid)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc_stamp(e.start_at)}",
        f"DTEND:{utc_stamp(e.end_at)}",
        f"SUMMARY:{escape_text(e.summary)}",
        f"STATUS:{e.status}",
        f"SEQUENCE:{e.sequence}",
    ]
    if e.description:
        lines.append(f"DESCRIPTION:{escape_text(e.description)}")
    if e.location:
        lines.append(f"LOCATION:{escape_text(e.location)}")
    if e.categories:
        lines.append("CATEGORIES:" + ",".join(escape_text(c) for c in e.categories))
    lines.append("END:VEVENT")
    return lines


def calendar_bytes(events: Iterable[IcsEvent], *, name: str, generated_at: datetime) -> bytes:
    stamp = utc_stamp(generated_at)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:Asia/Ho_Chi_Minh",
    ]
    for e in events:
        lines.extend(_event_lines(e, stamp))
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")
