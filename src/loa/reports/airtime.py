"""Radio figures from the system's own records, as plain values: what was scheduled, what the
loudspeakers reported playing, and the rules that turn both into the report's counts. Pure: no DB.

Definitions (the XLSX and the statistics page repeat them to the reader):

- A *broadcast* (lượt phát) is one item on one loudspeaker cluster. *Scheduled* broadcasts: for every
  airing of a programme in the period, the lines of its running order (the slot's own, else the
  programme's) times the active clusters its targets reach that existed at the time; one-off
  announcements count once per cluster reached. *Played* broadcasts: play receipts with outcome
  ``played`` (a cluster reports each item once; the unique key drops repeats of the same receipt).
- *Hours on air*: the sum of played receipts' durations, each capped to the length of its audio, so a
  clock jump on a device cannot inflate them.
- A bulletin counts as *aired* when at least one played receipt references it. When no receipt at
  all references it (it aired where no cluster reports: a wired station, a period before Loa),
  being in a scheduled airing of the period stands in. A programme airing (chuyên mục) likewise.
- Manual register entries fill what the system did not record: a manual radio entry counts unless the
  system has aired items of the same kind, in the same commune, in the same month.
- Portal: bulletins published in the period count automatically (tin: news and announcements; bài
  viết: articles, reportages, segments; ảnh: their photos). A manual portal entry that references a
  bulletin counted automatically is listed but not counted again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from loa.content.catalog import BulletinKind
from loa.reports.data import DetailRow, Figure
from loa.vocab.cells import CellValue, Column

SYSTEM, MANUAL = "Hệ thống", "Nhập tay"
BULLETIN_PREFIX, PROGRAMME_PREFIX = "TB", "CT"  # detail row ids of system rows: "TB12", "CT3"


# --- kinds ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FigureKind:
    key: str  # suffix: "news" → figure "radio.news"
    label: str
    unit: str


RADIO_KINDS: tuple[FigureKind, ...] = (
    FigureKind("programme", "Chuyên mục", "chuyên mục"),
    FigureKind("news", "Tin", "tin"),
    FigureKind("article", "Bài viết", "bài viết"),
    FigureKind("reportage", "Phóng sự", "phóng sự"),
    FigureKind("announcement", "Thông báo", "thông báo"),
    FigureKind("segment", "Bản chuyên mục thu sẵn", "bản chuyên mục thu sẵn"),
)
RADIO_KIND_OF_BULLETIN: dict[BulletinKind, str] = {
    BulletinKind.NEWS: "news",
    BulletinKind.ARTICLE: "article",
    BulletinKind.REPORTAGE: "reportage",
    BulletinKind.ANNOUNCEMENT: "announcement",
    BulletinKind.SEGMENT: "segment",
}
PORTAL_KINDS: tuple[FigureKind, ...] = (
    FigureKind("article", "Bài viết", "bài viết"),
    FigureKind("news", "Tin", "tin"),
    FigureKind("photo", "Ảnh", "ảnh"),
)
PORTAL_KIND_OF_BULLETIN: dict[BulletinKind, str] = {
    BulletinKind.NEWS: "news",
    BulletinKind.ANNOUNCEMENT: "news",
    BulletinKind.ARTICLE: "article",
    BulletinKind.REPORTAGE: "article",
    BulletinKind.SEGMENT: "article",
}
BASIS_PLAYED = "Có biên nhận đã phát"
BASIS_SCHEDULED = "Theo lịch phát (không có biên nhận)"
BASIS_NOT_AIRED = "Không tính: có biên nhận nhưng chưa phát trọn"
BASIS_MANUAL = "Sổ nhập tay"
BASIS_SUPERSEDED = "Không tính: tháng này hệ thống đã có số liệu cùng loại ở địa bàn"
BASIS_PUBLISHED = "Đã phát hành trên Loa"
BASIS_DUPLICATE = "Không tính: trùng tin bài {ref} đã tính tự động"


def aired_basis(played: int, not_played: int, scheduled_airings: int) -> str:
    """Why a bulletin or programme counts as aired (or not); see the module docstring."""
    if played > 0:
        return BASIS_PLAYED
    if not_played == 0 and scheduled_airings > 0:
        return BASIS_SCHEDULED
    return BASIS_NOT_AIRED if not_played else ""


# --- tallies ----------------------------------------------------------------------------------------
@dataclass
class Tally:
    """Broadcasts of one commune, day, bulletin or programme (mutable while counting)."""

    scheduled: int = 0
    played: int = 0
    preempted: int = 0
    failed: int = 0
    played_ms: int = 0

    def add(self, other: Tally) -> None:
        self.scheduled += other.scheduled
        self.played += other.played
        self.preempted += other.preempted
        self.failed += other.failed
        self.played_ms += other.played_ms

    @property
    def not_played(self) -> int:
        return self.preempted + self.failed


# --- figures from detail rows ---------------------------------------------------------------------
Contribution = tuple[str, int]  # (figure kind suffix, quantity)


def counted(row: DetailRow) -> bool:
    return bool(row.get("counted"))


def row_contributions(row: DetailRow) -> list[Contribution]:
    """What a counted radio or portal row adds: its kind × quantity, plus photos of a bulletin."""
    if not counted(row):
        return []
    out: list[Contribution] = []
    kind = str(row.get("kind_code") or "")
    quantity = int(row.get("quantity") or 0)
    if kind and quantity:
        out.append((kind, quantity))
    photos = int(row.get("photos") or 0)
    if photos:
        out.append(("photo", photos))
    return out


def figures_from_rows(
    channel: str, kinds: Sequence[FigureKind], rows: Sequence[DetailRow]
) -> tuple[Figure, ...]:
    """One figure per kind (zeros included), with the rows it counts and where its parts came from."""
    values: dict[str, dict[str, int]] = {k.key: {} for k in kinds}
    ids: dict[str, list[int | str]] = {k.key: [] for k in kinds}
    # ``row_contributions`` inlined: this runs for each of a province-year's tens of thousands of rows.
    for row in rows:
        cells = row.cells
        if not cells.get("counted"):
            continue
        source = str(cells.get("record") or MANUAL)
        kind = str(cells.get("kind_code") or "")
        quantity = int(cells.get("quantity") or 0)
        if kind and quantity and kind in values:
            by_source = values[kind]
            by_source[source] = by_source.get(source, 0) + quantity
            ids[kind].append(row.id)
        photos = int(cells.get("photos") or 0)
        if photos and "photo" in values:
            by_source = values["photo"]
            by_source[source] = by_source.get(source, 0) + photos
            ids["photo"].append(row.id)
    return tuple(
        Figure(
            f"{channel}.{k.key}",
            k.label,
            sum(values[k.key].values()),
            k.unit,
            tuple(ids[k.key]),
            source_text(values[k.key]),
        )
        for k in kinds
    )


def source_text(parts: Mapping[str, int]) -> str:
    """'Hệ thống', 'Nhập tay' or 'Hệ thống 100 + nhập tay 30'."""
    present = [(s, v) for s, v in sorted(parts.items()) if v]
    if not present:
        return ""
    if len(present) == 1:
        return present[0][0]
    return " + ".join(
        f"{s if i == 0 else s.lower()} {v:,}".replace(",", ".") for i, (s, v) in enumerate(present)
    )


# --- merging with the manual register -------------------------------------------------------------
Bucket = tuple[str, str, str]  # (commune group key, "YYYY-MM", kind suffix)


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def apply_manual_rule(
    manual: Sequence[DetailRow], system_buckets: set[Bucket], group_of_row: Callable[[DetailRow], str]
) -> list[DetailRow]:
    """Manual radio rows with ``counted`` and ``basis`` set by the rule of the module docstring."""
    out = []
    for row in manual:
        day = row.get("date")
        kind = str(row.get("kind_code") or "")
        bucket = (group_of_row(row), month_of(date.fromisoformat(str(day))) if day else "", kind)
        superseded = bucket in system_buckets
        out.append(
            DetailRow(
                row.id,
                {
                    **row.cells,
                    "counted": 0 if superseded else 1,
                    "basis": BASIS_SUPERSEDED if superseded else BASIS_MANUAL,
                },
            )
        )
    return out


def row_ref(prefix: str, record_id: int) -> str:
    return f"{prefix}{record_id}"


def parse_row_ref(row_id: int | str) -> tuple[str, int] | None:
    """'TB12' → ('TB', 12); an int (a register record) → None."""
    if isinstance(row_id, int):
        return None
    found = re.fullmatch(r"([A-Z]{2})(\d+)", row_id)
    return (found.group(1), int(found.group(2))) if found else None


# --- columns ---------------------------------------------------------------------------------------
RADIO_COLUMNS: tuple[Column, ...] = (
    Column("record", "Nguồn", "text", 11),
    Column("kind_label", "Loại", "text", 14),
    Column("date", "Ngày phát", "date", 12),
    Column("summary", "Số liệu tổng hợp", "text", 26),  # a manual count entry: "130 tin, cả năm 2023"
    Column("title", "Tiêu đề", "text", 40),
    Column("area_name", "Địa bàn", "text", 20),
    Column("topics", "Chủ đề", "text", 20),
    Column("quantity", "Số lượng", "int", 10),
    Column("scheduled_airings", "Số buổi theo lịch", "int", 11),
    Column("scheduled", "Lượt phát theo lịch", "int", 11),
    Column("played", "Lượt đã phát", "int", 11),
    Column("not_played", "Lượt bị ngắt, lỗi", "int", 11),
    Column("hours", "Giờ phát", "decimal", 9),
    Column("basis", "Căn cứ tính", "text", 34),
    Column("station", "Đài", "text", 20),
    Column("notes", "Ghi chú", "text", 30),
)
PORTAL_COLUMNS: tuple[Column, ...] = (
    Column("record", "Nguồn", "text", 11),
    Column("kind_label", "Loại", "text", 12),
    Column("date", "Ngày đăng", "date", 12),
    Column("summary", "Số liệu tổng hợp", "text", 26),
    Column("title", "Tiêu đề", "text", 40),
    Column("quantity", "Số lượng", "int", 10),
    Column("photos", "Ảnh kèm theo", "int", 10),
    Column("area_name", "Địa bàn", "text", 20),
    Column("topics", "Chủ đề", "text", 20),
    Column("link", "Đường dẫn", "link", 30),
    Column("bulletin_ref", "Tin bài trên Loa", "text", 12),
    Column("basis", "Căn cứ tính", "text", 34),
    Column("notes", "Ghi chú", "text", 30),
)


def hours_value(ms: int) -> float:
    return round(ms / 3_600_000, 2)


def cells(**values: CellValue) -> dict[str, CellValue]:
    return dict(values)
