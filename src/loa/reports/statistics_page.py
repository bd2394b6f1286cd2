"""The statistics page: figures by channel for a period and area (bar charts drawn on the server), the
split by today's communes or by former districts, a sketch map of visual items and trips, and the rows
behind every number (each figure links to them; each row links to its record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from loa.accounts.deps import WebPrincipal
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require, visible_unit
from loa.activities import browse
from loa.activities.service import area_ref
from loa.areas import picker
from loa.areas.models import AdminUnit
from loa.errors import InvalidInput, LoaError, NotFound
from loa.reports.airdata import sum_rows
from loa.reports.charts import PALETTE, Bar, bar_chart
from loa.reports.rollup import LEVEL_LABELS, channel_headlines, find_figure, rollup_rows, totals_row
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
from loa.reports.statistics_map import sketch
from loa.reports.views import helpers, rows_of
from loa.reports.wording import CHANNEL_TITLES, hours_text
from loa.topics.service import get_topic, list_topics
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
        context.update(_figures_context(db, q, g, q.period))
    return render(request, "reports/statistics.html", context)


def _figures_context(db: Session, q: StatsQuery, g: Gathered, period: Period) -> dict[str, Any]:
    """The figures of the page: per channel, by area, former units apart, broadcasts, the map."""
    root, channels = area_ref(g.root), sections_of(g)
    groups = groups_of(db, g, q.level)
    broadcasts = broadcast_groups(db, g.system.airtime, q.level)
    rows = rollup_rows(groups)
    chosen = q.raw["channel"]
    charts = {
        c.key: bar_chart(
            [Bar(f.label, f.value, q.url("/reports/statistics/rows", figure=f.key)) for f in c.figures],
            title=f"{c.title}: số liệu {period.label}",
            colour=PALETTE[i % len(PALETTE)],
            width=520,
            test_id=f"chart-{c.key}",
        )
        for i, c in enumerate(channels)
    }
    group_chart = bar_chart(
        [
            Bar(
                r.label, r.value(chosen), q.url("/reports/statistics/rows", figure=f"{chosen}.*", group=r.key)
            )
            for r in rows
        ],
        title=f"{CHANNEL_TITLES[chosen]} {LEVEL_LABELS[q.level].lower()}",
        test_id="chart-groups",
    )
    former = [f for f in former_areas(g) if not f.is_empty]
    broadcast_chart = bar_chart(
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
    )
    return {
        "root": root,
        "channels": channels,
        "headlines": channel_headlines(channels),
        "former": former,
        "former_headlines": {f.name: channel_headlines(f.channels) for f in former},
        "rows": rows,
        "totals": totals_row(rows),
        "charts": charts,
        "group_chart": group_chart,
        "map": sketch(db, root, channels),
        "airtime": g.system.airtime,
        "broadcasts": broadcasts,
        "broadcast_chart": broadcast_chart,
    }


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
