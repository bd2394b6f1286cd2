"""The registers as data: one ``RegisterSpec`` per table says which fields it has, how people name
them (CSV headers, Vietnamese), how values are parsed and checked, and how a record is shown (CSV,
JSON, report detail rows). CRUD, CSV import/export and statistics are written once against this table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from loa.activities.kinds import (
    EVENT_KINDS,
    PORTAL_KINDS,
    PRESS_KINDS,
    RADIO_KINDS,
    VISUAL_KINDS,
    KindInfo,
    match_kind,
)
from loa.activities.models import ActivityEvent, MobileTrip, PortalPost, PressItem, RadioItem, VisualItem
from loa.activities.parsing import ValueProblem, check_range, parse_date, parse_decimal, parse_int, split_list
from loa.vocab.text import fold

FieldType = Literal[
    "text", "int", "decimal", "date", "kind", "topics", "area", "stops", "list", "money", "bulletin"
]
RegisterModel = type[VisualItem] | type[MobileTrip] | type[PressItem] | type[PortalPost] | type[RadioItem]
AnyRecord = VisualItem | MobileTrip | PressItem | PortalPost | RadioItem | ActivityEvent


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: FieldType = "text"
    required: bool = False
    minimum: float | None = None
    exclusive: bool = False
    maximum: float | None = None
    max_length: int = 500
    unit: str = ""
    aliases: tuple[str, ...] = ()
    width: int = 16
    default: Any = None


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    name: str
    path: str


@dataclass(frozen=True)
class FieldError:
    column: str
    message: str
    value: str = ""


@dataclass
class ParseContext:
    today: date
    areas_by_code: Mapping[str, AreaRef]
    topics: Mapping[str, int]  # folded code / name / abbreviation → topic id
    can_access: Callable[[str], bool]
    default_area: AreaRef | None = None
    # Whether a bulletin id names a bulletin the person may see (a portal entry's link to it).
    bulletin_visible: Callable[[int], bool] = field(default=lambda _id: False)


@dataclass(frozen=True)
class RegisterSpec:
    key: str  # URL segment
    channel: str  # reports channel key
    title: str
    model: Any  # the mapped class (typed as Any: the union of classes is awkward for SQLAlchemy calls)
    date_field: str
    kinds: Mapping[StrEnum, KindInfo] | None
    quantity_field: str | None
    fields: tuple[FieldSpec, ...]
    noun: str = "bản ghi"
    extra_checks: tuple[Callable[[dict[str, Any]], FieldError | None], ...] = field(default=())

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def header_lookup(self) -> dict[str, FieldSpec]:
        """Folded header text → field (name, label and aliases all work)."""
        table: dict[str, FieldSpec] = {}
        for f in self.fields:
            for name in (f.name, f.label, *f.aliases):
                table[fold(name)] = f
        return table


AREA = FieldSpec(
    "area", "Mã địa bàn", "area", aliases=("area_code", "area_id", "ma dia ban", "dia ban"), width=12
)
TOPICS = FieldSpec("topics", "Chủ đề", "topics", aliases=("chu de", "topic"), width=20)
NOTES = FieldSpec("notes", "Ghi chú", max_length=4000, width=30)


def _removed_after_installed(values: dict[str, Any]) -> FieldError | None:
    installed, removed = values.get("installed_on"), values.get("removed_on")
    if installed and removed and removed < installed:
        return FieldError("Ngày tháo dỡ", "Ngày tháo dỡ phải sau ngày lắp đặt")
    return None


def _both_coordinates(values: dict[str, Any]) -> FieldError | None:
    if (values.get("latitude") is None) != (values.get("longitude") is None):
        return FieldError("Vĩ độ / Kinh độ", "Cần nhập cả vĩ độ và kinh độ, hoặc bỏ trống cả hai")
    return None


VISUAL = RegisterSpec(
    key="visual-items",
    channel="visual",
    title="Tuyên truyền trực quan",
    model=VisualItem,
    date_field="installed_on",
    kinds=VISUAL_KINDS,
    quantity_field="quantity",
    noun="sản phẩm trực quan",
    fields=(
        FieldSpec("kind", "Loại", "kind", required=True, aliases=("loai",), width=12),
        FieldSpec(
            "place", "Địa điểm", required=True, max_length=300, aliases=("dia diem", "vi tri"), width=36
        ),
        FieldSpec(
            "width_m", "Rộng (m)", "decimal", True, 0, True, 100, unit="m", aliases=("rong", "chieu rong")
        ),
        FieldSpec(
            "height_m", "Cao (m)", "decimal", True, 0, True, 100, unit="m", aliases=("cao", "chieu cao")
        ),
        FieldSpec(
            "sides", "Số mặt", "int", minimum=1, maximum=2, default=1, aliases=("so mat", "mat"), width=8
        ),
        FieldSpec("quantity", "Số lượng", "int", minimum=1, maximum=10000, default=1, aliases=("so luong",)),
        FieldSpec("installed_on", "Ngày lắp đặt", "date", True, aliases=("ngay lap", "ngay treo", "ngay")),
        FieldSpec("removed_on", "Ngày tháo dỡ", "date", aliases=("ngay thao", "ngay go")),
        FieldSpec("content", "Nội dung", max_length=4000, aliases=("noi dung", "khau hieu"), width=40),
        FieldSpec("latitude", "Vĩ độ", "decimal", minimum=-90, maximum=90, aliases=("vi do", "lat")),
        FieldSpec(
            "longitude", "Kinh độ", "decimal", minimum=-180, maximum=180, aliases=("kinh do", "lon", "lng")
        ),
        FieldSpec(
            "cost_vnd", "Kinh phí (đồng)", "money", minimum=0, aliases=("kinh phi", "chi phi"), width=16
        ),
        FieldSpec("photo_refs", "Ảnh", "list", aliases=("anh", "hinh anh", "photos"), width=30),
        AREA,
        TOPICS,
        NOTES,
    ),
    extra_checks=(_removed_after_installed, _both_coordinates),
)

MOBILE = RegisterSpec(
    key="mobile-trips",
    channel="mobile",
    title="Xe thông tin lưu động",
    model=MobileTrip,
    date_field="trip_on",
    kinds=None,
    quantity_field=None,
    noun="lượt xe",
    fields=(
        FieldSpec("trip_on", "Ngày", "date", True, aliases=("ngay", "ngay di")),
        FieldSpec("route", "Lộ trình", max_length=500, aliases=("lo trinh", "tuyen"), width=36),
        FieldSpec(
            "stops", "Thôn, tổ dân phố", "stops", aliases=("thon", "thon to dan pho", "diem den"), width=36
        ),
        FieldSpec(
            "duration_minutes",
            "Thời lượng (phút)",
            "int",
            minimum=0,
            exclusive=True,
            maximum=24 * 60,
            aliases=("thoi luong", "so phut"),
        ),
        FieldSpec("content", "Nội dung", max_length=4000, aliases=("noi dung",), width=40),
        FieldSpec(
            "audience_estimate",
            "Số người nghe (ước tính)",
            "int",
            minimum=0,
            maximum=10_000_000,
            aliases=("so nguoi nghe", "nguoi nghe", "khan gia"),
        ),
        AREA,
        TOPICS,
        NOTES,
    ),
)

PRESS = RegisterSpec(
    key="press-items",
    channel="press",
    title="Cộng tác báo chí, phát thanh, truyền hình",
    model=PressItem,
    date_field="published_on",
    kinds=PRESS_KINDS,
    quantity_field=None,
    noun="tin, bài",
    fields=(
        FieldSpec(
            "outlet",
            "Cơ quan báo chí",
            required=True,
            max_length=200,
            aliases=("co quan bao chi", "bao"),
            width=28,
        ),
        FieldSpec("kind", "Loại", "kind", required=True, aliases=("loai", "the loai"), width=22),
        FieldSpec("published_on", "Ngày đăng/phát", "date", True, aliases=("ngay dang", "ngay phat", "ngay")),
        FieldSpec("title", "Tiêu đề", required=True, aliases=("tieu de", "ten bai"), width=40),
        FieldSpec("link", "Đường dẫn", max_length=1000, aliases=("duong dan", "link", "url"), width=30),
        AREA,
        TOPICS,
        NOTES,
    ),
)

PORTAL = RegisterSpec(
    key="portal-posts",
    channel="portal",
    title="Cổng thông tin điện tử",
    model=PortalPost,
    date_field="posted_on",
    kinds=PORTAL_KINDS,
    quantity_field="count",
    noun="tin, bài, ảnh",
    fields=(
        FieldSpec("kind", "Loại", "kind", required=True, aliases=("loai",), width=12),
        FieldSpec("count", "Số lượng", "int", minimum=1, maximum=100_000, default=1, aliases=("so luong",)),
        FieldSpec("posted_on", "Ngày đăng", "date", True, aliases=("ngay dang", "ngay")),
        FieldSpec("title", "Tiêu đề", aliases=("tieu de",), width=40),
        FieldSpec("link", "Đường dẫn", max_length=1000, aliases=("duong dan", "link", "url"), width=30),
        FieldSpec(
            "bulletin_id",
            "Mã tin bài trên Loa",
            "bulletin",
            aliases=("ma tin bai", "tin bai tren loa", "bulletin", "bulletin_id"),
            width=12,
        ),
        AREA,
        TOPICS,
        NOTES,
    ),
)

RADIO = RegisterSpec(
    key="radio-items",
    channel="radio",
    title="Truyền thanh (nhập tay)",
    model=RadioItem,
    date_field="aired_on",
    kinds=RADIO_KINDS,
    quantity_field="count",
    noun="tin, bài, chuyên mục",
    fields=(
        FieldSpec("kind", "Loại", "kind", required=True, aliases=("loai",), width=14),
        FieldSpec("count", "Số lượng", "int", minimum=1, maximum=100_000, default=1, aliases=("so luong",)),
        FieldSpec("aired_on", "Ngày phát", "date", True, aliases=("ngay phat", "ngay")),
        FieldSpec("title", "Tiêu đề", aliases=("tieu de",), width=40),
        FieldSpec("station", "Đài", max_length=200, aliases=("dai", "dai truyen thanh"), width=24),
        AREA,
        TOPICS,
        NOTES,
    ),
)

EVENTS = RegisterSpec(
    key="events",
    channel="events",
    title="Hội nghị, sự kiện",
    model=ActivityEvent,
    date_field="held_on",
    kinds=EVENT_KINDS,
    quantity_field=None,
    noun="sự kiện",
    fields=(
        FieldSpec("kind", "Loại", "kind", required=True, aliases=("loai",), width=20),
        FieldSpec("held_on", "Ngày tổ chức", "date", True, aliases=("ngay to chuc", "ngay")),
        FieldSpec("title", "Tên sự kiện", required=True, aliases=("ten su kien", "tieu de", "ten"), width=40),
        FieldSpec("place", "Địa điểm", max_length=300, aliases=("dia diem",), width=30),
        FieldSpec(
            "participants",
            "Số người tham dự",
            "int",
            minimum=0,
            maximum=10_000_000,
            aliases=("so nguoi tham du", "nguoi tham du"),
        ),
        AREA,
        TOPICS,
        NOTES,
    ),
)

REGISTERS: dict[str, RegisterSpec] = {s.key: s for s in (RADIO, PORTAL, PRESS, VISUAL, MOBILE, EVENTS)}


def get_register(key: str) -> RegisterSpec:
    from loa.errors import NotFound

    spec = REGISTERS.get(key)
    if spec is None:
        raise NotFound(f"Không có sổ theo dõi “{key}”.")
    return spec


# --- parsing -------------------------------------------------------------------------------------------
def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value).strip()


def parse_value(spec: RegisterSpec, f: FieldSpec, raw: str, ctx: ParseContext) -> Any:
    """One cell → a typed value (``None`` when empty); raises ``ValueProblem``."""
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
    With ``partial`` (an update) only the given fields are parsed and required ones may be absent."""
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
            elif f.required or f.type == "area":
                errors.append(FieldError(f.label, "Bắt buộc, không được để trống"))
            else:
                values[f.name] = _empty(f)
            continue
        try:
            values[f.name] = parse_value(spec, f, text, ctx)
        except ValueProblem as problem:
            errors.append(FieldError(f.label, problem.message, text[:100]))
    if not errors and not partial:
        errors.extend(e for check in spec.extra_checks if (e := check(values)) is not None)
    return values, errors


def _empty(f: FieldSpec) -> Any:
    if f.type in ("list", "topics", "stops"):
        return []
    if f.type == "text":
        return ""
    return f.default
