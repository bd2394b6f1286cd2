"""The statistics page's sketch map: visual items where they stand (their coordinates) and mobile
trips at the centroid of the commune they went to (approximate), on the province's outline; what
could not be placed is counted, and what lies outside the province is listed with its coordinates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.activities.registers import AreaRef
from loa.areas.logic import COMMUNE_KINDS
from loa.areas.models import AdminUnit
from loa.reports.data import ChannelSection
from loa.reports.sketchmap import Box, MapPoint, find_centroid, province_box, province_centroids, sketch_svg
from loa.reports.views import cell_text
from loa.vocab.numbers import number_text


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
