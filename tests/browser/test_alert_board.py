"""In Chromium: the acknowledgement board of an alert refreshes by itself as the loudspeakers answer
(one acknowledges the command, the other reports a round it played), without reloading the page; the
alert's hazard and level show in the decision's colour."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.service import principal_for
from loa.alerts import service as alerts
from loa.db import make_session_factory
from loa.fleet import service as fleet
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch, PlayReceipt, ReceiptOutcome
from loa.speech.store import LocalAudioStore
from tests.fleet.world import COMMUNE_A, IDS, SHA, add_asset, seed_fleet_world
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def alert_id(live_session: Session, live_engine: Engine, tmp_path: Path) -> int:
    seed_fleet_world(live_session)
    live_session.commit()
    add_asset(live_engine)
    with make_session_factory(live_engine)() as s, s.begin():
        operator = principal_for(s, s.scalars(select(User).where(User.username == "vanhanh.a")).one())
        alert = alerts.start_alert(
            s,
            principal=operator,
            commune_codes=[COMMUNE_A],
            audio_sha256=SHA,
            hazard="flood",
            risk_level=4,
            aired=alerts.AiredAudio(LocalAudioStore(tmp_path)),  # no file: the message plays alone
        )
        return alert.id


def test_the_board_refreshes_by_itself(page: Page, alert_id: int, live_engine: Engine) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("vanhanh.a")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto("/alerts")
    badge = page.get_by_test_id("risk-badge").first
    expect(badge).to_have_text("Lũ, ngập lụt · Cấp độ 4")
    expect(badge).to_have_css("background-color", "rgb(214, 40, 40)")  # red: level 4
    page.get_by_role("link", name="thong-bao-tiem-chung.mp3").click()
    summary = page.get_by_test_id("board-summary")
    expect(summary).to_contain_text("0/2")
    expect(page.get_by_test_id("board-silent")).to_contain_text("Cụm loa chợ Ba Tơ")

    with make_session_factory(live_engine)() as s, s.begin():
        (batch,) = s.scalars(select(DeviceCommandBatch))
        fleet.materialise_batch(s, batch=batch, sent_at=batch.issued_at)
        a1, a2 = (s.scalars(select(Device).where(Device.uid == uid)).one() for uid in (IDS.a1, IDS.a2))
        row = s.scalars(
            select(DeviceCommand).where(DeviceCommand.batch_id == batch.id, DeviceCommand.device_id == a1.id)
        ).one()
        row.result, row.acked_at = "done", batch.issued_at + timedelta(seconds=1)
        s.add(
            PlayReceipt(
                device_id=a2.id,
                receipt_id="r-1",
                seq=1,
                item_id=f"e.{alert_id}",
                audio_sha256=SHA,
                started_at=batch.issued_at + timedelta(seconds=2),
                ended_at=batch.issued_at + timedelta(seconds=67),
                outcome=ReceiptOutcome.PLAYED,
                received_at=batch.issued_at + timedelta(seconds=68),
            )
        )
    # No reload: the page's polling brings the answers in.
    expect(summary).to_contain_text("2/2", timeout=15_000)
    expect(page.locator(f'tr[data-device="{IDS.a1}"]')).to_contain_text("Đã nhận")
    expect(page.locator(f'tr[data-device="{IDS.a2}"]')).to_contain_text("Đã phát")
    expect(page.get_by_test_id("board-silent")).to_have_count(0)
