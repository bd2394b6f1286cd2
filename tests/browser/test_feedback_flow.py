"""In Chromium: a citizen sends feedback to their commune without an account (topic, text, phone, a
photo), gets a tracking code; an officer of the commune answers it; the citizen, in another browser,
reads the answer by code. On the way, the abuse cases are refused with clear Vietnamese messages:
script in the text (and nothing runs), an oversized upload, and a flood of posts. No page breaks the
content security policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.db import make_session_factory
from loa.feedback import logic
from loa.feedback.models import Feedback
from loa.settings import Settings
from tests.exchange.world import BA_TO, BA_VI, seed_areas
from tests.feedback.conftest import jpeg
from tests.support.auth import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        demo=True,
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-secret-key-0123456789abcdef"),
        feedback_max_photo_bytes=300_000,
        feedback_max_voice_bytes=300_000,
    )


@pytest.fixture
def world(live_session: Session) -> None:
    seed_areas(live_session)
    make_user(live_session, "vanhanh.bato", Role.COMMUNE_OPERATOR, BA_TO, display_name="Phạm Thị Lan")
    live_session.commit()


def _watch_csp(page: Page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return problems


def _answer(page: Page) -> str:
    question = page.get_by_test_id("challenge-question").inner_text()
    first, rest = question.split(" cộng ")
    return str(logic.DIGIT_WORDS.index(first.lower()) + logic.DIGIT_WORDS.index(rest.split(" bằng")[0]))


def _fill(page: Page, text: str, *, phone: str = "", photo: bytes | None = None) -> None:
    page.goto(f"/gop-y/{BA_TO}")
    page.get_by_label("Lĩnh vực").select_option(label="Văn hóa, xã hội")
    page.get_by_label("Nội dung ý kiến, phản ánh").fill(text)
    if phone:
        page.get_by_label("Số điện thoại (không bắt buộc, để xã liên hệ và nhắn tin khi có trả lời)").fill(
            phone
        )
    if photo is not None:
        page.get_by_label(
            "Ảnh kèm theo (không bắt buộc; JPEG, PNG hoặc WebP, tối đa 293 KB)"
        ).set_input_files({"name": "anh.jpg", "mimeType": "image/jpeg", "buffer": photo})
    page.get_by_label("Để chống tin rác, vui lòng trả lời").fill(_answer(page))
    page.get_by_role("button", name="Gửi ý kiến").click()


def test_a_citizen_sends_an_officer_answers_the_citizen_reads_it(
    browser: Browser, page: Page, world: None, live_server: str, live_engine: Engine
) -> None:
    problems = _watch_csp(page)

    # Refused, each with a message a person understands; nothing is recorded.
    _fill(page, "Đường làng hỏng <script>alert('xin chào')</script>")
    expect(page.get_by_test_id("form-error")).to_contain_text("không được chứa mã HTML hay mã lệnh")
    expect(page.get_by_label("Nội dung ý kiến, phản ánh")).to_have_value(
        "Đường làng hỏng <script>alert('xin chào')</script>"
    )
    _fill(page, "Ảnh hiện trường đường làng sạt lở, rất nguy hiểm.", photo=jpeg() + b"\0" * 1_000_000)
    expect(page.get_by_test_id("form-error")).to_contain_text("Tệp gửi kèm quá lớn")

    # Sent: a tracking code comes back.
    _fill(
        page,
        "Nhà văn hóa thôn 2 bị dột mái, đề nghị xã kiểm tra sửa chữa.",
        phone="0905 111 222",
        photo=jpeg(),
    )
    expect(page.get_by_role("heading", name="Đã gửi ý kiến tới Xã Ba Tơ")).to_be_visible()
    code = page.get_by_test_id("tracking-code").inner_text()
    assert len(code) == 11

    # A flood: the fourth post within the hour is refused.
    for n in (2, 3):
        _fill(page, f"Ý kiến thứ {n}: đèn đường trước trường học không sáng.")
        expect(page.get_by_test_id("tracking-code")).to_be_visible()
    _fill(page, "Ý kiến thứ 4: đèn đường trước trường học không sáng.")
    expect(page.get_by_test_id("form-error")).to_contain_text("Bạn đã gửi 3 ý kiến trong 1 giờ qua")
    with make_session_factory(live_engine)() as s:
        assert len(s.scalars(select(Feedback.id)).all()) == 3

    # The officer of Ba Tơ answers.
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("vanhanh.bato")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Ý kiến người dân").click()
    page.get_by_role("link", name="Nhà văn hóa thôn 2 bị dột mái").click()
    expect(page.get_by_test_id("item-sender")).to_contain_text("0905111222")
    expect(page.get_by_role("img", name="Ảnh người dân gửi kèm")).to_be_visible()
    page.get_by_label("Trả lời người gửi").fill("Xã đã cử cán bộ kiểm tra, sẽ sửa mái trong tháng này.")
    page.get_by_role("button", name="Gửi trả lời").click()
    expect(page.get_by_role("status")).to_contain_text("Đã gửi trả lời")
    expect(page.get_by_test_id("item-state")).to_have_text("Đã trả lời")

    # The citizen, in another browser, only with the code.
    citizen = browser.new_context(base_url=live_server, locale="vi-VN")
    try:
        other = citizen.new_page()
        problems += _watch_csp(other)
        other.goto("/gop-y/tra-cuu")
        other.get_by_label("Mã tra cứu").fill(code.lower())
        other.get_by_role("button", name="Xem").click()
        expect(other.get_by_test_id("track-state")).to_have_text("Đã có trả lời")
        expect(other.get_by_test_id("track-reply")).to_have_text(
            "Xã đã cử cán bộ kiểm tra, sẽ sửa mái trong tháng này."
        )
        expect(other.get_by_test_id("track-result")).not_to_contain_text("0905")
        other.goto(f"/gop-y/{BA_VI}")
        expect(other.get_by_role("heading", level=1)).to_have_text("Góp ý, phản ánh với Xã Ba Vì")
        expect(other.locator("main")).not_to_contain_text("Nhà văn hóa thôn 2")
    finally:
        citizen.close()
    assert problems == []
