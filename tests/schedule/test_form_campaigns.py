"""The programme form's campaign choices (several times a day, a number of days, a daily cap) and the
edit form reading every shape back from the stored rule. Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loa.errors import InvalidInput
from loa.schedule import formedit
from loa.schedule.forms import preview, programme_from_form, rule_of

NOW = datetime(2024, 2, 20, 3, 0, tzinfo=UTC)
BASE = {
    "name": "Tuyên truyền tiêm chủng",
    "targets": "commune:21484",
    "start_date": "2024-03-04",
    "start_time": "07:00",
    "slot_minutes": "5",
}


def test_three_times_a_day_for_seven_days() -> None:
    fields = {**BASE, "rule_kind": "times_daily", "times": "17:00, 06:00;11:00", "campaign_days": "7"}
    data = programme_from_form(fields)
    assert data.rrule == "FREQ=DAILY;BYHOUR=6,11,17;BYMINUTE=0;UNTIL=20240310T235959"
    assert data.start_local == datetime(2024, 3, 4, 6, 0)  # the first of the times, not the start field
    shown = preview(fields, now=NOW)
    assert shown.description == "Hằng ngày lúc 06:00, 11:00, 17:00, đến hết ngày 10/03/2024"
    assert shown.dates[:4] == (
        "Thứ Hai 04/03/2024 lúc 06:00",
        "Thứ Hai 04/03/2024 lúc 11:00",
        "Thứ Hai 04/03/2024 lúc 17:00",
        "Thứ Ba 05/03/2024 lúc 06:00",
    )


def test_a_daily_cap_is_previewed_and_saved() -> None:
    fields = {**BASE, "rule_kind": "hourly", "every_hours": "2", "max_per_day": "3", "until_cancelled": "1"}
    assert programme_from_form(fields).max_per_day == 3
    shown = preview(fields, now=NOW)
    assert "tối đa 3 lần mỗi ngày (ngày tính từ 07:00)" in shown.description
    assert shown.dates[:4] == (
        "Thứ Hai 04/03/2024 lúc 07:00",
        "Thứ Hai 04/03/2024 lúc 09:00",
        "Thứ Hai 04/03/2024 lúc 11:00",
        "Thứ Ba 05/03/2024 lúc 07:00",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rule_kind": "times_daily", "times": "06:00, 11:30"}, "cùng số phút"),
        ({"rule_kind": "times_daily", "times": "6 giờ"}, "giờ:phút"),
        ({"rule_kind": "daily", "end_date": "2024-03-31", "campaign_days": "7"}, "không chọn cả hai"),
        ({"rule_kind": "daily", "campaign_days": "400"}, "từ 1 đến 366"),
    ],
)
def test_campaign_choices_refused_in_vietnamese(fields: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        programme_from_form({**BASE, **fields})
    assert message in err.value.message


@pytest.mark.parametrize(
    "fields",
    [
        {"rule_kind": "once"},
        {"rule_kind": "daily", "end_date": "2024-12-31"},
        {"rule_kind": "times_daily", "times": "06:30, 11:30, 17:30"},
        {"rule_kind": "weekdays"},
        {"rule_kind": "weekly", "days": "MO,WE,FR"},
        {"rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3", "reading": "nth"},
        {"rule_kind": "monthly_weekday", "weekday": "TH", "nth": "-1", "reading": "week"},
        {
            "rule_kind": "monthly_weekday",
            "weekday": "WE",
            "nth": "2",
            "reading": "week",
            "end_date": "2025-01-31",
        },
        {"rule_kind": "monthly_day", "month_day": "15"},
        {"rule_kind": "hourly", "every_hours": "3"},
    ],
)
def test_every_shape_reads_back_from_its_rule(fields: dict[str, str]) -> None:
    data = programme_from_form({**BASE, "until_cancelled": "1", **fields})
    read = formedit.rule_fields(data.rrule, data.start_local, data.timezone)
    expected = {k: v for k, v in fields.items()}
    if data.rrule is not None:
        expected.setdefault("end_date", "")
    assert read == expected
    assert rule_of({**read}) == (rule_of(fields) if fields["rule_kind"] != "once" else None)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1",
        "FREQ=DAILY;COUNT=10",
        "FREQ=DAILY;UNTIL=20240310T120000",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        "FREQ=DAILY;BYHOUR=6,11;BYMINUTE=0,30",
    ],
)
def test_a_rule_the_form_cannot_show_is_kept(rule: str) -> None:
    assert formedit.rule_fields(rule, datetime(2024, 3, 4, 6, 0), "Asia/Ho_Chi_Minh") == {"rule_kind": "keep"}


@pytest.mark.parametrize(
    ("priority", "code"), [(300, "normal"), (350, "normal"), (500, "priority"), (900, "emergency")]
)
def test_a_stored_priority_reads_back_as_its_choice(priority: int, code: str) -> None:
    assert formedit.priority_code(priority) == code
