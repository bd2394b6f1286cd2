"""Alerts out as CAP 1.2 (one message per alert) and an Atom feed of the active ones, for other
warning systems and apps (docs/protocol.md "CAP"). Pure: takes the alert's values, returns bytes that
validate against the shipped schema (tests round-trip them through ``loa.alerts.cap.parse``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

from loa.alerts import levels
from loa.alerts.cap import mapping
from loa.alerts.cap.parse import NS

ATOM = "http://www.w3.org/2005/Atom"
VIETNAM = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class ExportedAlert:
    """What an alert says, read from the database by the caller."""

    id: int
    title: str
    hazard: str | None
    risk_level: int | None
    message_text: str | None
    started_at: datetime
    expires_at: datetime | None
    stopped_at: datetime | None
    communes: Sequence[tuple[str, str]]  # (code, name)
    polygon: Sequence[Sequence[float]] | None = None
    source: str = "manual"
    source_ref: str | None = None
    narrowed: bool = False  # sent to chosen loudspeakers of the communes, not to all of them


def cap_time(value: datetime) -> str:
    """CAP's dateTime form: seconds and an explicit offset (here Vietnam's, +07:00)."""
    return value.astimezone(VIETNAM).replace(microsecond=0).isoformat()


def identifier(sender: str, alert_id: int) -> str:
    return f"{sender}.alert.{alert_id}"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        element.text = text
    return element


def _pair(parent: etree._Element, name: str, value_name: str, value: str) -> None:
    element = _sub(parent, name)
    _sub(element, "valueName", value_name)
    _sub(element, "value", value)


def to_cap(
    alert: ExportedAlert, *, sender: str, sender_name: str = "Hệ thống truyền thanh thông minh"
) -> bytes:
    """The alert as a CAP 1.2 ``Alert`` message (a stopped one as a ``Cancel`` of it)."""
    root = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    ident = identifier(sender, alert.id)
    stopped = alert.stopped_at is not None
    _sub(root, "identifier", ident + (".cancel" if stopped else ""))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(alert.stopped_at if alert.stopped_at is not None else alert.started_at))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", "Cancel" if stopped else "Alert")
    _sub(root, "scope", "Public")
    if stopped:
        _sub(root, "references", f"{sender},{ident},{cap_time(alert.started_at)}")
    if alert.source == "cap" and alert.source_ref:
        _sub(root, "note", f"Nguồn CAP: {alert.source_ref}")
    hazard = alert.hazard or "other"
    level = alert.risk_level or 1
    severity, urgency, certainty = mapping.LEVEL_AXES[level]
    info = _sub(root, "info")
    _sub(info, "language", "vi-VN")
    _sub(info, "category", mapping.HAZARD_CATEGORY.get(hazard, "Met"))
    _sub(info, "event", levels.HAZARDS[hazard].label.capitalize())
    _sub(info, "responseType", "Prepare")
    _sub(info, "urgency", urgency)
    _sub(info, "severity", severity)
    _sub(info, "certainty", certainty)
    _pair(info, "eventCode", mapping.HAZARD_CODE, hazard)
    if alert.risk_level is not None:
        _pair(info, "eventCode", mapping.LEVEL_CODE, str(alert.risk_level))
    _sub(info, "effective", cap_time(alert.started_at))
    if alert.expires_at is not None:
        _sub(info, "expires", cap_time(alert.expires_at))
    _sub(info, "senderName", sender_name)
    _sub(info, "headline", alert.title)
    if alert.message_text:
        _sub(info, "description", alert.message_text)
    area = _sub(info, "area")
    _sub(area, "areaDesc", ", ".join(name for _, name in alert.communes) or "Không xác định")
    shaped = alert.polygon is not None and len(alert.polygon) >= 3
    if alert.polygon and shaped:
        ring = [(float(p[0]), float(p[1])) for p in alert.polygon]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        _sub(area, "polygon", " ".join(f"{lat},{lon}" for lat, lon in ring))
    # A geocode names a whole commune: for an alert narrowed to the loudspeakers in a polygon, the
    # polygon alone says where (a narrowing without one, e.g. to villages, is widened to the communes).
    if not (shaped and alert.narrowed):
        for code, _ in alert.communes:
            _pair(area, "geocode", mapping.GEOCODE_NAME, code)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def atom_feed(
    alerts: Sequence[ExportedAlert], *, sender: str, feed_url: str, alert_url: str, now: datetime
) -> bytes:
    """An Atom feed of alerts, each entry linking to its CAP message (``alert_url`` with ``{id}``)."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})

    def sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
        if text is not None:
            element.text = text
        return element

    sub(feed, "id", f"tag:{sender},2026:alerts")
    sub(feed, "title", "Cảnh báo khẩn cấp đang phát")
    sub(feed, "updated", now.astimezone(UTC).replace(microsecond=0).isoformat())
    sub(feed, "link", rel="self", href=feed_url)
    author = sub(feed, "author")
    sub(author, "name", sender)
    for alert in alerts:
        entry = sub(feed, "entry")
        sub(entry, "id", f"tag:{sender},2026:alert:{alert.id}")
        sub(entry, "title", alert.title)
        sub(entry, "updated", alert.started_at.astimezone(UTC).replace(microsecond=0).isoformat())
        level = levels.RISK_LEVELS.get(alert.risk_level or 0)
        hazard = levels.HAZARDS.get(alert.hazard or "")
        summary = ", ".join(x for x in (hazard.label if hazard else "", level.label if level else "") if x)
        sub(entry, "summary", (summary + ": " if summary else "") + (alert.message_text or alert.title))
        sub(entry, "link", rel="alternate", type="application/cap+xml", href=alert_url.format(id=alert.id))
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8"))
