"""The audit page reads events in words: objects by their name ("Chương trình «…»", "Buổi phát 07:00
ngày … của «…»"), details with Vietnamese labels and values — never "programme #12", "reason: periodic;
incremental: False" or "commune:21484:vi"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.db.base import utcnow
from loa.schedule import hooks, service, slots
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.settings import Settings
from tests.schedule.world import BA_TO, HRE_VILLAGE, World
from tests.support.auth import login_web

CODES = re.compile(r"programme #|slot #|commune:|village:|reason: |incremental: |\bFalse\b|\bTrue\b|21484")


def test_audit_page_in_words(client: TestClient, session: Session, world: World, settings: Settings) -> None:
    today = to_local(utcnow()).date()
    start = datetime.combine(today + timedelta(days=3), datetime.min.time()).replace(hour=7)
    outcome = service.create_programme(
        session,
        principal=world.operator,
        data=ProgrammeInput(
            name="Bản tin sáng",
            start_local=start,
            slot_minutes=30,
            targets=[TargetInput("commune", BA_TO), TargetInput("village", HRE_VILLAGE, "hre")],
            rrule="FREQ=DAILY",
            until_cancelled=True,
        ),
        now=utcnow(),
    )
    assert outcome.programme is not None
    key = f"{outcome.programme.id}-{start:%Y%m%dT%H%M}"
    slots.move_slot(
        session, principal=world.operator, key=key, new_start_local=start + timedelta(hours=10), now=utcnow()
    )
    hooks.periodic_compile(session, data_dir=settings.data_dir)
    # an event written before the audit kept the places in words: only the codes
    audit.record(
        session,
        action="schedule.programme_update",
        actor=world.operator,
        target_type="programme",
        target_id=outcome.programme.id,
        details={"targets": [f"commune:{BA_TO}:vi", f"village:{HRE_VILLAGE}:hre"], "incremental": False},
    )
    session.commit()

    login_web(client, "quantri")
    page = client.get("/audit")
    assert page.status_code == 200
    table = page.text.split('data-testid="audit-table"')[1]
    assert "Chương trình «Bản tin sáng»" in table
    assert f"Buổi phát 07:00 ngày {start:%d/%m/%Y} của «Bản tin sáng»" in table
    assert "Nơi phát: Xã Ba Tơ, Làng Teng" in table  # the places, named when the event was written
    assert "Nơi phát: Xã Ba Tơ, Làng Teng (Tiếng Hrê)" in table  # older events: codes named on reading
    assert "Lý do: lập lại định kỳ; Cách lập: lập lại toàn bộ" in table
    assert "Sang: 17:00 ngày" in table
    assert not CODES.search(table), CODES.search(table)


def test_details_in_words_without_a_database() -> None:
    text = audit.details_text(
        {"total_ms": 270_000, "overfull": False, "start_local": "2024-01-16T07:00:00", "retry_after_s": 60}
    )
    assert text == (
        "Tổng thời lượng: 4 phút 30 giây; Dài hơn khung giờ: không; Bắt đầu: 07:00 ngày 16/01/2024; "
        "Thử lại sau: 60 giây"
    )
