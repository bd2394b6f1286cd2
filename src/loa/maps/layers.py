"""What the map shows, as GeoJSON, within a person's areas: loudspeakers (with their coverage radius and
state), villages (with their population and whether a loudspeaker covers them), communes (their centres
from the ``vietnamadminunits`` data set, through ``loa.reports.sketchmap``), visual items standing
today and the mobile trips of the last ``TRIP_DAYS`` days.

Everything here also draws without any map tiles: the points are the map. A trip is a line through the
villages it stopped at when they have points; else a point at its commune's centre, marked approximate.
Labels are Vietnamese; GeoJSON coordinates are ``[longitude, latitude]`` (RFC 7946).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.accounts.scope import in_scope
from loa.activities.kinds import VISUAL_KINDS
from loa.activities.models import MobileTrip, VisualItem
from loa.areas.logic import COMMUNE_KINDS, VILLAGE_KINDS, display_name
from loa.fleet.mapview import valid_coordinates
from loa.fleet.models import Device
from loa.maps.coverage import METRES_PER_DEGREE, Coverage, Point, Village, coverage
from loa.reports.sketchmap import find_centroid
from loa.units.models import AdminUnit
from loa.vocab.numbers import number_text

TRIP_DAYS = 90
MAX_POINTS = 2_000  # loudspeakers drawn one by one; beyond, grouped on a grid
GRID = 40
Feature = dict[str, Any]


@dataclass(frozen=True)
class MapData:
    features: tuple[Feature, ...]
    coverage: Coverage
    counts: dict[str, int]  # features by kind
    bounds: tuple[tuple[float, float], tuple[float, float]] | None  # ((south, west), (north, east))

    def geojson(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": list(self.features)}


def _point(lat: float, lon: float, props: dict[str, Any]) -> Feature:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def _province_of(path: str) -> str:
    return path.strip("/").split("/")[0] if path.strip("/") else ""


def _communes(session: Session, principal: Principal) -> tuple[list[Feature], dict[int, tuple[float, float]]]:
    """Commune centres (where the data set knows them), and those centres by commune id for trips."""
    units = session.scalars(
        select(AdminUnit).where(
            AdminUnit.kind.in_(list(COMMUNE_KINDS)),
            AdminUnit.valid_to.is_(None),
            in_scope(principal, AdminUnit.path),
        )
    )
    features, centres = [], {}
    for unit in units:
        centroid = find_centroid(_province_of(unit.path), unit.code, unit.name)
        if centroid is None:
            continue
        centres[unit.id] = (centroid.latitude, centroid.longitude)
        features.append(
            _point(
                centroid.latitude,
                centroid.longitude,
                {
                    "kind": "commune",
                    "name": display_name(unit.kind, unit.name),
                    "href": f"/areas/{unit.code}",
                },
            )
        )
    return features, centres


def _villages(session: Session, principal: Principal, bbox: BBox | None) -> list[AdminUnit]:
    """The villages of the principal's areas (those with a point inside ``bbox`` when given)."""
    stmt = select(AdminUnit).where(
        AdminUnit.kind.in_(list(VILLAGE_KINDS)),
        AdminUnit.valid_to.is_(None),
        in_scope(principal, AdminUnit.path),
    )
    if bbox is not None:
        west, south, east, north = bbox
        stmt = stmt.where(AdminUnit.longitude.between(west, east), AdminUnit.latitude.between(south, north))
    return list(session.scalars(stmt))


def _village_features(villages: Iterable[AdminUnit], covered: set[str]) -> list[Feature]:
    out = []
    for v in villages:
        if v.latitude is None or v.longitude is None or not valid_coordinates(v.latitude, v.longitude):
            continue
        out.append(
            _point(
                v.latitude,
                v.longitude,
                {
                    "kind": "village",
                    "name": display_name(v.kind, v.name),
                    "population": v.population,
                    "covered": v.code in covered,
                    "href": f"/areas/{v.code}",
                },
            )
        )
    return out


BBox = tuple[float, float, float, float]  # west, south, east, north (RFC 7946 order)


def _located(principal: Principal, bbox: BBox | None) -> list[ColumnElement[bool]]:
    """Active devices with coordinates in the principal's areas (and inside ``bbox``)."""
    out = [
        Device.active.is_(True),
        Device.latitude.is_not(None),
        Device.longitude.is_not(None),
        in_scope(principal, AdminUnit.path),
    ]
    if bbox is not None:
        west, south, east, north = bbox
        out += [Device.longitude.between(west, east), Device.latitude.between(south, north)]
    return out


def _device_rows(session: Session, stmt: Any) -> Any:
    return session.execute(stmt.outerjoin(AdminUnit, AdminUnit.id == Device.commune_id))


def _loudspeakers(
    session: Session, principal: Principal, radius_m: float, bbox: BBox | None, max_points: int
) -> list[Feature]:
    """One point per loudspeaker while at most ``max_points`` lie in view; beyond, groups counted by
    the database on a grid (``GRID`` × ``GRID`` cells over what is in view), never every device."""
    where = _located(principal, bbox)
    n, south, west, north, east = _device_rows(
        session,
        select(
            func.count(), func.min(Device.latitude), func.min(Device.longitude),
            func.max(Device.latitude), func.max(Device.longitude),
        ).select_from(Device).where(*where),
    ).one()  # fmt: skip
    if n > max_points:
        return _loudspeaker_groups(session, where, (west, south, east, north))
    out = []
    rows = _device_rows(
        session, select(Device, AdminUnit.name).select_from(Device).where(*where).limit(max_points)
    )
    for d, commune_name in rows:
        if not valid_coordinates(d.latitude, d.longitude):
            continue
        props = {
            "kind": "loudspeaker",
            "name": d.name,
            "online": bool(d.online),
            "state": "Trực tuyến" if d.online else "Mất kết nối",
            "place": ", ".join(p for p in (d.village, commune_name or "") if p),
            "radius_m": radius_m,
            "href": f"/fleet/devices/{d.uid}",
        }
        out.append(_point(d.latitude, d.longitude, props))
    return out


def _loudspeaker_groups(session: Session, where: list[ColumnElement[bool]], frame: BBox) -> list[Feature]:
    west, south, east, north = frame
    lat_cell = max((north - south) / GRID, 1e-6)
    lon_cell = max((east - west) / GRID, 1e-6)
    row = cast(func.floor((Device.latitude - south) / lat_cell), Integer)
    col = cast(func.floor((Device.longitude - west) / lon_cell), Integer)
    online = func.sum(case((Device.online.is_(True), 1), else_=0))
    stmt = (
        select(func.count(), online, func.avg(Device.latitude), func.avg(Device.longitude))
        .select_from(Device)
        .where(*where)
        .group_by(row, col)
    )
    out = []
    for count, up, lat, lon in _device_rows(session, stmt):
        up = int(up or 0)
        props = {
            "kind": "loudspeaker_group",
            "name": f"{number_text(count)} cụm loa",
            "count": int(count),
            "online": up,
            "state": f"{number_text(up)} trực tuyến, {number_text(int(count) - up)} mất kết nối",
        }
        out.append(_point(float(lat), float(lon), props))
    return out


def _coverage_points(
    session: Session, principal: Principal, villages: Iterable[AdminUnit], radius_m: float
) -> list[Point]:
    """The coordinates of the loudspeakers that may cover one of ``villages``: those inside the frame
    of the villages' points widened by the radius (none read when no village has a point)."""
    lats = [v.latitude for v in villages if v.latitude is not None and v.longitude is not None]
    lons = [v.longitude for v in villages if v.latitude is not None and v.longitude is not None]
    if not lats:
        return []
    margin = radius_m / METRES_PER_DEGREE
    widest = math.cos(math.radians(min(89.0, max(abs(min(lats)), abs(max(lats))) + margin)))
    frame = (min(lons) - margin / widest, min(lats) - margin, max(lons) + margin / widest, max(lats) + margin)
    stmt = select(Device.latitude, Device.longitude).select_from(Device).where(*_located(principal, frame))
    return [Point(lat, lon) for lat, lon in _device_rows(session, stmt) if valid_coordinates(lat, lon)]


def _visual_items(session: Session, principal: Principal, today: date) -> list[Feature]:
    rows = session.scalars(
        select(VisualItem)
        .join(AdminUnit, AdminUnit.id == VisualItem.area_id)
        .where(
            in_scope(principal, AdminUnit.path),
            VisualItem.latitude.is_not(None),
            VisualItem.longitude.is_not(None),
            VisualItem.installed_on <= today,
            or_(VisualItem.removed_on.is_(None), VisualItem.removed_on >= today),
        )
    )
    out = []
    for item in rows:
        assert item.latitude is not None and item.longitude is not None
        if not valid_coordinates(item.latitude, item.longitude):
            continue
        kind = VISUAL_KINDS[item.kind].label if item.kind in VISUAL_KINDS else "Trực quan"
        count = f"{item.quantity} {VISUAL_KINDS[item.kind].unit} · " if item.quantity > 1 else ""
        label = f"{kind}: {count}{item.place}"
        out.append(
            _point(
                item.latitude,
                item.longitude,
                {"kind": "visual", "name": label, "href": f"/activities/visual-items/{item.id}"},
            )
        )
    return out


def _trips(
    session: Session, principal: Principal, today: date, centres: dict[int, tuple[float, float]]
) -> list[Feature]:
    trips = list(
        session.scalars(
            select(MobileTrip)
            .join(AdminUnit, AdminUnit.id == MobileTrip.area_id)
            .where(
                in_scope(principal, AdminUnit.path), MobileTrip.trip_on >= today - timedelta(days=TRIP_DAYS)
            )
            .order_by(MobileTrip.trip_on)
        )
    )
    stop_ids = {s.area_id for t in trips for s in t.stops if s.area_id is not None}
    points: dict[int, tuple[float, float]] = {}
    if stop_ids:
        for uid, lat, lon in session.execute(
            select(AdminUnit.id, AdminUnit.latitude, AdminUnit.longitude).where(AdminUnit.id.in_(stop_ids))
        ):
            if lat is not None and lon is not None:
                points[uid] = (lat, lon)
    commune_of = _communes_of(session, {t.area_id for t in trips})
    out = []
    for trip in trips:
        label = f"Xe thông tin lưu động {trip.trip_on:%d/%m/%Y}" + (f": {trip.route}" if trip.route else "")
        props = {"kind": "trip", "name": label, "href": f"/activities/mobile-trips/{trip.id}"}
        line = [points[s.area_id] for s in trip.stops if s.area_id in points]
        if len(line) >= 2:
            geometry = {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in line]}
            out.append({"type": "Feature", "geometry": geometry, "properties": props})
        elif line:
            out.append(_point(line[0][0], line[0][1], props))
        elif commune_of.get(trip.area_id) in centres:
            lat, lon = centres[commune_of[trip.area_id]]
            out.append(_point(lat, lon, {**props, "approximate": True}))
    return out


def _communes_of(session: Session, area_ids: set[int]) -> dict[int, int]:
    """The commune each area lies in (itself for a commune), by the materialised path."""
    if not area_ids:
        return {}
    units = list(session.scalars(select(AdminUnit).where(AdminUnit.id.in_(area_ids))))
    codes = {c for u in units for c in u.path.strip("/").split("/")}
    by_code = {
        code: (uid, kind)
        for uid, code, kind in session.execute(
            select(AdminUnit.id, AdminUnit.code, AdminUnit.kind).where(AdminUnit.code.in_(codes))
        )
    }
    out: dict[int, int] = {}
    for u in units:
        for code in u.path.strip("/").split("/"):
            uid, kind = by_code.get(code, (None, None))
            if uid is not None and kind in COMMUNE_KINDS:
                out[u.id] = uid
    return out


def _bounds(features: Iterable[Feature]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    lats: list[float] = []
    lons: list[float] = []
    for f in features:
        geometry = f["geometry"]
        coords = [geometry["coordinates"]] if geometry["type"] == "Point" else geometry["coordinates"]
        for lon, lat in coords:
            lats.append(lat)
            lons.append(lon)
    if not lats:
        return None
    return (min(lats), min(lons)), (max(lats), max(lons))


def map_data(
    session: Session,
    *,
    principal: Principal,
    radius_m: float,
    today: date,
    bbox: BBox | None = None,
    max_points: int = MAX_POINTS,
) -> MapData:
    """Every layer of the map within the principal's areas, and the coverage figures; with ``bbox``
    (the view), only its loudspeakers and villages (and their coverage). Loudspeakers are grouped when
    more than ``max_points``."""
    communes, centres = _communes(session, principal)
    villages = _villages(session, principal, bbox)
    speakers = _loudspeakers(session, principal, radius_m, bbox, max_points)
    found = coverage(
        _coverage_points(session, principal, villages, radius_m),
        [
            Village(
                v.code,
                v.name,
                Point(v.latitude, v.longitude)
                if v.latitude is not None and v.longitude is not None
                else None,
                v.population,
            )
            for v in villages
        ],
        radius_m,
    )
    features = [
        *communes,
        *_village_features(villages, set(found.covered)),
        *speakers,
        *_visual_items(session, principal, today),
        *_trips(session, principal, today, centres),
    ]
    counts: dict[str, int] = defaultdict(int)
    for f in features:  # a group of loudspeakers counts as the loudspeakers it holds
        props = f["properties"]
        grouped = props["kind"] == "loudspeaker_group"
        counts["loudspeaker" if grouped else props["kind"]] += props["count"] if grouped else 1
    # Frame what the person works with: their loudspeakers and villages if any, else their communes.
    own = [f for f in features if f["properties"]["kind"] != "commune"] or features
    return MapData(tuple(features), found, dict(counts), _bounds(own))
