"""Telling people of raised and cleared health alarms (``loa.fleet.health``), after the commit:
by e-mail (SMTP relay), by webhook (JSON POST) and by Web Push (``loa.push``), each when configured.
One message per channel per evaluation; a channel that fails is logged and does not stop the others
(the alarm stays on the dashboard whatever happens to its notices)."""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage

from loa.accounts.logic import format_vietnam_time
from loa.fleet.health import ALARM_KINDS, AlarmChange

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0


def subject(changes: Sequence[AlarmChange]) -> str:
    raised = sum(1 for c in changes if c.raised)
    cleared = len(changes) - raised
    parts = [f"{raised} cảnh báo mới"] if raised else []
    if cleared:
        parts.append(f"{cleared} cảnh báo đã hết")
    return "[Loa] Cụm loa: " + ", ".join(parts)


def body(changes: Sequence[AlarmChange]) -> str:
    lines = [f"{format_vietnam_time(c.at)} — {c.text}" for c in changes]
    return "\n".join(["Tình trạng các cụm loa đã thay đổi:", "", *lines, ""])


def send_email(
    changes: Sequence[AlarmChange], *, host: str, port: int, sender: str, to: Sequence[str]
) -> None:
    message = EmailMessage()
    message["Subject"] = subject(changes)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message.set_content(body(changes))
    with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
        smtp.send_message(message)


def webhook_payload(changes: Sequence[AlarmChange]) -> bytes:
    return json.dumps(
        {
            "alarms": [
                {
                    "device": c.device_name,
                    "kind": c.kind,
                    "label": ALARM_KINDS[c.kind].label,
                    "state": "raised" if c.raised else "cleared",
                    "text": c.text,
                    "at": c.at.isoformat(),
                }
                for c in changes
            ]
        },
        ensure_ascii=False,
    ).encode()


def send_webhook(changes: Sequence[AlarmChange], *, url: str) -> None:
    request = urllib.request.Request(
        url, data=webhook_payload(changes), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        response.read()


def notify(
    changes: Sequence[AlarmChange],
    *,
    smtp_host: str | None,
    smtp_port: int,
    sender: str,
    to: Sequence[str],
    webhook_url: str | None,
) -> list[str]:
    """Send by e-mail and webhook; returns the channels that failed (logged)."""
    failed: list[str] = []
    if not changes:
        return failed
    if smtp_host and to:
        try:
            send_email(changes, host=smtp_host, port=smtp_port, sender=sender, to=to)
        except (OSError, smtplib.SMTPException) as err:
            log.warning("alarm e-mail not sent: %s", err)
            failed.append("email")
    if webhook_url:
        try:
            send_webhook(changes, url=webhook_url)
        except OSError as err:
            log.warning("alarm webhook not sent: %s", err)
            failed.append("webhook")
    return failed
