"""The statistics page: figures by channel for a period and area (bar charts drawn on the server), the
split by today's communes or by former districts, a sketch map of visual items and trips, and the rows
behind every number (each figure links to them; each row links to its record)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from loa.accounts.deps import WebPrincipal
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require, visible_unit
from loa.activities import browse
from loa.activities.registers import AreaRef
from loa.activities.service import area_ref
from loa.areas import picker
from loa.areas.logic import COMMUNE_KINDS
from loa.areas.models import AdminUnit
from loa.errors import InvalidInput, LoaError, NotFound
from loa.reports.airdata import sum_rows
from loa.reports.charts import PALETTE, Bar, bar_chart
from loa.reports.data import ChannelSection
from loa.reports.rollup import LEVEL_LABELS, channel_headlines, find_figure, rollup_rows, totals_row
from loa.reports.sketchmap import Box, MapPoint, find_centroid, province_box, province_centroids, sketch_svg
from loa.reports.statistics import (
    CHANNEL_ORDER,
    Gathered,
    Level,
    broadcast_groups,
    former_areas,
    gather,
    groups_of,
    sections_of,
)
from loa.reports.views import cell_text, helpers, rows_of
from loa.reports.wording import CHANNEL_TITLES, hours_text
from loa.topics.service import get_topic, list_topics
from loa.vocab.numbers import number_text
from loa.vocab.period import Period
from loa.vocab.periodform import PeriodFields, choice_groups, parse_period, year_choices
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=64)]


@dataclass
class StatsQuery:
    """The page's parameters as typed, and what they resolve to."""

    raw: dict[str, str]
    period: Period | None = None
    root: AdminUnit | None = None
    level: Level = "commune"
    errors: list[str] = field(default_factory=list)

    def url(self, path: str, **extra: str) -> str:
        params = {k: v for k, v in {**self.raw, **extra}.items() if v}
        return f"{path}?{urlencode(params)}"


def _resolve(
    session: Session,
    principal: Principal,
    *,
    area: str,
    period: str,
    year: str,
    start: str,
    end: str,
    topic: str,
    level: str,
    channel: str,
) -> StatsQuery:
    if not area:
        unit = browse.default_area(session, principal)
        area = unit.code if unit else ""
    raw = {
        "area": area,
        "period": period or "year",
        "year": year or str(date.today().year),
        "start": start,
        "end": end,
        "topic": topic,
        "level": level if level in LEVEL_LABELS else "commune",
        "channel": channel if channel in CHANNEL_ORDER else CHANNEL_ORDER[0],
    }
    q = StatsQuery(raw, level="former_district" if raw["level"] == "former_district" else "commune")
    try:
        q.period = parse_period(PeriodFields(raw["period"], raw["year"], start, end))
    except LoaError as err:
        q.errors.append(err.message)
    if not area:
        q.errors.append("Chọn địa bàn để xem số liệu.")
    else:
        try:
            q.root = visible_unit(session, principal, code=area)
        except LoaError as err:
            q.errors.append(err.message)
    if topic:
        try:
            get_topic(session, topic)
        except LoaError as err:
            q.errors.append(err.message)
    return q


@dataclass
class MapView:
    svg: Markup | None
    placed: int
    unplaced_visual: int
    unplaced_trips: int
    outside: list[str]


def _trip_points(session: Session, province: str, section: ChannelSection) -> tuple[list[MapPoint], int]:
    codes = {str(r.get("area_code") or "") for r in section.rows}
    units = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(codes)))}
    chain_codes = {c for u in units.values() for c in u.path.strip("/").split("/")}
    chain = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(chain_codes)))}
    points, missing = [], 0
    for row in section.rows:
        unit = units.get(str(row.get("area_code") or ""))
        path = unit.path.strip("/").split("/") if unit else []
        commune = next(
            (chain[c] for c in reversed(path) if c in chain and chain[c].kind in COMMUNE_KINDS), None
        )
        centroid = find_centroid(province, commune.code, commune.name) if commune else None
        if centroid is None:
            missing += 1
            continue
        assert commune is not None  # a centroid was found for it
        # A count entry ("20 lượt xe, cả năm 2023") is one point that says what it stands for.
        when = row.get("summary") or f"Lượt xe ngày {cell_text(row.get('trip_on'), 'date')}"
        label = f"{when}: {row.get('route') or commune.name}"
        points.append(
            MapPoint(
                centroid.latitude,
                centroid.longitude,
                label,
                f"/activities/mobile-trips/{row.id}",
                "trip",
                approximate=True,
            )
        )
    return points, missing


def _degrees(value: float) -> str:
    return number_text(value, 4)


def sketch(session: Session, root: AreaRef, channels: Sequence[ChannelSection]) -> MapView:
    province = root.path.strip("/").split("/")[0]
    visual = next((c for c in channels if c.key == "visual"), None)
    mobile = next((c for c in channels if c.key == "mobile"), None)
    points: list[MapPoint] = []
    unplaced_visual = 0
    for row in visual.rows if visual else ():
        lat, lon = row.get("latitude"), row.get("longitude")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            unplaced_visual += 1
            continue
        label = f"{str(row.get('kind') or '').capitalize()}: {row.get('place') or ''}"
        points.append(MapPoint(float(lat), float(lon), label, f"/activities/visual-items/{row.id}", "visual"))
    trips, unplaced_trips = _trip_points(session, province, mobile) if mobile else ([], 0)
    points += trips
    box = province_box(province) or Box.around([(p.latitude, p.longitude) for p in points])
    if box is None:
        return MapView(None, 0, unplaced_visual, unplaced_trips, [])
    inside = [p for p in points if box.padded().contains(p.latitude, p.longitude)]
    outside = [
        f"{p.label} ({_degrees(p.latitude)}; {_degrees(p.longitude)})" for p in points if p not in inside
    ]
    svg = sketch_svg(inside, box=box, background=province_centroids(province))
    return MapView(svg, len(inside), unplaced_visual, unplaced_trips, outside)


@router.get("/reports/statistics")
def statistics_page(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    area: Text = "",
    area_text: Annotated[str, Query(max_length=200)] = "",
    period: Text = "",
    year: Text = "",
    start: Text = "",
    end: Text = "",
    topic: Text = "",
    level: Text = "",
    channel: Text = "",
) -> Response:
    require(principal, Permission.VIEW)
    typed_error = None
    if not area and area_text.strip():  # typed without choosing (no JavaScript): the name is read
        try:
            kinds = picker.kinds_of(("province", "commune"))
            area = picker.resolve(db, principal, code="", text=area_text, kinds=kinds).code
        except LoaError as err:
            typed_error = err.message
    q = _resolve(
        db,
        principal,
        area=area,
        period=period,
        year=year,
        start=start,
        end=end,
        topic=topic,
        level=level,
        channel=channel,
    )
    if typed_error:
        q.errors.insert(0, typed_error)
    context: dict[str, Any] = {
        "active_nav": "reports",
        "q": q,
        "area_label": picker.chosen_labels(db, [q.raw["area"]]).get(q.raw["area"], ""),
        "period_groups": choice_groups(),
        "years": year_choices(date.today()),
        "topics": list_topics(db),
        "levels": LEVEL_LABELS,
        "channel_titles": CHANNEL_TITLES,
        "channel_order": CHANNEL_ORDER,
        **helpers(),
    }
    if not q.errors and q.root is not None and q.period is not None:
        g = gather(db, principal=principal, period=q.period, area_id=q.root.id, topic_code=topic or None)
        root, channels = area_ref(g.root), sections_of(g)
        groups = groups_of(db, g, q.level)
        broadcasts = broadcast_groups(db, g.system.airtime, q.level)
        rows = rollup_rows(groups)
        chosen = q.raw["channel"]
        charts = {
            c.key: bar_chart(
                [Bar(f.label, f.value, q.url("/reports/statistics/rows", figure=f.key)) for f in c.figures],
                title=f"{c.title}: số liệu {q.period.label}",
                colour=PALETTE[i % len(PALETTE)],
                width=520,
                test_id=f"chart-{c.key}",
            )
            for i, c in enumerate(channels)
        }
        group_chart = bar_chart(
            [
                Bar(
                    r.label,
                    r.value(chosen),
                    q.url("/reports/statistics/rows", figure=f"{chosen}.*", group=r.key),
                )
                for r in rows
            ],
            title=f"{CHANNEL_TITLES[chosen]} {LEVEL_LABELS[q.level].lower()}",
            test_id="chart-groups",
        )
        former = [f for f in former_areas(g) if not f.is_empty]
        context.update(
            root=root,
            channels=channels,
            headlines=channel_headlines(channels),
            former=former,
            former_headlines={f.name: channel_headlines(f.channels) for f in former},
            rows=rows,
            totals=totals_row(rows),
            charts=charts,
            group_chart=group_chart,
            map=sketch(db, root, channels),
            airtime=g.system.airtime,
            broadcasts=broadcasts,
            broadcast_chart=bar_chart(
                [
                    Bar(
                        b.label,
                        round(b.total.hours),
                        q.url("/reports/statistics/broadcasts", group=b.key),
                        f"{b.label}: {hours_text(b.total.played_ms)} giờ phát sóng",
                    )
                    for b in broadcasts
                ],
                title=f"Giờ phát sóng {LEVEL_LABELS[q.level].lower()}",
                colour=PALETTE[1],
                test_id="chart-broadcast-hours",
            ),
        )
    return render(request, "reports/statistics.html", context)


def _resolved_figures(
    db: Session,
    principal: Principal,
    *,
    area: str,
    period: str,
    year: str,
    start: str,
    end: str,
    topic: str,
    level: str,
) -> tuple[StatsQuery, Period, Gathered]:
    """The drill-down pages' query (refused in Vietnamese when incomplete), its period and its figures."""
    q = _resolve(
        db,
        principal,
        area=area,
        period=period,
        year=year,
        start=start,
        end=end,
        topic=topic,
        level=level,
        channel="",
    )
    if q.errors or q.root is None or q.period is None:
        raise InvalidInput(" ".join(q.errors) or "Thiếu tham số.")
    g = gather(db, principal=principal, period=q.period, area_id=q.root.id, topic_code=topic or None)
    return q, q.period, g


@router.get("/reports/statistics/rows")
def statistics_rows(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    figure: Text,
    area: Text = "",
    period: Text = "",
    year: Text = "",
    start: Text = "",
    end: Text = "",
    topic: Text = "",
    level: Text = "",
    group: Text = "",
) -> Response:
    """The records counted in one figure (of the whole area, or of one group of the split)."""
    q, chosen_period, g = _resolved_figures(
        db, principal, area=area, period=period, year=year, start=start, end=end, topic=topic, level=level
    )
    root, channels = area_ref(g.root), sections_of(g)
    section = next((c for c in channels if c.key == figure.split(".", 1)[0]), None)
    figures = section.figures if section else ()
    where = root.name
    if group and section is not None:
        groups = groups_of(db, g, q.level)
        chosen = next((grp for grp in groups if grp.key == group), None)
        if chosen is None:
            raise NotFound("Không có nhóm địa bàn này trong kỳ đã chọn.")
        figures, where = chosen.figures, chosen.label
    found = find_figure(figures, figure) if section is not None else None
    if section is None or found is None:
        raise NotFound("Không có số liệu này.")
    return render(
        request,
        "reports/rows.html",
        {
            "active_nav": "reports",
            "heading": f"{section.title}: {found.label}",
            "context_line": f"{where}, {chosen_period.label}",
            "back_href": q.url("/reports/statistics", level=q.level),
            "back_label": "Về trang thống kê",
            "figure": found,
            "section": section,
            "rows": rows_of(section, found.row_ids),
            **helpers(),
        },
    )


@router.get("/reports/statistics/broadcasts")
def statistics_broadcasts(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    area: Text = "",
    period: Text = "",
    year: Text = "",
    start: Text = "",
    end: Text = "",
    topic: Text = "",
    level: Text = "",
    group: Text = "",
) -> Response:
    """Broadcasts by commune and day behind one group of the split (or the whole area)."""
    q, chosen_period, g = _resolved_figures(
        db, principal, area=area, period=period, year=year, start=start, end=end, topic=topic, level=level
    )
    airtime, where = g.system.airtime, g.root.name
    communes: set[int] | None = None
    if group:
        chosen = next((b for b in broadcast_groups(db, airtime, q.level) if b.key == group), None)
        if chosen is None:
            raise NotFound("Không có nhóm địa bàn này trong kỳ đã chọn.")
        communes, where = set(chosen.commune_ids), chosen.label
    days = [d for d in airtime.days if communes is None or d.commune_id in communes]
    return render(
        request,
        "reports/broadcasts.html",
        {
            "active_nav": "reports",
            "context_line": f"{where}, {chosen_period.label}",
            "back_href": q.url("/reports/statistics", level=q.level),
            "days": days,
            "total": sum_rows(days),
            **helpers(),
        },
    )
