"""End to end in Chromium: a commune operator signs in, adds a banner through the register form,
generates the year's report and downloads the DOCX, which opens with python-docx and shows the banner."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from tests.activities.areas import build_tree
from tests.support.auth import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def operator(live_session: Session) -> str:
    build_tree(live_session)
    make_user(live_session, "canbo.bato", Role.COMMUNE_OPERATOR, "21484", display_name="Phạm Thị Lan")
    live_session.commit()
    return "canbo.bato"


def test_banner_to_report_download(page: Page, operator: str) -> None:
    page.goto("/login?next=/activities")
    page.get_by_label("Tên đăng nhập").fill(operator)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/activities$"))
    expect(page.get_by_role("heading", name="Hoạt động tuyên truyền")).to_be_visible()

    form = page.get_by_test_id("create-form")
    form.get_by_label("Loại").select_option(label="Băng rôn")
    form.get_by_label("Địa điểm").fill("Cổng chào thôn Làng Teng")
    form.get_by_label("Rộng (m)").fill("0,8")
    form.get_by_label("Cao (m)").fill("6")
    form.get_by_label("Số lượng").fill("3")
    form.get_by_label("Ngày lắp đặt").fill(date.today().isoformat())
    expect(form.get_by_role("combobox", name="Địa bàn (gõ tên rồi chọn)")).to_have_value(
        "Xã Ba Tơ (Quảng Ngãi)"
    )
    form.get_by_label("Cải cách hành chính (CCHC)").check()
    form.get_by_role("button", name="Lưu sản phẩm trực quan").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Đã thêm sản phẩm trực quan")
    expect(page.get_by_test_id("records")).to_contain_text("Cổng chào thôn Làng Teng")

    page.get_by_role("link", name="Báo cáo", exact=True).click()
    page.get_by_test_id("new-report").click()
    expect(page.get_by_label("Năm")).to_have_value(str(date.today().year))
    page.get_by_label("Chủ đề").select_option("cchc")
    page.get_by_label("II. Thuận lợi").fill("- Được cấp ủy, chính quyền quan tâm chỉ đạo")
    page.get_by_role("button", name="Lập báo cáo").click()
    expect(page.get_by_test_id("report-title")).to_contain_text(
        f"cải cách hành chính năm {date.today().year}"
    )
    expect(page.get_by_test_id("figure-visual.banner")).to_have_text("03")

    with page.expect_download() as info:
        page.get_by_test_id("download-docx").click()
    download = info.value
    assert download.suggested_filename.endswith(".docx")
    content = Path(download.path()).read_bytes()
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "03 băng rôn" in text and "Cổng chào thôn Làng Teng" in text
    assert "Được cấp ủy, chính quyền quan tâm chỉ đạo" in text
