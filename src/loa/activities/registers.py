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
    VisualKind,
)
from loa.activities.models import ActivityEvent, MobileTrip, PortalPost, PressItem, RadioItem, VisualItem
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
    # Count entries ("20 lượt xe, cả năm 2023"): the field that ends their period (None: the register
    # has none), the required fields only a single item needs, and the word after a count when the
    # register has no kinds.
    ends_field: str | None = None
    item_only: frozenset[str] = frozenset()
    unit: str = ""
    # What names a record beside its area, date (or period) and kind, for finding duplicates.
    title_field: str = "title"

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def is_count(self, record: object) -> bool:
        """A count entry: ``quantity`` items over a period, not one dated item."""
        return self.ends_field is not None and getattr(record, self.ends_field, None) is not None

    def required_columns(self) -> list[FieldSpec]:
        """Columns a file must have: the required fields a count entry needs too."""
        return [f for f in self.fields if f.required and f.name not in self.item_only]

    def header_lookup(self) -> dict[str, FieldSpec]:
        """Folded header text → field (name, label and aliases all work)."""
        table: dict[str, FieldSpec] = {}
        for f in self.fields:
            for name in (f.name, f.label, *f.aliases):
                table[fold(name)] = f
        return table


ENDS = FieldSpec(
    "ends_on",
    "Đến ngày",
    "date",
    aliases=("den ngay", "toi ngay", "ngay ket thuc", "ngay cuoi ky", "ends_on"),
)
FROM = ("tu ngay", "ngay bat dau", "ngay dau ky")  # the date field read as a count entry's start
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


# Kinds that may be filed without a size (a banner's size is rarely noted); panels and boards need one
# unless the row is a count entry.
SIZELESS_KINDS: frozenset[StrEnum] = frozenset({VisualKind.BANNER, VisualKind.FLAG})
SIZE_COLUMNS = "Rộng (m) / Cao (m)"


def _size_when_needed(values: dict[str, Any]) -> FieldError | None:
    width, height = values.get("width_m"), values.get("height_m")
    if (width is None) != (height is None):
        return FieldError(SIZE_COLUMNS, "Cần nhập cả chiều rộng và chiều cao, hoặc bỏ trống cả hai")
    kind = values.get("kind")
    if width is None and kind is not None and kind not in SIZELESS_KINDS and values.get("ends_on") is None:
        label = VISUAL_KINDS[kind].label if kind in VISUAL_KINDS else str(kind)
        return FieldError(
            SIZE_COLUMNS,
            f"{label} cần kích thước (rộng, cao); chỉ băng rôn, phướn hoặc số liệu tổng hợp "
            "mới được để trống",
        )
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
            "width_m", "Rộng (m)", "decimal", False, 0, True, 100, unit="m", aliases=("rong", "chieu rong")
        ),
        FieldSpec(
            "height_m", "Cao (m)", "decimal", False, 0, True, 100, unit="m", aliases=("cao", "chieu cao")
        ),
        FieldSpec(
            "sides", "Số mặt", "int", minimum=1, maximum=2, default=1, aliases=("so mat", "mat"), width=8
        ),
        FieldSpec("quantity", "Số lượng", "int", minimum=1, maximum=10000, default=1, aliases=("so luong",)),
        FieldSpec(
            "installed_on", "Ngày lắp đặt", "date", True, aliases=("ngay lap", "ngay treo", "ngay", *FROM)
        ),
        ENDS,
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
    extra_checks=(_removed_after_installed, _both_coordinates, _size_when_needed),
    ends_field="ends_on",
    item_only=frozenset({"place"}),
    title_field="place",
)

MOBILE = RegisterSpec(
    key="mobile-trips",
    channel="mobile",
    title="Xe thông tin lưu động",
    model=MobileTrip,
    date_field="trip_on",
    kinds=None,
    quantity_field="quantity",
    noun="lượt xe",
    fields=(
        FieldSpec("trip_on", "Ngày", "date", True, aliases=("ngay", "ngay di", *FROM)),
        ENDS,
        FieldSpec(
            "quantity",
            "Số lượt",
            "int",
            minimum=1,
            maximum=100_000,
            default=1,
            aliases=("so luong", "so luot", "so chuyen", "luot"),
            width=10,
        ),
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
    ends_field="ends_on",
    unit="lượt xe",
    title_field="route",
)

PRESS = RegisterSpec(
    key="press-items",
    channel="press",
    title="Cộng tác báo chí, phát thanh, truyền hình",
    model=PressItem,
    date_field="published_on",
    kinds=PRESS_KINDS,
    quantity_field="quantity",
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
        FieldSpec(
            "published_on", "Ngày đăng/phát", "date", True, aliases=("ngay dang", "ngay phat", "ngay", *FROM)
        ),
        ENDS,
        FieldSpec(
            "quantity",
            "Số lượng",
            "int",
            minimum=1,
            maximum=100_000,
            default=1,
            aliases=("so luong",),
            width=10,
        ),
        FieldSpec("title", "Tiêu đề", required=True, aliases=("tieu de", "ten bai"), width=40),
        FieldSpec("link", "Đường dẫn", max_length=1000, aliases=("duong dan", "link", "url"), width=30),
        AREA,
        TOPICS,
        NOTES,
    ),
    ends_field="ends_on",
    item_only=frozenset({"outlet", "title"}),
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
        FieldSpec("posted_on", "Ngày đăng", "date", True, aliases=("ngay dang", "ngay", *FROM)),
        ENDS,
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
    ends_field="ends_on",
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
        FieldSpec("aired_on", "Ngày phát", "date", True, aliases=("ngay phat", "ngay", *FROM)),
        ENDS,
        FieldSpec("title", "Tiêu đề", aliases=("tieu de",), width=40),
        FieldSpec("station", "Đài", max_length=200, aliases=("dai", "dai truyen thanh"), width=24),
        AREA,
        TOPICS,
        NOTES,
    ),
    ends_field="ends_on",
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
