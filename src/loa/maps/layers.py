"""What the map shows, as GeoJSON, within a person's areas: loudspeakers (with their coverage radius and
state), villages (with their population and whether a loudspeaker covers them), communes (their centres
from the ``vietnamadminunits`` data set, through ``loa.reports.sketchmap``), visual items standing
today and the mobile trips of the last ``TRIP_DAYS`` days.

Everything here also draws without any map tiles: the points are the map. A trip is a line through the
villages it stopped at when they have points; else a point at its commune's centre, marked approximate.
Labels are Vietnamese; GeoJSON coordinates are ``[longitude, latitude]`` (RFC 7946).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.accounts.scope import in_scope
from loa.activities.kinds import VISUAL_KINDS
from loa.activities.models import MobileTrip, VisualItem
from loa.areas.logic import COMMUNE_KINDS, VILLAGE_KINDS, display_name
from loa.fleet.mapview import valid_coordinates
from loa.fleet.queries import list_devices
from loa.maps.coverage import Coverage, Point, Village, coverage
from loa.reports.sketchmap import find_centroid
from loa.units.models import AdminUnit

TRIP_DAYS = 90
MAX_DEVICES = 100_000
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


def _villages(session: Session, principal: Principal) -> list[AdminUnit]:
    return list(
        session.scalars(
            select(AdminUnit).where(
                AdminUnit.kind.in_(list(VILLAGE_KINDS)),
                AdminUnit.valid_to.is_(None),
                in_scope(principal, AdminUnit.path),
            )
        )
    )


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


def _loudspeakers(session: Session, principal: Principal, radius_m: float) -> list[Feature]:
    out = []
    for row in list_devices(session, principal=principal, limit=MAX_DEVICES):
        d = row.device
        if d.latitude is None or d.longitude is None or not valid_coordinates(d.latitude, d.longitude):
            continue
        props = {
            "kind": "loudspeaker",
            "name": d.name,
            "online": bool(d.online),
            "state": "Trực tuyến" if d.online else "Mất kết nối",
            "place": ", ".join(p for p in (d.village, row.commune_name or "") if p),
            "radius_m": radius_m,
            "href": f"/fleet/devices/{d.uid}",
        }
        out.append(_point(d.latitude, d.longitude, props))
    return out


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


def map_data(session: Session, *, principal: Principal, radius_m: float, today: date) -> MapData:
    """Every layer of the map within the principal's areas, and the coverage figures."""
    communes, centres = _communes(session, principal)
    villages = _villages(session, principal)
    speakers = _loudspeakers(session, principal, radius_m)
    speaker_points = [
        Point(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]) for f in speakers
    ]
    found = coverage(
        speaker_points,
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
    for f in features:
        counts[f["properties"]["kind"]] += 1
    # Frame what the person works with: their loudspeakers and villages if any, else their communes.
    own = [f for f in features if f["properties"]["kind"] != "commune"] or features
    return MapData(tuple(features), found, dict(counts), _bounds(own))
