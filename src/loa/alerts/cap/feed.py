"""Polling a CAP feed (``LOA_CAP_FEED_URL``): an Atom or RSS feed whose entries carry CAP messages
(embedded in ``<content>`` or linked), or the URL of one CAP message. Run every
``LOA_CAP_FEED_INTERVAL_S`` beside the gateway (``loa.wiring``), acting as the account
``LOA_CAP_FEED_USERNAME`` (its areas and rights decide what the messages may reach).

The feed is outside the machine and may be hostile like any CAP message: every document (the feed and
each linked message) is read with the same size bound and passes the same DTD/entity refusal before
anything else; a refused one is counted and skipped, the others are still read. A message already
ingested is a duplicate and changes nothing, so polling the same feed again is harmless."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loa.accounts.models import User
from loa.accounts.service import principal_for
from loa.alerts.cap.parse import NS, CapRefused, CapTooLarge, check_safe, read_bounded
from loa.alerts.cap.service import CapPolicy, count_refusal, ingest
from loa.alerts.service import AiredAudio
from loa.errors import LoaError
from loa.speech.service import SpeechContext

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 50
Fetch = Callable[[str], bytes]


@dataclass
class PollReport:
    ingested: list[str] = field(default_factory=list)  # outcomes of new messages (draft, active, …)
    duplicates: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # by reason
    failed: int = 0  # valid CAP that could not become an alert (area, expiry…): logged


def http_fetcher(client: httpx.Client, limit: int) -> Fetch:
    """GET a URL, reading at most ``limit`` bytes (a larger body is refused as it streams)."""

    def fetch(url: str) -> bytes:
        with client.stream("GET", url) as response:
            response.raise_for_status()
            return read_bounded(response.iter_bytes(), limit)

    return fetch


def cap_documents(feed: bytes, feed_url: str, fetch: Fetch) -> list[bytes | LoaError]:
    """The CAP messages a feed carries (or the feed itself when it is one message), in feed order;
    an entry that could not be read is its error, in its place."""
    check_safe(feed)
    root = etree.fromstring(feed, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    if root.tag == f"{{{NS}}}alert":
        return [feed]
    out: list[bytes | LoaError] = []
    entries = root.findall(f"{{{ATOM}}}entry") or root.findall("channel/item")
    for entry in entries[:MAX_ENTRIES]:
        embedded = entry.find(f".//{{{NS}}}alert")
        if embedded is not None:
            out.append(etree.tostring(embedded, xml_declaration=True, encoding="UTF-8"))
            continue
        href = _cap_link(entry)
        if href is None:
            continue
        try:
            out.append(fetch(urljoin(feed_url, href)))
        except (CapRefused, CapTooLarge) as err:
            out.append(err)
        except httpx.HTTPError as err:
            log.warning("CAP feed entry %s not fetched: %s", href, err)
    return out


def _cap_link(entry: etree._Element) -> str | None:
    links = entry.findall(f"{{{ATOM}}}link")
    for link in links:
        if "cap" in (link.get("type") or ""):
            return _str(link.get("href"))
    if links:
        return _str(links[0].get("href"))
    enclosure = entry.find("enclosure")
    if enclosure is not None:
        return _str(enclosure.get("url"))
    rss_link = entry.find("link")
    return _str(rss_link.text) if rss_link is not None else None


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def poll_once(
    sessions: sessionmaker[Session],
    *,
    url: str,
    username: str,
    policy: CapPolicy,
    speech: SpeechContext,
    aired: AiredAudio,
    fetch: Fetch,
) -> PollReport:
    """Read the feed once and ingest each message in its own transaction."""
    report = PollReport()

    def refused(reason: str) -> None:
        report.refused[reason] = report.refused.get(reason, 0) + 1
        with sessions() as session, session.begin():
            count_refusal(session, reason)

    try:
        documents = cap_documents(fetch(url), url, fetch)
    except (CapRefused, CapTooLarge) as err:
        refused(err.reason)
        return report
    except httpx.HTTPError as err:
        log.warning("CAP feed %s not read: %s", url, err)
        report.failed += 1
        return report
    for document in documents:
        if isinstance(document, CapRefused | CapTooLarge):
            refused(document.reason)
            continue
        if isinstance(document, LoaError):
            report.failed += 1
            continue
        with sessions() as session:
            user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
            if user is None:
                log.error("CAP feed: the account %r (LOA_CAP_FEED_USERNAME) is missing or inactive", username)
                report.failed += 1
                return report
            try:
                result = ingest(
                    session,
                    principal=principal_for(session, user),
                    data=document,
                    policy=policy,
                    speech=speech,
                    aired=aired,
                )
            except (CapRefused, CapTooLarge) as err:
                session.rollback()
                refused(err.reason)
                continue
            except LoaError as err:
                session.rollback()
                log.warning("CAP message from the feed not made into an alert: %s", err.message)
                report.failed += 1
                continue
            session.commit()
        if result.outcome == "duplicate":
            report.duplicates += 1
        else:
            report.ingested.append(result.outcome)
            log.info("CAP feed: %s (alerts %s)", result.outcome, list(result.alert_ids))
    return report
