"""Where an alert goes (issue 15, point 4): the whole province (every commune of the person's areas),
chosen communes, villages, device groups, or a polygon drawn over the loudspeakers on the map.

``resolve`` turns the choice into what ``loa.alerts.service.start_alert`` takes (communes, the chosen
loudspeakers among them, and a record of how they were chosen) and counts what it covers: active
loudspeakers and, where villages carry a population, people. Only the person's areas count: a named
commune, village or group outside them is refused; a polygon simply covers nothing outside them.

A village is matched to a loudspeaker the way the schedule compiler does it (``loa.schedule.memberships``,
a package of the same layer, so the rule is repeated in ``_village_of``): the village typed on the device,
by code or by folded name, among the villages of the device's commune. A point is inside the polygon by
the even-odd rule on latitude and longitude (``inside``), exact enough for a commune-sized area."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.accounts.scope import in_scope
from loa.areas.logic import COMMUNE_KINDS, name_key
from loa.errors import InvalidInput, NotFound, PermissionDenied
from loa.fleet.models import Device, DeviceGroup, DeviceGroupMember
from loa.units.models import AdminUnit, UnitKind

VILLAGE_KINDS = (UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP)
POLYGON_MAX_POINTS = 200
MAX_CHOSEN = 2000


@dataclass(frozen=True)
class Mode:
    code: str
    label: str


MODES: dict[str, Mode] = {
    m.code: m
    for m in (
        Mode("province", "Toàn bộ địa bàn (mọi xã của tôi)"),
        Mode("communes", "Các xã được chọn"),
        Mode("villages", "Các thôn được chọn"),
        Mode("groups", "Các nhóm cụm loa"),
        Mode("polygon", "Vùng vẽ trên bản đồ"),
    )
}

Point = tuple[float, float]  # (latitude, longitude)


@dataclass(frozen=True)
class TargetChoice:
    mode: str = "communes"
    communes: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    groups: tuple[int, ...] = ()
    polygon: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Coverage:
    """What a choice reaches. ``device_uids`` is None when every active loudspeaker of the communes is
    meant (the alert then also reaches one added to them before it is sent)."""

    mode: str
    commune_codes: list[str]
    commune_names: list[str]
    device_uids: list[str] | None
    devices: int
    people: int | None  # population of the villages covered that have one; None: none known
    villages_counted: int  # villages whose population is in ``people``
    target: dict[str, Any] | None = field(default=None)

    @property
    def where(self) -> str:
        """The communes in words, for a confirmation or a list."""
        names = self.commune_names
        return ", ".join(names[:8]) + (f" và {len(names) - 8} xã khác" if len(names) > 8 else "")


def inside(point: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd rule: is ``point`` inside the closed ``polygon`` (latitude, longitude pairs)?"""
    lat, lon = point
    result = False
    count = len(polygon)
    for i in range(count):
        lat_i, lon_i = polygon[i]
        lat_j, lon_j = polygon[i - 1]
        if (lat_i > lat) != (lat_j > lat):
            crossing = lon_i + (lat - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
            if lon < crossing:
                result = not result
    return result


POLYGON_ERROR = "Vùng vẽ trên bản đồ không hợp lệ: cần từ 3 đến {n} đỉnh, mỗi đỉnh là vĩ độ và kinh độ."


def parse_polygon(raw: str | Sequence[Sequence[float]]) -> tuple[Point, ...]:
    """A polygon from the form (JSON ``[[lat, lon], …]``) or the API; refused clearly when malformed."""
    error = InvalidInput(POLYGON_ERROR.format(n=POLYGON_MAX_POINTS), code="polygon_invalid")
    if isinstance(raw, str):
        if not raw.strip():
            return ()
        if len(raw) > 40 * POLYGON_MAX_POINTS:
            raise error
        try:
            raw = json.loads(raw)
        except ValueError:
            raise error from None
    if not isinstance(raw, list | tuple) or not 3 <= len(raw) <= POLYGON_MAX_POINTS:
        raise error
    points: list[Point] = []
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise error
        try:
            lat, lon = float(pair[0]), float(pair[1])
        except (TypeError, ValueError):
            raise error from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise error
        point = (round(lat, 6), round(lon, 6))
        if not points or points[-1] != point:  # a corner clicked twice is one corner
            points.append(point)
    if len(points) > 1 and points[0] == points[-1]:  # a closed ring names its first corner again
        points.pop()
    if len(points) < 3:
        raise error
    # Crossing first: a symmetric bow tie also has a signed area of 0, but its fault is the crossing.
    if _self_intersects(points):
        raise InvalidInput(
            "Vùng vẽ trên bản đồ không hợp lệ: các cạnh cắt nhau. Hãy vẽ lại một vùng khép kín không tự cắt.",
            code="polygon_self_intersecting",
        )
    if abs(_area(points)) < 1e-12:
        raise InvalidInput(
            "Vùng vẽ trên bản đồ không hợp lệ: các đỉnh nằm trên một đường thẳng, vùng có diện tích bằng 0.",
            code="polygon_flat",
        )
    return tuple(points)


def _area(points: Sequence[Point]) -> float:
    """Twice the signed area (shoelace), in degrees squared."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(points, [*points[1:], points[0]], strict=True))


def _side(a: Point, b: Point, c: Point) -> int:
    cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (cross > 0) - (cross < 0)


def _within(a: Point, b: Point, c: Point) -> bool:
    """``c``, on the line through ``a`` and ``b``, lies on the segment."""
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def _meet(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """The segments p1–p2 and q1–q2 cross or touch."""
    d1, d2, d3, d4 = _side(q1, q2, p1), _side(q1, q2, p2), _side(p1, p2, q1), _side(p1, p2, q2)
    if d1 != d2 and d3 != d4 and 0 not in (d1, d2, d3, d4):
        return True
    return (
        (d1 == 0 and _within(q1, q2, p1))
        or (d2 == 0 and _within(q1, q2, p2))
        or (d3 == 0 and _within(p1, p2, q1))
        or (d4 == 0 and _within(p1, p2, q2))
    )


def _self_intersects(points: Sequence[Point]) -> bool:
    """Two edges that do not share a corner cross or touch (at most 200 corners: 20 000 pairs)."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:  # the last edge shares the first corner
                continue
            if _meet(*edges[i], *edges[j]):
                return True
    return False


@dataclass(frozen=True)
class _Speaker:
    uid: str
    commune_id: int
    latitude: float | None
    longitude: float | None
    village: str  # as typed on the device


def _village_of(speaker: _Speaker, villages: Sequence[AdminUnit]) -> str | None:
    """The code of the village a loudspeaker stands in (by code or folded name), if known."""
    typed = speaker.village.strip()
    if not typed:
        return None
    for v in villages:
        if v.parent_id == speaker.commune_id and (v.code == typed or name_key(v.name) == name_key(typed)):
            return v.code
    return None


def _communes_in_scope(session: Session, principal: Principal) -> dict[int, AdminUnit]:
    query = select(AdminUnit).where(
        AdminUnit.kind.in_(sorted(COMMUNE_KINDS)),
        AdminUnit.valid_to.is_(None),
        in_scope(principal, AdminUnit.path),
    )
    return {u.id: u for u in session.scalars(query)}


def _speakers(session: Session, commune_ids: Sequence[int]) -> list[_Speaker]:
    if not commune_ids:
        return []
    rows = session.execute(
        select(Device.uid, Device.commune_id, Device.latitude, Device.longitude, Device.village)
        .where(Device.commune_id.in_(sorted(commune_ids)), Device.active.is_(True))
        .order_by(Device.uid)
    )
    return [
        _Speaker(uid, int(cid), lat, lon, village or "")
        for uid, cid, lat, lon, village in rows
        if cid is not None
    ]


def _villages_of(session: Session, commune_ids: Sequence[int]) -> list[AdminUnit]:
    if not commune_ids:
        return []
    return list(
        session.scalars(
            select(AdminUnit).where(
                AdminUnit.parent_id.in_(sorted(commune_ids)),
                AdminUnit.kind.in_(VILLAGE_KINDS),
                AdminUnit.valid_to.is_(None),
            )
        )
    )


def _people(villages: Sequence[AdminUnit]) -> tuple[int | None, int]:
    known = [v.population for v in villages if v.population is not None]
    return (sum(known) if known else None), len(known)


def chosen_communes(session: Session, principal: Principal, codes: Sequence[str]) -> list[AdminUnit]:
    """The current communes named by ``codes``, all in the principal's areas (else refused, in
    Vietnamese): the one rule for which communes an alert may go to (``loa.alerts.service`` uses it)."""
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if not wanted:
        raise InvalidInput("Chưa chọn xã nào.", code="no_communes")
    units = list(
        session.scalars(
            select(AdminUnit).where(
                AdminUnit.code.in_(wanted),
                AdminUnit.kind.in_(sorted(COMMUNE_KINDS)),
                AdminUnit.valid_to.is_(None),
            )
        )
    )
    missing = set(wanted) - {u.code for u in units}
    if missing:
        raise NotFound(f"Không tìm thấy xã: {', '.join(sorted(missing))}.", code="commune_not_found")
    outside = [u.name for u in units if not principal.can_access_path(u.path)]
    if outside:
        raise PermissionDenied(
            f"Xã {', '.join(outside)} nằm ngoài địa bàn bạn được giao quản lý.", code="commune_out_of_scope"
        )
    return units


def _chosen_villages(session: Session, principal: Principal, codes: Sequence[str]) -> list[AdminUnit]:
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if not wanted:
        raise InvalidInput("Chưa chọn thôn nào.", code="no_villages")
    units = list(
        session.scalars(
            select(AdminUnit).where(
                AdminUnit.code.in_(wanted), AdminUnit.kind.in_(VILLAGE_KINDS), AdminUnit.valid_to.is_(None)
            )
        )
    )
    if set(wanted) - {u.code for u in units}:
        raise NotFound("Không tìm thấy thôn đã chọn.", code="village_not_found")
    outside = [u.name for u in units if not principal.can_access_path(u.path)]
    if outside:
        raise PermissionDenied(
            f"Thôn {', '.join(outside)} nằm ngoài địa bàn bạn được giao quản lý.", code="village_out_of_scope"
        )
    return units


def _chosen_groups(
    session: Session, principal: Principal, ids: Sequence[int], communes: dict[int, AdminUnit]
) -> list[DeviceGroup]:
    wanted = sorted(set(ids))
    if not wanted:
        raise InvalidInput("Chưa chọn nhóm cụm loa nào.", code="no_groups")
    groups = list(session.scalars(select(DeviceGroup).where(DeviceGroup.id.in_(wanted))))
    if set(wanted) - {g.id for g in groups}:
        raise NotFound("Không tìm thấy nhóm cụm loa đã chọn.", code="group_not_found")
    # A group belongs to a commune; one without a commune (province-wide) only to an administrator.
    outside = [g.name for g in groups if not (principal.is_admin or g.commune_id in communes)]
    if outside:
        raise PermissionDenied(
            f"Nhóm {', '.join(outside)} nằm ngoài địa bàn bạn được giao quản lý.", code="group_out_of_scope"
        )
    return groups


def _coverage(
    mode: str,
    communes: dict[int, AdminUnit],
    speakers: Sequence[_Speaker],
    villages: Sequence[AdminUnit],
    *,
    narrowed: bool,
    target: dict[str, Any] | None,
    chosen_communes: Sequence[AdminUnit] | None = None,
) -> Coverage:
    units = (
        list(chosen_communes)
        if chosen_communes is not None
        else [communes[i] for i in sorted({s.commune_id for s in speakers})]
    )
    units.sort(key=lambda u: u.name)
    people, counted = _people(villages)
    return Coverage(
        mode=mode,
        commune_codes=[u.code for u in units],
        commune_names=[u.name for u in units],
        device_uids=sorted(s.uid for s in speakers) if narrowed else None,
        devices=len(speakers),
        people=people,
        villages_counted=counted,
        target=target,
    )


def resolve(session: Session, principal: Principal, choice: TargetChoice) -> Coverage:
    """What ``choice`` reaches within the principal's areas (counts; nothing is sent)."""
    if choice.mode not in MODES:
        raise InvalidInput("Cách chọn nơi nhận cảnh báo không hợp lệ.", code="target_mode_invalid")
    if max(len(choice.communes), len(choice.villages), len(choice.groups)) > MAX_CHOSEN:
        raise InvalidInput("Chọn quá nhiều nơi nhận cho một cảnh báo.", code="target_too_many")
    communes = _communes_in_scope(session, principal)
    if choice.mode == "province":
        speakers = _speakers(session, list(communes))
        reached = sorted({s.commune_id for s in speakers})
        return _coverage(
            "province", communes, speakers, _villages_of(session, reached), narrowed=False,
            target={"mode": "province"},
        )  # fmt: skip
    if choice.mode == "communes":
        units = chosen_communes(session, principal, choice.communes)
        ids = [u.id for u in units]
        return _coverage(
            "communes", communes, _speakers(session, ids), _villages_of(session, ids), narrowed=False,
            target=None, chosen_communes=units,
        )  # fmt: skip
    if choice.mode == "villages":
        villages = _chosen_villages(session, principal, choice.villages)
        codes = {v.code for v in villages}
        parents = sorted({v.parent_id for v in villages if v.parent_id is not None})
        speakers = [s for s in _speakers(session, parents) if _village_of(s, villages) in codes]
        units = [communes[i] for i in parents if i in communes]
        target: dict[str, Any] = {"mode": "villages", "villages": sorted(codes)}
        return _coverage(
            "villages", communes, speakers, villages, narrowed=True, target=target, chosen_communes=units
        )
    if choice.mode == "groups":
        groups = _chosen_groups(session, principal, choice.groups, communes)
        members = set(
            session.scalars(
                select(Device.uid)
                .join(DeviceGroupMember, DeviceGroupMember.device_id == Device.id)
                .where(DeviceGroupMember.group_id.in_([g.id for g in groups]))
            )
        )
        speakers = [s for s in _speakers(session, list(communes)) if s.uid in members]
        around = _villages_of(session, sorted({s.commune_id for s in speakers}))
        village_codes = {_village_of(s, around) for s in speakers}
        villages = [v for v in around if v.code in village_codes]
        target = {"mode": "groups", "groups": sorted(g.id for g in groups)}
        return _coverage("groups", communes, speakers, villages, narrowed=True, target=target)
    polygon = choice.polygon
    if len(polygon) < 3:
        raise InvalidInput(POLYGON_ERROR.format(n=POLYGON_MAX_POINTS), code="polygon_invalid")
    speakers = [
        s
        for s in _speakers(session, list(communes))
        if s.latitude is not None and s.longitude is not None and inside((s.latitude, s.longitude), polygon)
    ]
    villages = [
        v
        for v in _villages_of(session, list(communes))
        if v.latitude is not None and v.longitude is not None and inside((v.latitude, v.longitude), polygon)
    ]
    target = {"mode": "polygon", "polygon": [[lat, lon] for lat, lon in polygon]}
    return _coverage("polygon", communes, speakers, villages, narrowed=True, target=target)


def speaker_points(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The loudspeakers of the person's areas that have a position, for the drawing map."""
    communes = _communes_in_scope(session, principal)
    speakers = [
        s for s in _speakers(session, list(communes)) if s.latitude is not None and s.longitude is not None
    ]
    names = dict(
        session.execute(
            select(Device.uid, Device.name).where(Device.uid.in_([s.uid for s in speakers]))
        ).all()
    )
    return [
        {
            "lat": s.latitude,
            "lon": s.longitude,
            "name": names.get(s.uid, ""),
            "commune": communes[s.commune_id].name,
        }
        for s in speakers
    ]


def village_choices(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """(code, "Thôn X — xã Y") of the villages of the person's areas."""
    communes = _communes_in_scope(session, principal)
    villages = _villages_of(session, list(communes))
    return sorted(
        ((v.code, f"{v.name} — {communes[v.parent_id].name}") for v in villages if v.parent_id in communes),
        key=lambda pair: pair[1],
    )


def group_choices(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """(id, name) of the device groups of the person's areas."""
    communes = _communes_in_scope(session, principal)
    query = select(DeviceGroup).order_by(DeviceGroup.name)
    return [
        (g.id, g.name)
        for g in session.scalars(query)
        if principal.is_admin or (g.commune_id is not None and g.commune_id in communes)
    ]
