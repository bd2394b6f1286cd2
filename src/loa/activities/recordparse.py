"""A register row → typed values: each cell parsed by its field's type (dates, Vietnamese decimals,
kinds by label or alias, areas within the person's scope, topics, stops), then the checks across
fields on the whole record. Errors are Vietnamese and name the column. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loa.activities.kinds import match_kind
from loa.activities.parsing import ValueProblem, check_range, parse_date, parse_decimal, parse_int, split_list
from loa.activities.registers import ENDS, AreaRef, FieldError, FieldSpec, ParseContext, RegisterSpec
from loa.vocab.dates import vn_date
from loa.vocab.text import fold, has_lone_surrogate


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value).strip()


def parse_value(spec: RegisterSpec, f: FieldSpec, raw: str, ctx: ParseContext) -> Any:
    """One cell → a typed value (``None`` when empty); raises ``ValueProblem``."""
    if has_lone_surrogate(raw):
        raise ValueProblem("Có ký tự không hợp lệ (không phải chữ, số hay dấu)")
    if f.type == "text":
        if len(raw) > f.max_length:
            raise ValueProblem(f"Quá dài ({len(raw)} ký tự, tối đa {f.max_length})")
        return raw
    if f.type == "list":
        return split_list(raw)
    if f.type == "date":
        return parse_date(raw, today=ctx.today)
    if f.type in ("int", "money"):
        number: float = parse_int(raw)
    elif f.type == "decimal":
        number = parse_decimal(raw, unit=f.unit)
    elif f.type == "kind":
        assert spec.kinds is not None
        kind = match_kind(dict(spec.kinds), raw)
        if kind is None:
            allowed = ", ".join(info.label for info in spec.kinds.values())
            raise ValueProblem(f"Loại “{raw}” không hợp lệ; chọn một trong: {allowed}")
        return kind
    elif f.type == "bulletin":
        return _parse_bulletin(raw, ctx)
    elif f.type == "area":
        return _parse_area(raw, ctx)
    elif f.type == "topics":
        return _parse_topics(raw, ctx)
    else:  # stops
        return _parse_stops(raw, ctx)
    check_range(number, minimum=f.minimum, exclusive=f.exclusive, maximum=f.maximum, what=f.label)
    return int(number) if f.type in ("int", "money") else number


def _parse_area(raw: str, ctx: ParseContext) -> AreaRef:
    area = ctx.areas_by_code.get(raw)
    if area is None:
        raise ValueProblem(f"Mã địa bàn không tồn tại: “{raw}”")
    if not ctx.can_access(area.path):
        raise ValueProblem(f"Địa bàn {area.name} ({area.code}) nằm ngoài phạm vi bạn quản lý")
    return area


def _parse_bulletin(raw: str, ctx: ParseContext) -> int:
    number = parse_int(raw.strip().removeprefix("TB").removeprefix("tb").strip())
    if number < 1 or not ctx.bulletin_visible(int(number)):
        raise ValueProblem(f"Không có tin bài số “{raw}” (hoặc tin bài nằm ngoài phạm vi của bạn)")
    return int(number)


def _parse_topics(raw: str, ctx: ParseContext) -> list[int]:
    ids: list[int] = []
    for name in split_list(raw):
        topic_id = ctx.topics.get(fold(name))
        if topic_id is None:
            raise ValueProblem(f"Chủ đề không tồn tại: “{name}”")
        if topic_id not in ids:
            ids.append(topic_id)
    return ids


def _parse_stops(raw: str, ctx: ParseContext) -> list[tuple[int | None, str]]:
    stops: list[tuple[int | None, str]] = []
    for name in split_list(raw):
        area = ctx.areas_by_code.get(name)
        if area is not None and not ctx.can_access(area.path):
            raise ValueProblem(f"Địa bàn {area.name} ({area.code}) nằm ngoài phạm vi bạn quản lý")
        stops.append((area.id, area.name) if area else (None, name[:200]))
    return stops


def parse_record(
    spec: RegisterSpec, raw: Mapping[str, object], ctx: ParseContext, *, partial: bool = False
) -> tuple[dict[str, Any], list[FieldError]]:
    """Field name → raw value (text from CSV, or JSON values) → typed values and every problem found.
    With ``partial`` (an update) only the given fields are parsed and required ones may be absent.
    Fields only a single item needs (``item_only``) are checked on the whole record, since a count
    entry may leave them empty (``record_errors``)."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for f in spec.fields:
        present = f.name in raw
        text = _text(raw.get(f.name))
        if not text:
            if partial and not present:
                continue
            if f.type == "area" and ctx.default_area is not None and not partial:
                values["area"] = ctx.default_area
            elif (f.required and f.name not in spec.item_only) or f.type == "area":
                errors.append(FieldError(f.label, "Bắt buộc, không được để trống"))
            else:
                values[f.name] = _empty(f)
            continue
        try:
            values[f.name] = parse_value(spec, f, text, ctx)
        except ValueProblem as problem:
            errors.append(FieldError(f.label, problem.message, text[:100]))
    if not errors and not partial:
        errors.extend(record_errors(spec, values))
    return values, errors


def record_errors(spec: RegisterSpec, values: Mapping[str, Any]) -> list[FieldError]:
    """Checks across fields, on a whole record (a new one, or an old one merged with its changes)."""
    whole = dict(values)
    errors: list[FieldError] = []
    ends = whole.get(spec.ends_field) if spec.ends_field else None
    start = whole.get(spec.date_field)
    if ends is not None and start is not None and ends < start:
        errors.append(
            FieldError(
                ENDS.label, f"Phải từ ngày {vn_date(start)} trở đi (ngày bắt đầu của kỳ)", vn_date(ends)
            )
        )
    if ends is None:
        for f in spec.fields:
            if f.name in spec.item_only and not whole.get(f.name):
                errors.append(
                    FieldError(
                        f.label, "Bắt buộc, không được để trống (trừ khi nhập số liệu tổng hợp có “Đến ngày”)"
                    )
                )
    errors.extend(e for check in spec.extra_checks if (e := check(whole)) is not None)
    return errors


def _empty(f: FieldSpec) -> Any:
    if f.type in ("list", "topics", "stops"):
        return []
    if f.type == "text":
        return ""
    return f.default
