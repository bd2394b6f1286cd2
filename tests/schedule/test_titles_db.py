"""Titles behind item ids (``loa.schedule.titles``) on a real database: a running-order line reads as its
bulletin and programme, a repeated round says which round, an announcement and a "play now" read as their
titles, and an id naming nothing known gets no title (the page then says what kind of content it was)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from loa.fleet.models import DeviceCommand, DeviceCommandBatch
from loa.protocol import itemids
from loa.schedule import models as m
from loa.schedule import service
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.schedule.titles import item_titles
from tests.schedule.world import BA_TO, World, approved_bulletin, audio_asset

AIRING = datetime(2023, 1, 15, 23, 0, tzinfo=UTC)


def _command_payload(command_id: str, title: str | None) -> str:
    args = {"audio_sha256": "ab" * 32, **({"title": title} if title else {})}
    return json.dumps({"v": 1, "type": "cmd", "id": command_id, "kind": "play_now", "args": args})


def test_item_ids_read_as_titles(session: Session, world: World) -> None:
    news = approved_bulletin(
        session, world, "Lịch tiêm chủng tháng 1", {"vi": audio_asset(session, "tiem", 90)}
    )
    outcome = service.create_programme(
        session,
        principal=world.operator,
        data=ProgrammeInput(
            name="Bản tin sáng",
            start_local=datetime(2023, 1, 16, 6, 0),
            slot_minutes=30,
            targets=[TargetInput("commune", BA_TO)],
            rrule="FREQ=DAILY",
            until_cancelled=True,
        ),
        now=AIRING,
    )
    assert outcome.programme is not None
    pid = outcome.programme.id
    notice = m.Announcement(title="Thông báo cắt điện", start_at=AIRING, created_at=AIRING)
    session.add(notice)
    one = "1f" * 16
    group = "2e" * 16
    device_id = world.device(session, "loa-bt-01").id
    session.add(
        DeviceCommand(
            id=one,
            device_id=device_id,
            kind="play_now",
            payload=_command_payload(one, "Cảnh báo lũ"),
            expires_at=AIRING,
        )
    )
    session.add(
        DeviceCommandBatch(
            id=group, kind="play_now", payload=_command_payload(group, None), expires_at=AIRING
        )
    )
    session.flush()

    line = itemids.programme_item(str(pid), AIRING, str(news.id))
    recording = itemids.programme_item(str(pid), AIRING, "nhac-hieu-dai-phat-thanh")
    alert = itemids.command_item(one)
    found = item_titles(
        session,
        [
            line,
            itemids.programme_item(str(pid), AIRING, str(news.id), repeat=1),
            recording,
            itemids.announcement_item(str(notice.id)),
            alert,
            itemids.round_item(alert, 3),
            itemids.command_item(group),  # a "play now" that carried no title
            itemids.programme_item("999999", AIRING, str(news.id)),  # a programme since deleted
            "tin-1",
            "",
        ],
    )
    assert found == {
        line: "Lịch tiêm chủng tháng 1 — Bản tin sáng",
        itemids.programme_item(
            str(pid), AIRING, str(news.id), repeat=1
        ): "Lịch tiêm chủng tháng 1 — Bản tin sáng",
        recording: "Bản tin sáng",
        itemids.announcement_item(str(notice.id)): "Thông báo cắt điện",
        alert: "Cảnh báo lũ",
        itemids.round_item(alert, 3): "Cảnh báo lũ (lần 3)",
        itemids.programme_item("999999", AIRING, str(news.id)): "Lịch tiêm chủng tháng 1",
    }
    assert item_titles(session, []) == {}
