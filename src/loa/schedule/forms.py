"""The new-programme form: common shapes of recurrence as choices, turned into a ``ProgrammeInput``."""

from __future__ import annotations

from datetime import date, datetime

from loa.errors import InvalidInput
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput

WEEKDAYS = (
    ("MO", "Thứ Hai"),
    ("TU", "Thứ Ba"),
    ("WE", "Thứ Tư"),
    ("TH", "Thứ Năm"),
    ("FR", "Thứ Sáu"),
    ("SA", "Thứ Bảy"),
    ("SU", "Chủ Nhật"),
)
RULE_KINDS = {
    "once": "Một lần",
    "daily": "Hằng ngày",
    "weekdays": "Thứ Hai đến Thứ Sáu",
    "weekly": "Hằng tuần, vào thứ …",
    "monthly_nth": "Hằng tháng, thứ … của tuần thứ …",
    "hourly": "Mỗi … giờ",
    "custom": "Quy tắc RRULE tự nhập",
}


def _required(values: dict[str, str], name: str, label: str) -> str:
    value = values.get(name, "").strip()
    if not value:
        raise InvalidInput(f"Thiếu {label}.", code="form_missing", details=[{"field": name}])
    return value


def _number(values: dict[str, str], name: str, label: str, default: int | None = None) -> int:
    raw = values.get(name, "").strip()
    if not raw and default is not None:
        return default
    if not raw.isdigit():
        raise InvalidInput(f"{label} phải là số nguyên dương.", code="form_number", details=[{"field": name}])
    return int(raw)


def rule_of(values: dict[str, str]) -> str | None:
    kind = values.get("rule_kind", "daily")
    weekday = values.get("weekday", "MO")
    if weekday not in dict(WEEKDAYS):
        raise InvalidInput("Thứ trong tuần không hợp lệ.", code="form_weekday")
    rules = {
        "once": None,
        "daily": "FREQ=DAILY",
        "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "weekly": f"FREQ=WEEKLY;BYDAY={weekday}",
        "hourly": f"FREQ=HOURLY;INTERVAL={_number(values, 'every_hours', 'Số giờ giữa hai lần phát', 2)}",
    }
    if kind == "monthly_nth":
        nth = values.get("nth", "3")
        if nth not in ("1", "2", "3", "4", "-1"):
            raise InvalidInput("Tuần trong tháng không hợp lệ.", code="form_nth")
        return f"FREQ=MONTHLY;BYDAY={nth}{weekday}"
    if kind == "custom":
        return _required(values, "rrule", "quy tắc RRULE")
    if kind not in rules:
        raise InvalidInput("Kiểu lặp lại không hợp lệ.", code="form_rule_kind")
    return rules[kind]


def programme_from_form(values: dict[str, str]) -> ProgrammeInput:
    try:
        first_day = date.fromisoformat(_required(values, "start_date", "ngày bắt đầu"))
        at = datetime.strptime(_required(values, "start_time", "giờ phát"), "%H:%M").time()
        end_raw = values.get("end_date", "").strip()
        end_day = date.fromisoformat(end_raw) if end_raw else None
    except ValueError as err:
        raise InvalidInput("Ngày hoặc giờ không hợp lệ.", code="form_date") from err
    rule = rule_of(values)
    if rule is not None and end_day is not None:
        if end_day < first_day:
            raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", code="form_date")
        rule += f";UNTIL={end_day:%Y%m%d}T235959"
    return ProgrammeInput(
        name=_required(values, "name", "tên chương trình"),
        start_local=datetime.combine(first_day, at),
        slot_minutes=_number(values, "slot_minutes", "Độ dài khung giờ (phút)"),
        targets=[
            TargetInput(
                values.get("target_kind", "commune"),
                _required(values, "target_code", "mã nơi phát"),
                values.get("target_language", "vi") or "vi",
            )
        ],
        rrule=rule,
        until_cancelled=rule is not None and end_day is None and values.get("until_cancelled") == "1",
        skip_holidays=values.get("skip_holidays") == "1",
        priority=values.get("priority", "normal") or "normal",
        owner_organisation=values.get("owner_organisation", ""),
        description=values.get("description", ""),
    )
