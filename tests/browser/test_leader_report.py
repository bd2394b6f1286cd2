"""End to end in Chromium: a leader (approver) of Xã Ba Tơ, whose operator filed the year's mobile trips
as one count entry, draws up the year's report on the pages, sees the trips counted and downloads the
DOCX to sign; both steps are in the audit log."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.accounts.principal import Principal, Role
from loa.activities import service
from loa.activities.registers import MOBILE
from tests.activities.areas import build_tree
from tests.support.auth import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser

OPERATOR = Principal(user_id=0, username="canbo", display_name="Cán bộ", role=Role.ADMIN)


@pytest.fixture
def leader(live_session: Session) -> str:
    build_tree(live_session)
    make_user(live_session, "lanhdao.bato", Role.APPROVER, "21484", display_name="Trần Văn Bình")
    today = date.today()
    service.create_record(
        live_session,
        spec=MOBILE,
        principal=OPERATOR,
        data={
            "trip_on": date(today.year, 1, 1).isoformat(),
            "ends_on": today.isoformat(),
            "quantity": 14,
            "area": "21484",
        },
    )
    live_session.commit()
    return "lanhdao.bato"


def test_leader_draws_up_and_downloads_the_report(page: Page, leader: str, live_session: Session) -> None:
    page.goto("/login?next=/reports")
    page.get_by_label("Tên đăng nhập").fill(leader)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/reports$"))

    page.get_by_test_id("new-report").click()
    expect(page.get_by_label("Năm")).to_have_value(str(date.today().year))
    page.get_by_label("II. Thuận lợi").fill("- Lãnh đạo xã quan tâm chỉ đạo")
    page.get_by_label("I. Nội dung tuyên truyền chủ yếu").fill("Tuyên truyền dịch vụ công trực tuyến")
    # The assessment the system drafts is shown in the form, to read and edit before the report is made.
    page.get_by_test_id("draft-assessment").click()
    expect(page.get_by_test_id("assessment-drafted")).to_be_visible()
    assessment = page.get_by_label("I. Đánh giá chung")
    expect(assessment).to_have_value(re.compile(rf"^Trong năm {date.today().year} và năm "))
    expect(page.get_by_label("II. Thuận lợi")).to_have_value("- Lãnh đạo xã quan tâm chỉ đạo")
    assessment.fill("Công tác tuyên truyền được duy trì thường xuyên.")
    page.get_by_role("button", name="Lập báo cáo").click()
    expect(page.get_by_test_id("report-title")).to_contain_text(f"năm {date.today().year}")
    expect(page.get_by_test_id("figure-mobile.trip")).to_have_text("14")

    with page.expect_download() as info:
        page.get_by_test_id("download-docx").click()
    content = Path(info.value.path()).read_bytes()
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "14 lượt xe thông tin lưu động" in text and "Lãnh đạo xã quan tâm chỉ đạo" in text
    assert "Công tác tuyên truyền được duy trì thường xuyên." in text
    assert "- Tuyên truyền dịch vụ công trực tuyến" in text

    live_session.expire_all()
    actions = [
        (e.action, e.actor_name)
        for e in live_session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("report.")).order_by(AuditEvent.id)
        )
    ]
    assert actions == [("report.generate", leader), ("report.download", leader)]
