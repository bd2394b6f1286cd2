"""Choosing where a programme plays by name: the options of the "Nơi phát" combobox (a province,
commune or village — through ``loa.areas.picker`` — a station, a device group or one loudspeaker), each
valued ``kind:code`` in a hidden field, and the chips of a form shown again. No code is typed or shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.areas.logic import fold
from loa.areas.picker import KIND_GROUPS, Choice, choices, labels
from loa.errors import InvalidInput, LoaError
from loa.fleet.models import Device, DeviceGroup
from loa.schedule.snapshot import TargetKind
from loa.schedule.targets import UNIT_KINDS_OF, TargetInput, resolve_target
from loa.units.models import AdminUnit, Station

MAX_CHOICES = 12
_UNIT_TARGET = {unit: target for target, units in UNIT_KINDS_OF.items() for unit in units}
_AREA_KINDS = KIND_GROUPS["province"] | KIND_GROUPS["commune"] | KIND_GROUPS["village"]


def _paths(session: Session, unit_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in unit_ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(AdminUnit.id, AdminUnit.path).where(AdminUnit.id.in_(wanted))).all())


def _others(session: Session, principal: Principal, query: str) -> list[Choice]:
    """Stations, groups and loudspeakers in the principal's areas whose name holds the query."""
    wanted = fold(query)
    stations = [
        s for s in session.scalars(select(Station).where(Station.active.is_(True))) if wanted in fold(s.name)
    ]
    groups = [g for g in session.scalars(select(DeviceGroup)) if wanted in fold(g.name)]
    devices = list(
        session.scalars(
            select(Device)
            .where(
                Device.active.is_(True),
                or_(func.lower(Device.name).contains(query.strip().lower()), Device.uid == query.strip()),
            )
            .limit(MAX_CHOICES * 4)
        )
    )
    paths = _paths(session, [s.commune_id for s in stations] + [g.commune_id for g in groups])
    paths |= _paths(session, [d.commune_id for d in devices])
    out = [
        Choice(f"station:{s.id}", s.name)
        for s in stations
        if principal.can_access_path(paths.get(s.commune_id, "/"))
    ]
    out += [
        Choice(f"group:{g.id}", _prefixed("Nhóm", g.name))
        for g in groups
        if principal.can_access_path(paths.get(g.commune_id or -1, "/"))
    ]
    out += [
        Choice(f"device:{d.uid}", _prefixed("Cụm loa", d.name))
        for d in devices
        if principal.can_access_path(paths.get(d.commune_id or -1, "/"))
    ]
    return out


def _prefixed(word: str, name: str) -> str:
    """ "Cụm loa chợ", not "Cụm loa Cụm loa chợ"."""
    return name if fold(name).startswith(fold(word)) else f"{word} {name}"


def target_choices(session: Session, principal: Principal, query: str) -> list[Choice]:
    """Places to broadcast to whose name matches ``query``: areas first, then stations, groups, devices."""
    if not fold(query):
        return []
    areas = choices(session, principal, query, _AREA_KINDS, limit=MAX_CHOICES)
    units = dict(
        session.execute(
            select(AdminUnit.code, AdminUnit.kind).where(AdminUnit.code.in_([c.value for c in areas]))
        ).all()
    )
    out = [
        Choice(f"{_UNIT_TARGET[units[c.value]].value}:{c.value}", c.label) for c in areas if c.value in units
    ]
    return (out + _others(session, principal, query))[:MAX_CHOICES]


def chosen(session: Session, tokens: Sequence[str], language: str = "vi") -> list[tuple[str, str]]:
    """(value, label) of the places already chosen (``kind:code``), for the chips of a form shown again;
    a place that no longer exists is left out."""
    out: list[tuple[str, str]] = []
    for token in tokens:
        kind, _, code = token.partition(":")
        try:
            target = resolve_target(session, TargetInput(kind, code, language))
        except LoaError:
            continue
        out.append((token, _label(session, target.kind, target.code, target.label)))
    return out


def _label(session: Session, kind: TargetKind, code: str, fallback: str) -> str:
    if kind in UNIT_KINDS_OF:
        unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code))
        if unit is not None:
            return labels(session, [unit]).get(code, fallback)
    return fallback


def typed(session: Session, principal: Principal, text: str) -> str:
    """The ``kind:code`` of a place typed without choosing (no JavaScript): an unambiguous name only,
    an area before a station named after it ("Ba Tơ" is xã Ba Tơ, not "Đài truyền thanh xã Ba Tơ")."""
    text = " ".join(text.split())
    wanted = fold(text)
    found = target_choices(session, principal, text)

    def named(choice: Choice) -> bool:
        name = fold(choice.label.split(" (")[0])
        return name == wanted or name.endswith(" " + wanted)

    areas = [c for c in found if named(c) and TargetKind(c.value.partition(":")[0]) in UNIT_KINDS_OF]
    for picked in (areas, [c for c in found if named(c)], found):
        if len(picked) == 1:
            return picked[0].value
    if not found:
        raise InvalidInput(f"Không tìm thấy nơi phát nào tên «{text}».", code="target_unknown")
    raise InvalidInput(
        f"«{text}» khớp với nhiều nơi phát: hãy chọn một trong danh sách gợi ý.", code="target_ambiguous"
    )
