from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loa.accounts.audit import details_text
from loa.accounts.deps import safe_next_path
from loa.accounts.logic import (
    Backoff,
    backoff_wait_s,
    check_scope_kinds,
    describe_wait,
    parse_role,
    validate_password,
    validate_username,
)
from loa.accounts.principal import Role
from loa.errors import InvalidInput
from loa.units.models import UnitKind

NOW = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Admin", "admin"), ("  nguyen.van-a_1 ", "nguyen.van-a_1"), ("CANBO21484", "canbo21484")],
)
def test_usernames_are_case_folded(raw: str, expected: str) -> None:
    assert validate_username(raw) == expected


@pytest.mark.parametrize("raw", ["a", "nguyễn", "has space", ".dot-first", "x" * 65, ""])
def test_bad_usernames_are_refused_in_vietnamese(raw: str) -> None:
    with pytest.raises(InvalidInput, match="Tên đăng nhập"):
        validate_username(raw)


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("ngan", "ít nhất 12 ký tự"), ("aaaaaaaaaaaa", "quá đơn giản"), ("x" * 300, "dài quá")],
)
def test_weak_passwords_are_refused(password: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        validate_password(password)


def test_a_long_vietnamese_passphrase_is_accepted() -> None:
    validate_password("mat-khau-đủ-dài-123")


def test_unknown_role_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_role("boss")
    assert "commune_operator (Cán bộ vận hành đài xã)" in err.value.message


@pytest.mark.parametrize(
    ("role", "units", "fragment"),
    [
        (Role.COMMUNE_OPERATOR, [], "cần được gắn với ít nhất một địa bàn"),
        (Role.COMMUNE_OPERATOR, [("Tỉnh Quảng Ngãi", UnitKind.PROVINCE)], "chỉ gắn được với xã, phường"),
        (Role.ADMIN, [("Xã Ba Tơ", UnitKind.COMMUNE)], "không gắn với địa bàn"),
        (Role.APPROVER, [("Thôn 1", UnitKind.VILLAGE)], "«Thôn 1» không phù hợp"),
    ],
)
def test_scope_rules_refuse(role: Role, units: list[tuple[str, UnitKind]], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        check_scope_kinds(role, units)


@pytest.mark.parametrize(
    ("role", "units"),
    [
        (Role.ADMIN, []),
        (Role.COMMUNE_OPERATOR, [("Xã Ba Tơ", UnitKind.COMMUNE), ("Đặc khu Lý Sơn", UnitKind.SPECIAL_ZONE)]),
        (Role.PROVINCE_EDITOR, [("Thành phố Hà Nội", UnitKind.CITY)]),
        (Role.VIEWER, [("Thôn 1", UnitKind.VILLAGE)]),
    ],
)
def test_scope_rules_accept(role: Role, units: list[tuple[str, UnitKind]]) -> None:
    check_scope_kinds(role, units)


RULE = Backoff(free=5, base_s=2, max_s=900)


@pytest.mark.parametrize(
    ("failures", "latest_ago_s", "expected"),
    [
        (4, 0, None),  # below the free failures
        (5, 0, 2),  # the first delay
        (6, 0, 4),  # doubles with each failure
        (9, 0, 32),
        (9, 30, 2),  # counted from the latest failure
        (9, 40, None),  # already over
        (20, 0, 900),  # capped
        (10_000, 0, 900),  # no overflow
        (5, -1, 3),  # a clock a second ahead: still a whole number of seconds, rounded up
    ],
)
def test_backoff(failures: int, latest_ago_s: int, expected: int | None) -> None:
    latest = NOW - timedelta(seconds=latest_ago_s)
    assert backoff_wait_s(failures, latest, rule=RULE, now=NOW) == expected


def test_no_failures_no_wait() -> None:
    assert backoff_wait_s(0, None, rule=RULE, now=NOW) is None


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(2, "2 giây"), (90, "90 giây"), (120, "2 phút"), (900, "15 phút"), (125, "2 phút 5 giây")],
)
def test_waits_are_said_in_vietnamese(seconds: int, words: str) -> None:
    assert describe_wait(seconds) == words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/areas?page=2", "/areas?page=2"),
        ("/", "/"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_next_path_must_be_local(raw: str | None, expected: str) -> None:
    assert safe_next_path(raw) == expected


def test_audit_details_read_in_words_without_machine_fields() -> None:
    before = {"name": "Bản tin sáng", "recurrence": "Hằng ngày lúc 06:00", "rrule": "FREQ=DAILY"}
    after = {**before, "recurrence": "Thứ Hai hằng tuần lúc 06:00", "rrule": "FREQ=WEEKLY;BYDAY=MO"}
    text = details_text({"before": before, "after": after, "count": 2})
    assert text == (
        "Trước: (Tên: Bản tin sáng; Lịch phát: Hằng ngày lúc 06:00); "
        "Sau: (Tên: Bản tin sáng; Lịch phát: Thứ Hai hằng tuần lúc 06:00); Số lượng: 2"
    )
    assert "FREQ" not in text
