"""The new-programme form without a database: each shape of recurrence becomes its rule, "thứ … của tuần
thứ …" is refused until one of its two readings is chosen, and the preview shows both readings by name with
their next dates, and the chosen rule's Vietnamese description."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loa.errors import InvalidInput
from loa.schedule.forms import preview, programme_from_form, rule_of
from loa.schedule.recurrence import month_week_rule

NOW = datetime(2023, 7, 20, 3, 0, tzinfo=UTC)
BASE = {
    "name": "Chuyên mục Cải cách hành chính",
    "target_kind": "commune",
    "target_code": "21484",
    "start_date": "2023-08-01",
    "start_time": "07:00",
    "slot_minutes": "30",
}


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"rule_kind": "once"}, None),
        ({"rule_kind": "daily"}, "FREQ=DAILY"),
        ({"rule_kind": "weekdays"}, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ({"rule_kind": "weekly", "days": "FR,MO,WE"}, "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        (
            {"rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3", "reading": "nth"},
            "FREQ=MONTHLY;BYDAY=3MO",
        ),
        (
            {"rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3", "reading": "week"},
            "FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=9,10,11,12,13,14,15",
        ),
        (
            {"rule_kind": "monthly_weekday", "weekday": "FR", "nth": "-1", "reading": "nth"},
            "FREQ=MONTHLY;BYDAY=-1FR",
        ),
        ({"rule_kind": "monthly_day", "month_day": "15"}, "FREQ=MONTHLY;BYMONTHDAY=15"),
        ({"rule_kind": "hourly", "every_hours": "3"}, "FREQ=HOURLY;INTERVAL=3"),
    ],
)
def test_each_shape_becomes_its_rule(fields: dict[str, str], rule: str | None) -> None:
    assert rule_of(fields) == rule


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3"}, "form_reading"),
        ({"rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3", "reading": "other"}, "form_reading"),
        ({"rule_kind": "monthly_weekday", "weekday": "XX", "nth": "3", "reading": "nth"}, "form_weekday"),
        ({"rule_kind": "monthly_weekday", "weekday": "MO", "nth": "7", "reading": "nth"}, "form_nth"),
        ({"rule_kind": "weekly", "days": ""}, "form_days"),
        ({"rule_kind": "monthly_day", "month_day": "32"}, "form_month_day"),
        ({"rule_kind": "custom", "rrule": "FREQ=DAILY"}, "form_rule_kind"),  # no rule text is typed on a page
    ],
)
def test_incomplete_or_unknown_choices_are_refused_in_vietnamese(fields: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        rule_of(fields)
    assert err.value.code == code
    assert "FREQ" not in err.value.message


def test_the_ambiguous_phrase_must_be_resolved_before_saving() -> None:
    with pytest.raises(InvalidInput) as err:
        programme_from_form({**BASE, "rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3"})
    assert err.value.message == (
        "«thứ Hai của tuần thứ ba» có hai cách hiểu: hãy chọn một (xem ngày phát của từng cách bên dưới)."
    )
    chosen = programme_from_form(
        {
            **BASE,
            "rule_kind": "monthly_weekday",
            "weekday": "MO",
            "nth": "3",
            "reading": "week",
            "end_date": "2023-12-31",
        }
    )
    assert chosen.rrule == month_week_rule(3, 0) + ";UNTIL=20231231T235959"
    assert chosen.start_local == datetime(2023, 8, 1, 7, 0) and not chosen.until_cancelled


def test_preview_offers_both_readings_with_their_next_dates() -> None:
    fields = {**BASE, "rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3"}
    shown = preview(fields, now=NOW)
    assert shown.ambiguous == "thứ Hai của tuần thứ ba"
    assert shown.description == ""  # nothing is described until a reading is chosen
    nth, week = shown.readings
    assert (nth.code, nth.name, nth.chosen) == ("nth", "thứ Hai thứ ba trong tháng", False)
    assert week.name == "thứ Hai của tuần thứ ba trong tháng (tuần thứ nhất là tuần có ngày 1)"
    assert nth.dates == (
        "Thứ Hai 21/08/2023 lúc 07:00",
        "Thứ Hai 18/09/2023 lúc 07:00",
        "Thứ Hai 16/10/2023 lúc 07:00",
        "Thứ Hai 20/11/2023 lúc 07:00",
        "Thứ Hai 18/12/2023 lúc 07:00",
        "Thứ Hai 15/01/2024 lúc 07:00",  # January 2024 begins on a Monday: both readings give the 15th
    )
    assert week.dates == (
        "Thứ Hai 14/08/2023 lúc 07:00",
        "Thứ Hai 11/09/2023 lúc 07:00",
        "Thứ Hai 09/10/2023 lúc 07:00",
        "Thứ Hai 13/11/2023 lúc 07:00",
        "Thứ Hai 11/12/2023 lúc 07:00",
        "Thứ Hai 15/01/2024 lúc 07:00",
    )

    chosen = preview({**fields, "reading": "week", "end_date": "2023-12-31"}, now=NOW)
    assert [r.chosen for r in chosen.readings] == [False, True]
    assert chosen.description == (
        "Thứ Hai của tuần thứ ba trong tháng (tuần thứ nhất là tuần có ngày 1) lúc 07:00,"
        " đến hết ngày 31/12/2023"
    )
    assert chosen.dates == week.dates[:5]  # the end date stops it before January


def test_preview_starts_from_now_when_the_start_is_past() -> None:
    later = datetime(2023, 10, 10, 3, 0, tzinfo=UTC)
    fields = {**BASE, "rule_kind": "monthly_weekday", "weekday": "MO", "nth": "3", "reading": "nth"}
    assert preview(fields, now=later).dates[0] == "Thứ Hai 16/10/2023 lúc 07:00"


@pytest.mark.parametrize(
    ("fields", "description", "first"),
    [
        ({"rule_kind": "daily"}, "Hằng ngày lúc 07:00", "Thứ Ba 01/08/2023 lúc 07:00"),
        (
            {"rule_kind": "weekly", "days": "MO,WE,FR", "until_cancelled": "1"},
            "Thứ Hai, thứ Tư, thứ Sáu hằng tuần lúc 07:00, phát đến khi hủy",
            "Thứ Tư 02/08/2023 lúc 07:00",
        ),
        (
            {"rule_kind": "monthly_day", "month_day": "31", "end_date": "2023-12-31"},
            "Ngày 31 hằng tháng lúc 07:00, đến hết ngày 31/12/2023,"
            " tháng nào không có ngày này thì không phát",
            "Thứ Năm 31/08/2023 lúc 07:00",
        ),
        ({"rule_kind": "once"}, "Một lần lúc 07:00 ngày 01/08/2023", "Thứ Ba 01/08/2023 lúc 07:00"),
    ],
)
def test_preview_describes_the_chosen_rule(fields: dict[str, str], description: str, first: str) -> None:
    shown = preview({**BASE, **fields}, now=NOW)
    assert (shown.description, shown.dates[0], shown.readings) == (description, first, ())


def test_preview_of_an_incomplete_form_says_what_is_missing() -> None:
    assert preview({"rule_kind": "daily"}, now=NOW).message == (
        "Chọn ngày bắt đầu và giờ phát để xem trước các ngày phát."
    )
    wrong = preview({**BASE, "rule_kind": "daily", "end_date": "2023-01-01"}, now=NOW)
    assert wrong.message == "Ngày kết thúc phải sau ngày bắt đầu." and not wrong.dates
