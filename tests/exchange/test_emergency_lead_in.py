"""An emergency pushed down by an upper system airs like every alert: the lead-in signal, then the
message (``loa.alerts.leadin``); the message is the upper system's audio, unchanged. Checked on what the
loudspeakers are sent (the group "play now" and the manifests) and on the file itself, decoded."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loa.alerts.models import EmergencyAlert
from loa.exchange.models import InboxItem, PeerRelation
from loa.fleet.models import DeviceCommandBatch
from loa.settings import Settings
from tests.alerts.test_carried import alert_items, eventually
from tests.alerts.test_leadin_paths import check_aired_with_lead_in
from tests.exchange.conftest import connect
from tests.exchange.world import BA_TO, bulletin_body, tone


def test_an_emergency_from_an_upper_system_starts_with_the_lead_in(
    app: FastAPI, lower: Session, settings: Settings
) -> None:
    _, token = connect(lower, relation=PeerRelation.UPPER, areas=[BA_TO], push_url="")
    lower.commit()
    with TestClient(app) as client:
        answer = client.post(
            "/api/exchange/v1/bulletins",
            json=bulletin_body("tw-lead-in", "emergency", [BA_TO], tone(2.0, 440.0)),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "lead-in"},
        )
        assert answer.status_code == 202, answer.text
        factory: sessionmaker[Session] = app.state.session_factory
        with factory() as s:
            item = s.scalars(select(InboxItem).where(InboxItem.remote_id == "tw-lead-in")).one()
            alert = s.get_one(EmergencyAlert, item.alert_id)
            sent = [
                str(json.loads(b.payload)["args"]["audio_sha256"])
                for b in s.scalars(select(DeviceCommandBatch))
                if b.kind == "play_now"
            ]
            s.expunge_all()
        assert alert.audio_sha256 == item.audio_sha256  # the message: the upper system's audio
        # No level from above: the signal of an alert without one (three short 1 kHz beeps).
        check_aired_with_lead_in(factory, settings.audio_dir, alert, sent, (950, 1050))
        eventually(
            lambda: bool(alert_items(factory, "loa-a00000000001", alert.id)), "the rounds in the manifest"
        )
        assert {i.audio.sha256 for i in alert_items(factory, "loa-a00000000001", alert.id)} == {
            alert.aired_sha256
        }


def test_an_upper_systems_title_reaches_the_alert_without_control_characters(
    app: FastAPI, lower: Session
) -> None:
    """The inbox item's title was cleaned, but the audio (and so the alert, its pages and the
    loudspeakers' command) took the raw one: ESC, BEL and NUL included (PostgreSQL refuses NUL)."""
    _, token = connect(lower, relation=PeerRelation.UPPER, areas=[BA_TO], push_url="")
    lower.commit()
    title = "Lũ quét\x1b[31m trên sông Liên\x07\x00 khẩn cấp"
    with TestClient(app) as client:
        answer = client.post(
            "/api/exchange/v1/bulletins",
            json={
                **bulletin_body("tw-title", "emergency", [BA_TO], tone(1.0, 440.0), title=title),
                "body": "Dòng một\x00\x1b\ndòng hai",
            },
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "title"},
        )
        assert answer.status_code == 202, answer.text
    factory: sessionmaker[Session] = app.state.session_factory
    with factory() as s:
        item = s.scalars(select(InboxItem).where(InboxItem.remote_id == "tw-title")).one()
        alert = s.get_one(EmergencyAlert, item.alert_id)
        assert alert.title == item.title == "Lũ quét [31m trên sông Liên khẩn cấp"
        assert item.body_text == "Dòng một\ndòng hai"
        (batch,) = [b for b in s.scalars(select(DeviceCommandBatch)) if b.kind == "play_now"]
        assert json.loads(batch.payload)["args"]["title"] == alert.title
