"""Radio figures from the system's own records, as plain values: what the loudspeakers reported
playing (the evidence), what the schedule planned (the plan, shown beside it), and the rules that turn
both into the report's counts. Pure: no DB. The full table of figures and rules is docs/reporting.md.

- A *broadcast* (lượt phát) is one item on one loudspeaker cluster. *Played* broadcasts are play
  receipts with outcome ``played``: the cluster played the item to its end (a cluster reports each
  item once; the unique key drops repeats). A receipt ``preempted`` (cut by a higher priority) or
  ``failed`` is shown in its own column and is never an aired broadcast: a news item cut after ten
  seconds was not broadcast. Receipts dated after the report's moment (a device clock running ahead)
  are not evidence: they are left out and their number is reported.
- Every play is credited to what it carried: a scheduled line to its programme airing and bulletin, an
  announcement to its bulletin, a "play now" or an emergency message (item ids ``cmd-…``, ``….rN``) to
  the bulletin whose audio it played (the receipt's audio hash); a line of a programme's fallback
  playlist to its bulletin only (the airing had nothing of its own). Plays the plan did not name are
  *outside the plan* (ngoài kế hoạch): counted as aired, shown apart, never in a share of the plan.
- The *plan* (kế hoạch): for every airing of a programme in the period, the lines of its running order
  (the slot's own, else the programme's) times the active clusters its targets reach that existed at
  the time; one-off announcements once per cluster reached. Airings after the report's moment are
  plan only ("not yet due"); the share played (tỷ lệ thực hiện) divides the played broadcasts of the
  plan by the plan that was due.
- *Hours on air*: the sum of played receipts' durations, each capped to the length of its audio, so a
  clock jump on a device cannot inflate them.
- A bulletin counts as *aired* when at least one played receipt is credited to it. A programme airing
  (chuyên mục) counts as aired when at least one cluster played at least one line of it; its coverage
  is the clusters that played it out of the clusters it aimed at.
- Manual register entries fill what the system did not record, never doubling it: per area, kind and
  period of the entry (its own period when it is a count entry over a period, else the calendar month
  of its date), the larger of the notebook's count and the system's aired count is counted — the system's
  rows, then what the notebook has beyond them. An entry kept for a commune is compared with that
  commune's records; one kept above communes (a former district, a province) with the records of its
  whole territory, the new communes it became included.
- Portal: bulletins published in the period count automatically (tin: news and announcements; bài
  viết: articles, reportages, segments; ảnh: their photos). A manual portal entry that references a
  bulletin counted automatically is listed but not counted again.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from loa.content.catalog import BulletinKind
from loa.reports.data import DetailRow, Figure
from loa.vocab.cells import CellValue, Column
from loa.vocab.numbers import number_text

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
BASIS_NOT_AIRED = "Không tính: chỉ có biên nhận phát dở hoặc lỗi, chưa phát trọn"
BASIS_PLAN_ONLY = "Không tính: chỉ có kế hoạch, chưa có biên nhận đã phát"
BASIS_NOTHING = "Không tính: không có kế hoạch hay biên nhận trong kỳ"
BASIS_MANUAL = "Sổ nhập tay"
BASIS_SUPERSEDED = (
    "Không tính: hệ thống đã ghi nhận {system} {unit} cùng loại ở địa bàn {period}, "
    "không ít hơn sổ nhập tay ({manual})"
)
BASIS_TOPPED_UP = (
    "Tính {counted} (phần sổ nhập tay nhiều hơn hệ thống): sổ ghi {manual}, hệ thống đã ghi nhận "
    "{system} {unit} cùng loại ở địa bàn {period}"
)
BASIS_PUBLISHED = "Đã phát hành trên Loa"
BASIS_DUPLICATE = "Không tính: trùng tin bài {ref} đã tính tự động"


def aired_basis(played: int, not_played: int, scheduled: int) -> str:
    """Why a bulletin or programme counts as aired (``BASIS_PLAYED``) or not; see the module
    docstring. ``played``: played receipts (or airings) credited to it; ``scheduled``: its plan."""
    if played > 0:
        return BASIS_PLAYED
    if not_played:
        return BASIS_NOT_AIRED
    return BASIS_PLAN_ONLY if scheduled else BASIS_NOTHING


# --- tallies ----------------------------------------------------------------------------------------
@dataclass
class Tally:
    """Broadcasts of one commune, day, bulletin or programme (mutable while counting)."""

    scheduled: int = 0  # the plan of the period (kế hoạch), due or not
    due: int = 0  # the plan whose time had come by the report's moment
    played: int = 0  # played receipts: every one, in the plan or outside it
    extra: int = 0  # of them, those of items outside the plan (play now, emergency messages)
    preempted: int = 0
    failed: int = 0
    played_ms: int = 0

    def add(self, other: Tally) -> None:
        self.scheduled += other.scheduled
        self.due += other.due
        self.played += other.played
        self.extra += other.extra
        self.preempted += other.preempted
        self.failed += other.failed
        self.played_ms += other.played_ms

    @property
    def in_plan(self) -> int:
        """Played broadcasts of items the plan named."""
        return self.played - self.extra

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
    share = row.get("counted_quantity")
    quantity = int((row.get("quantity") if share is None else share) or 0)
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
        share = cells.get("counted_quantity")
        quantity = int((cells.get("quantity") if share is None else share) or 0)
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
AreaKind = tuple[str, str]  # (comparison area key, kind suffix)


class SystemAired:
    """The system's aired items by comparison area, kind and day: what a manual entry is compared with.
    An item counts for its own area (its commune group) and for every unit above communes whose
    territory holds it (``in:<unit id>``: a former district, a province), so that an entry a district
    kept for its whole territory is compared with what the system recorded anywhere in it."""

    def __init__(self) -> None:
        self.days: dict[AreaKind, dict[date, int]] = defaultdict(dict)

    def add(self, keys: Sequence[str], kind: str, day: date, n: int = 1) -> None:
        for key in keys:
            by_day = self.days[(key, kind)]
            by_day[day] = by_day.get(day, 0) + n


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def entry_period(row: DetailRow) -> tuple[date, date] | None:
    """The period a manual entry speaks for: its own (``period_start``/``period_end``) when it is a
    count entry over a period, else the calendar month of its date."""
    cells = row.cells
    start, end = cells.get("period_start"), cells.get("period_end")
    if start and end:
        return date.fromisoformat(str(start)), date.fromisoformat(str(end))
    day = cells.get("date")
    return _month_of_iso(str(day)[:7]) if day else None


@lru_cache(maxsize=1024)
def _month_of_iso(month: str) -> tuple[date, date]:
    return month_bounds(date.fromisoformat(f"{month}-01"))


def _running_sums(by_day: Mapping[date, int]) -> tuple[list[date], list[int]]:
    days = sorted(by_day)
    sums = [0]
    for day in days:
        sums.append(sums[-1] + by_day[day])
    return days, sums


@lru_cache(maxsize=1024)
def period_words(period: tuple[date, date]) -> str:
    start, end = period
    if (start, end) == month_bounds(start):
        return f"trong tháng {start.month:02d}/{start.year}"
    return f"từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"


UNIT_OF_KIND: dict[str, str] = {k.key: k.unit for k in RADIO_KINDS}


def apply_manual_rule(
    manual: Sequence[DetailRow], system: SystemAired, area_of_row: Callable[[DetailRow], str]
) -> list[DetailRow]:
    """Manual radio rows with ``counted``, ``counted_quantity`` and ``basis`` set by the rule of the
    module docstring: per comparison area, kind and the entry's period, the larger of the notebook's
    count and the system's aired count. The system's items are matched once: entries of shorter
    periods first, each taking the items of its period not yet matched; an entry adds only what it
    has beyond them."""
    remaining: dict[AreaKind, dict[date, int]] = {}  # items not yet matched (copied when first met)
    days_of: dict[AreaKind, tuple[list[date], list[int]]] = {}  # days with items, sorted; running sums
    order = []
    for i, row in enumerate(manual):
        period = entry_period(row)
        length = (period[1] - period[0]).days if period else 0
        order.append((length, str(row.cells.get("date") or ""), i, period))
    out: list[DetailRow | None] = [None] * len(manual)
    for _, _, i, period in sorted(order, key=lambda o: o[:3]):
        row = manual[i]
        cells = row.cells
        quantity = int(cells.get("quantity") or 0)
        kind = str(cells.get("kind_code") or "")
        key = (area_of_row(row), kind)
        all_days = system.days.get(key)
        found = matched = 0
        if period is not None and all_days:
            by_day = remaining.get(key)
            if by_day is None:
                by_day = remaining[key] = dict(all_days)
                days_of[key] = _running_sums(all_days)
            days, sums = days_of[key]
            low, high = bisect_left(days, period[0]), bisect_right(days, period[1])
            found = sums[high] - sums[low]
            for day in days[low:high]:
                if matched == quantity:
                    break
                take = min(by_day[day], quantity - matched)
                by_day[day] -= take
                matched += take
        share = quantity - matched
        if not found:
            basis = BASIS_MANUAL
        else:
            words = {
                "system": number_text(found),
                "manual": number_text(quantity),
                "unit": UNIT_OF_KIND.get(kind, ""),
                "period": period_words(period) if period else "",
                "counted": number_text(share),
            }
            basis = (BASIS_SUPERSEDED if share == 0 else BASIS_TOPPED_UP).format(**words)
        out[i] = DetailRow(
            row.id, {**cells, "counted": 1 if share else 0, "counted_quantity": share, "basis": basis}
        )
    return [r for r in out if r is not None]


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
    Column("counted_quantity", "Số được tính", "int", 10),
    Column("scheduled_airings", "Số buổi kế hoạch", "int", 11),
    Column("scheduled", "Lượt phát kế hoạch", "int", 11),
    Column("played", "Lượt đã phát", "int", 11),
    Column("extra", "Trong đó ngoài kế hoạch (phát ngay, khẩn cấp)", "int", 14),
    Column("coverage", "Cụm loa đã phát / kế hoạch (cộng các buổi)", "text", 14),
    Column("not_played", "Lượt phát dở, lỗi", "int", 11),
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
