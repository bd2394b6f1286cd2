"""Reading a CAP 1.2 message from outside, which may be hostile (docs/security.md "CAP").

In this order, each step refusing with a ``CapRefused`` (a Vietnamese message and a stable ``reason``
that is counted, ``loa.fleet.counters``):

1. size: the bytes are read in chunks and refused as soon as they pass the limit, so a 50 MB body costs
   one chunk of memory, never 50 MB (``read_bounded``);
2. defusedxml: any DTD (hence any entity declaration: billion laughs, external entities to local files
   or URLs) is refused before anything is expanded;
3. the OASIS CAP 1.2 schema (``cap-1.2.xsd`` shipped beside this module), with lxml set to resolve
   nothing and fetch nothing;
4. optionally the enveloped XML signature (signxml) against the province's trusted certificate.

Only then are the fields read into plain values (``CapMessage``); mapping them to an alert is
``loa.alerts.cap.mapping``."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import defusedxml
import defusedxml.ElementTree as safe_et
from lxml import etree

from loa.errors import InvalidInput, PayloadTooLarge

NS = "urn:oasis:names:tc:emergency:cap:1.2"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_Q = "{" + NS + "}"


class CapRefused(InvalidInput):
    """A CAP message that is not accepted (422); ``reason`` names the counter it adds to."""

    default_code = "cap_refused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, code=f"cap_{reason}")
        self.reason = reason


class CapTooLarge(PayloadTooLarge):
    """A CAP message over the size limit (413), refused before it is all read."""

    reason = "oversized"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="cap_oversized")


Refusal = CapRefused | CapTooLarge


# Variants as data: reason → Vietnamese message (what the sender's operator reads).
MESSAGES: dict[str, str] = {
    "oversized": "Bản tin CAP quá lớn (tối đa {limit} KB).",
    "not_xml": "Bản tin CAP không phải XML hợp lệ.",
    "dtd": "Bản tin CAP chứa khai báo DTD; vì an toàn, hệ thống không nhận DTD.",
    "entities": "Bản tin CAP khai báo thực thể XML (có thể là tấn công mở rộng thực thể); đã từ chối.",
    "external": "Bản tin CAP tham chiếu tới tệp hoặc địa chỉ bên ngoài; đã từ chối.",
    "schema": "Bản tin không đúng lược đồ CAP 1.2: {detail}",
    "unsigned": "Bản tin CAP chưa được ký số, trong khi tỉnh yêu cầu chữ ký số.",
    "bad_signature": "Chữ ký số của bản tin CAP không hợp lệ hoặc không phải của nguồn tin cậy.",
}


def refused(reason: str, **values: object) -> CapRefused:
    return CapRefused(MESSAGES[reason].format(**values), reason=reason)


def _too_large(limit: int) -> CapTooLarge:
    return CapTooLarge(MESSAGES["oversized"].format(limit=limit // 1024))


def read_bounded(chunks: Iterable[bytes], limit: int) -> bytes:
    """The chunks joined, refused as soon as they pass ``limit`` bytes (the rest is never read)."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def read_bounded_async(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


@dataclass(frozen=True)
class CapArea:
    description: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()  # (lat, lon) rings
    circles: tuple[tuple[float, float, float], ...] = ()  # (lat, lon, radius_km)
    geocodes: tuple[tuple[str, str], ...] = ()  # (valueName, value)


@dataclass(frozen=True)
class CapInfo:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    event_codes: tuple[tuple[str, str], ...] = ()
    expires_at: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    areas: tuple[CapArea, ...] = ()


@dataclass(frozen=True)
class CapMessage:
    identifier: str
    sender: str
    sent_at: datetime
    status: str  # Actual | Exercise | System | Test | Draft
    msg_type: str  # Alert | Update | Cancel | Ack | Error
    scope: str
    references: tuple[tuple[str, str, str], ...] = ()  # (sender, identifier, sent)
    infos: tuple[CapInfo, ...] = ()
    signed: bool = False
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@functools.cache
def schema() -> etree.XMLSchema:
    """The CAP 1.2 schema shipped in the package (read once)."""
    data = resources.files("loa.alerts.cap").joinpath("cap-1.2.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _parser()))


def _parser() -> etree.XMLParser:
    # Nothing resolved, nothing fetched; a DTD never reaches here (defusedxml refused it first).
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def check_safe(data: bytes) -> None:
    """Refuse DTDs, entity declarations and external references before any expansion."""
    try:
        safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as err:
        raise refused("entities" if b"<!ENTITY" in data else "dtd") from err
    except defusedxml.EntitiesForbidden as err:
        raise refused("entities") from err
    except defusedxml.ExternalReferenceForbidden as err:
        raise refused("external") from err
    except (safe_et.ParseError, ValueError, UnicodeError) as err:
        raise refused("not_xml") from err


def validate(data: bytes) -> etree._Element:
    """The document's root once it is safe and valid against the CAP 1.2 schema."""
    check_safe(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as err:
        raise refused("not_xml") from err
    cap = schema()
    if not cap.validate(root):
        first = cap.error_log.filter_from_errors()
        detail = first[0].message if first else "cấu trúc sai"
        raise refused("schema", detail=_short(detail))
    return root


def _short(detail: str) -> str:
    # lxml's wording names the element; keep it short and without the namespace noise.
    return detail.replace("{" + NS + "}", "")[:200]


def verify_signature(data: bytes, cert_pem: bytes) -> None:
    """The enveloped XML signature is valid and made with ``cert_pem``'s key."""
    from signxml.exceptions import InvalidInput as SignxmlInvalidInput
    from signxml.exceptions import InvalidSignature
    from signxml.verifier import XMLVerifier  # imported here: only a province that signs pays for it

    try:
        XMLVerifier().verify(data, x509_cert=cert_pem.decode("ascii"))
    except (InvalidSignature, SignxmlInvalidInput, ValueError) as err:
        raise refused("bad_signature") from err


def has_signature(root: etree._Element) -> bool:
    return root.find("{" + DSIG_NS + "}Signature") is not None


def _text(element: etree._Element, name: str) -> str:
    found = element.find(_Q + name)
    return (found.text or "").strip() if found is not None else ""


def _texts(element: etree._Element, name: str) -> tuple[str, ...]:
    return tuple((e.text or "").strip() for e in element.findall(_Q + name))


def _pairs(element: etree._Element, name: str) -> tuple[tuple[str, str], ...]:
    return tuple((_text(e, "valueName"), _text(e, "value")) for e in element.findall(_Q + name))


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _polygon(text: str) -> tuple[tuple[float, float], ...]:
    points = []
    for pair in text.split():
        lat, _, lon = pair.partition(",")
        points.append((float(lat), float(lon)))
    if len(points) < 4:
        raise ValueError("a CAP polygon has at least four points")
    return tuple(points)


def _circle(text: str) -> tuple[float, float, float]:
    centre, _, radius = text.strip().partition(" ")
    lat, _, lon = centre.partition(",")
    return float(lat), float(lon), float(radius)


def _area(element: etree._Element) -> CapArea:
    try:
        polygons = tuple(_polygon(p) for p in _texts(element, "polygon") if p)
        circles = tuple(_circle(c) for c in _texts(element, "circle") if c)
    except ValueError as err:
        raise refused("schema", detail="tọa độ vùng (polygon/circle) sai định dạng") from err
    return CapArea(_text(element, "areaDesc"), polygons, circles, _pairs(element, "geocode"))


def _info(element: etree._Element) -> CapInfo:
    expires = _text(element, "expires")
    return CapInfo(
        language=_text(element, "language") or "en-US",
        categories=_texts(element, "category"),
        event=_text(element, "event"),
        urgency=_text(element, "urgency"),
        severity=_text(element, "severity"),
        certainty=_text(element, "certainty"),
        event_codes=_pairs(element, "eventCode"),
        expires_at=parse_time(expires) if expires else None,
        sender_name=_text(element, "senderName"),
        headline=_text(element, "headline"),
        description=_text(element, "description"),
        instruction=_text(element, "instruction"),
        areas=tuple(_area(a) for a in element.findall(_Q + "area")),
    )


def _references(text: str) -> tuple[tuple[str, str, str], ...]:
    out = []
    for ref in text.split():
        parts = ref.split(",")
        if len(parts) == 3:
            out.append((parts[0], parts[1], parts[2]))
    return tuple(out)


def parse(
    data: bytes, *, trusted_cert_pem: bytes | None = None, require_signature: bool = False
) -> CapMessage:
    """A CAP 1.2 message from bytes of unknown origin (already bounded by ``read_bounded``)."""
    root = validate(data)
    signed = has_signature(root)
    if require_signature and not signed:
        raise refused("unsigned")
    if signed and trusted_cert_pem is not None:
        verify_signature(data, trusted_cert_pem)
    elif signed and require_signature:
        raise refused("bad_signature")  # required, but no certificate to check it with
    return CapMessage(
        identifier=_text(root, "identifier"),
        sender=_text(root, "sender"),
        sent_at=parse_time(_text(root, "sent")),
        status=_text(root, "status"),
        msg_type=_text(root, "msgType"),
        scope=_text(root, "scope"),
        references=_references(_text(root, "references")),
        infos=tuple(_info(i) for i in root.findall(_Q + "info")),
        signed=signed and trusted_cert_pem is not None,
        note=_text(root, "note"),
    )
