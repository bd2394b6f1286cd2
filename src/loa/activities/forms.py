"""The register pages as data: one tab per register (label, hint, table columns), the widget of each
field type, how a record's cells are shown, and how form posts and service errors map to fields. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from loa.activities.present import kind_label, span_text
from loa.activities.registers import REGISTERS, AnyRecord, FieldSpec, RegisterSpec
from loa.vocab.dates import vn_date
from loa.vocab.numbers import count_text, decimal_text, number_text

Widget = Literal["text", "textarea", "number", "date", "select", "checkboxes", "area"]


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    hint: str
    columns: tuple[str, ...]  # field names, or "size" / "area" / "topics"


TABS: tuple[Tab, ...] = (
    Tab(
        "visual-items",
        "Tuyên truyền trực quan",
        "Băng rôn, phướn, pa nô, bảng tin: địa điểm, kích thước, số lượng, thời gian treo.",
        ("installed_on", "kind", "place", "size", "quantity", "area", "topics"),
    ),
    Tab(
        "mobile-trips",
        "Xe thông tin lưu động",
        "Mỗi lượt xe: ngày, lộ trình, các thôn, tổ dân phố đã đến, nội dung tuyên truyền.",
        ("trip_on", "quantity", "route", "stops", "duration_minutes", "audience_estimate", "area", "topics"),
    ),
    Tab(
        "press-items",
        "Báo chí, truyền hình",
        "Tin, bài, phóng sự cộng tác với báo, đài phát thanh – truyền hình.",
        ("published_on", "outlet", "kind", "quantity", "title", "area", "topics"),
    ),
    Tab(
        "portal-posts",
        "Cổng thông tin điện tử",
        "Bài viết, tin, ảnh đăng trên cổng hoặc trang thông tin điện tử.",
        ("posted_on", "kind", "count", "title", "area", "topics"),
    ),
    Tab(
        "events",
        "Sự kiện, hội nghị",
        "Hội nghị, hội thảo, hội thi, văn nghệ, mít tinh tổ chức để tuyên truyền.",
        ("held_on", "kind", "title", "place", "participants", "area", "topics"),
    ),
    Tab(
        "radio-items",
        "Truyền thanh (nhập tay)",
        "Tin, bài, chuyên mục đã phát, khi chưa có số liệu tự động từ hệ thống truyền thanh.",
        ("aired_on", "kind", "count", "title", "station", "area", "topics"),
    ),
)
TAB_BY_KEY: dict[str, Tab] = {t.key: t for t in TABS}
COLUMN_LABELS: dict[str, str] = {"size": "Kích thước", "area": "Địa bàn", "topics": "Chủ đề"}
LONG_TEXT = frozenset({"content", "notes", "route"})
HINTS: dict[str, str] = {
    "decimal": "Dùng dấu phẩy cho phần thập phân, ví dụ 1,8",
    "money": "Số tiền (đồng), ví dụ 1.500.000",
    "stops": "Mỗi dòng một thôn, tổ dân phố (tên hoặc mã)",
    "list": "Mỗi dòng một tệp ảnh hoặc đường dẫn",
    "area": "Chọn trong danh sách hoặc gõ mã địa bàn",
    "bulletin": "Nếu bài đã đăng từ Loa, ghi số tin bài để báo cáo không tính trùng",
}
NAMED_HINTS: dict[str, str] = {
    "ends_on": (
        "Chỉ điền khi nhập số liệu tổng hợp (ví dụ cả năm theo sổ ghi chép, không rõ từng ngày): "
        "khi đó ngày ở trên là ngày đầu kỳ và số lượng là tổng số trong kỳ"
    ),
}
ITEM_ONLY_HINT = "Không bắt buộc khi nhập số liệu tổng hợp (có “Đến ngày”)"
SIZE_HINT = "Băng rôn, phướn hoặc số liệu tổng hợp có thể để trống kích thước"

assert set(TAB_BY_KEY) == set(REGISTERS), "every register needs a tab"


def widget(f: FieldSpec) -> Widget:
    if f.type == "text":
        return "textarea" if f.name in LONG_TEXT or f.max_length > 1000 else "text"
    if f.type in ("int", "decimal", "money", "bulletin"):
        return "number"
    if f.type in ("stops", "list"):
        return "textarea"
    mapping: dict[str, Widget] = {"date": "date", "kind": "select", "topics": "checkboxes", "area": "area"}
    return mapping[f.type]


def hint(spec: RegisterSpec, f: FieldSpec) -> str:
    if f.name in spec.item_only:
        return ITEM_ONLY_HINT
    if f.name in ("width_m", "height_m"):
        return f"{HINTS['decimal']}. {SIZE_HINT}"
    return NAMED_HINTS.get(f.name) or HINTS.get(f.type, "")


def column_label(spec: RegisterSpec, name: str) -> str:
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    f = spec.field(name)
    return f.label if f is not None else name


def _number(value: object, f: FieldSpec) -> str:
    if isinstance(value, float) and f.type == "decimal":
        return decimal_text(value)
    if isinstance(value, int):
        text = number_text(value)
        return f"{text} đ" if f.type == "money" else text
    return str(value)


def display_cell(spec: RegisterSpec, record: AnyRecord, name: str, area_name: str = "") -> str:
    """A record's value as a table shows it: dd/mm/yyyy, decimal commas, labels, names."""
    if name == "area":
        return area_name
    if name == "size":
        width, height = getattr(record, "width_m", None), getattr(record, "height_m", None)
        if not width or not height:
            return ""
        sides = int(getattr(record, "sides", 1) or 1)
        size = f"{decimal_text(width)}m × {decimal_text(height)}m"
        return f"{size}, {count_text(sides)} mặt" if sides > 1 else size
    if name == "topics":
        return ", ".join(t.abbreviation or t.name for t in record.topics)
    f = spec.field(name)
    if f is None:
        return ""
    value = getattr(record, name, None)
    ends = getattr(record, spec.ends_field, None) if spec.ends_field and name == spec.date_field else None
    if isinstance(value, date) and isinstance(ends, date):
        return span_text(value, ends)  # a count entry's period stands where an item's day would
    if f.type == "stops":
        return "; ".join(s.name for s in getattr(record, "stops", []))
    if f.type == "kind":
        return kind_label(spec, value)
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return vn_date(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if f.type in ("int", "decimal", "money"):
        return _number(value, f)
    return str(value)


def form_values(spec: RegisterSpec, record: AnyRecord, area_code: str) -> dict[str, Any]:
    """The edit form of a record, filled as a person would type it."""
    values: dict[str, Any] = {}
    for f in spec.fields:
        value = getattr(record, f.name, None)
        if f.type == "area":
            values[f.name] = area_code
        elif f.type == "topics":
            values[f.name] = [t.code for t in record.topics]
        elif f.type == "stops":
            values[f.name] = "\n".join(s.name for s in getattr(record, "stops", []))
        elif f.type == "list":
            values[f.name] = "\n".join(value or [])
        elif f.type == "kind":
            values[f.name] = str(value) if value is not None else ""
        elif isinstance(value, date):
            values[f.name] = value.isoformat()
        elif value is None:
            values[f.name] = ""
        elif f.type == "decimal" and isinstance(value, float):
            values[f.name] = decimal_text(value)
        else:
            values[f.name] = str(value)
    return values


def form_input(spec: RegisterSpec, get: Any, get_list: Any) -> dict[str, Any]:
    """A posted form → the raw mapping the service parses (every field present, so clearing works);
    ``get``/``get_list`` read one value / all values of a form field."""
    raw: dict[str, Any] = {}
    for f in spec.fields:
        if f.type == "topics":
            raw[f.name] = [str(v) for v in get_list(f.name) if str(v).strip()]
        else:
            value = get(f.name)
            raw[f.name] = value.strip() if isinstance(value, str) else ""
    return raw


def errors_by_field(
    spec: RegisterSpec, details: Iterable[Mapping[str, Any]]
) -> tuple[dict[str, list[str]], list[str]]:
    """Service error details (keyed by the Vietnamese column label) → messages per field name, and the
    messages that belong to no single field."""
    by_label = {f.label: f.name for f in spec.fields}
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    for detail in details:
        label, message = str(detail.get("field", "")), str(detail.get("message", ""))
        names = [by_label[part] for part in label.split(" / ") if part in by_label]
        if not names:
            general.append(f"{label}: {message}" if label else message)
        for name in names:
            fields.setdefault(name, []).append(message)
    return fields, general
