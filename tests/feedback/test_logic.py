"""The pure rules of citizens' feedback: what a citizen may type, phone numbers, tracking codes, the
challenge, and who sees personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loa.accounts.principal import Principal, Role
from loa.errors import InvalidInput
from loa.feedback import logic
from loa.feedback.service import sees_personal_data

SECRET = "test-secret-key-0123456789abcdef"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script> đường hỏng",
        "Đường thôn 3 hỏng <img src=x onerror=alert(1)>",
        "Xem tại javascript:alert(1) giúp tôi",
        "Nội dung &#60;script&#62; mã hóa",
        "<a href='http://x'>bấm vào đây</a> có quà",
        "Đèn đường hỏng </ b>",
    ],
)
def test_markup_or_script_in_the_text_is_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(InvalidInput, match="không được chứa mã HTML"):
        logic.check_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "Đường liên thôn 2 < 3 mét, xe tải không qua được",
        "Nhiệt độ > 40 độ, đề nghị hỗ trợ nước uống",
        "Giá điện tăng 10% so với tháng trước = quá cao",
    ],
)
def test_ordinary_text_with_comparison_signs_is_kept(text: str) -> None:
    assert logic.check_text(text) == text


def test_text_length_and_whitespace() -> None:
    assert logic.check_text("  Đèn   đường\r\nthôn 2   hỏng  ") == "Đèn đường\nthôn 2 hỏng"
    with pytest.raises(InvalidInput, match="ít nhất 10 ký tự"):
        logic.check_text("Hỏng")
    with pytest.raises(InvalidInput, match="tối đa 5000"):
        logic.check_text("a" * 5001)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("0912 345 678", "0912345678"),
        ("+84 912.345.678", "0912345678"),
        ("84912345678", "0912345678"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, expected: str) -> None:
    assert logic.check_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "0912 345 67", "abc", "+1 202 555 0100"])
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="Số điện thoại không hợp lệ"):
        logic.check_phone(raw)


def test_tracking_codes_are_unambiguous_and_read_back_in_any_form() -> None:
    codes = {logic.new_tracking_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 11 and code[5] == "-"
        assert not set(code.replace("-", "")) & set("01ILO")
        assert logic.code_hash(code.lower().replace("-", " ")) == logic.code_hash(code)
    assert logic.mask_phone("0912345678") == "0912 ••• 678"


def test_the_challenge_is_answered_once_fresh_and_never_given_away() -> None:
    challenge = logic.new_challenge(SECRET, NOW)
    words = challenge.question.split(" cộng ")
    a = logic.DIGIT_WORDS.index(words[0].lower())
    b = logic.DIGIT_WORDS.index(words[1].split(" bằng")[0])
    answer = str(a + b)
    assert answer not in challenge.token.split(".")[0] and len(challenge.token.split(".")) == 3
    nonce = logic.solved(SECRET, challenge.token, answer, NOW + timedelta(seconds=20))
    assert nonce == challenge.token.split(".")[0]
    for bad_answer, when in ((str(a + b + 1), NOW), (answer, NOW + timedelta(hours=3)), ("", NOW)):
        with pytest.raises(InvalidInput, match="phép tính"):
            logic.solved(SECRET, challenge.token, bad_answer, when)
    with pytest.raises(InvalidInput):  # made by another instance (another secret)
        logic.solved("another-secret-key-0123456789abcdef", challenge.token, answer, NOW)


def test_only_officers_of_the_commune_see_personal_data() -> None:
    commune = "/51/21484/"

    def who(role: Role, *scopes: str) -> Principal:
        return Principal(1, "x", "X", role, scope_paths=scopes)

    assert sees_personal_data(who(Role.COMMUNE_OPERATOR, commune), commune)
    assert sees_personal_data(who(Role.VIEWER, "/51/21484/21484.001/"), commune)  # a village of it
    assert not sees_personal_data(who(Role.PROVINCE_EDITOR, "/51/"), commune)
    assert not sees_personal_data(who(Role.ADMIN), commune)
    assert not sees_personal_data(who(Role.COMMUNE_OPERATOR, "/51/21490/"), commune)
