"""Official unit codes across the 2025 reorganisation. A code another system sends may be today's unit,
a former district, or a pre-2025 commune merged since: each maps to today's units through the lineage
``loa.areas`` keeps. What we send names today's units together with the codes they succeeded, so a
system still on the old list can match them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.areas.logic import COMMUNE_KINDS
from loa.areas.service import successors_of_old_commune
from loa.errors import InvalidInput
from loa.units.models import AdminUnit, AreaLineage, UnitKind

MAX_HOPS = 5  # renamed, then merged, then …: a longer chain is a data error, not history


@dataclass(frozen=True)
class Mapped:
    code: str
    name: str | None  # what the code names (None: unknown)
    current: tuple[AdminUnit, ...]  # today's units for it

    @property
    def valid(self) -> bool:
        return len(self.current) == 1 and self.current[0].code == self.code


def _today(session: Session, unit: AdminUnit) -> list[AdminUnit]:
    """The unit itself while in force, else the units in force that succeeded it (following links)."""
    if unit.valid_to is None:
        return [unit]
    found: dict[int, AdminUnit] = {}
    frontier, seen = [unit.id], {unit.id}
    for _ in range(MAX_HOPS):
        following = [
            s
            for s in session.scalars(
                select(AreaLineage.successor_id).where(AreaLineage.predecessor_id.in_(frontier))
            )
            if s not in seen
        ]
        if not following:
            break
        seen.update(following)
        units = list(session.scalars(select(AdminUnit).where(AdminUnit.id.in_(following))))
        found.update({u.id: u for u in units if u.valid_to is None})
        frontier = [u.id for u in units if u.valid_to is not None]
        if not frontier:
            break
    return sorted(found.values(), key=lambda u: u.code)


def map_codes(session: Session, codes: Sequence[str]) -> list[Mapped]:
    """Each code (in the order given, once) with today's units for it."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    units = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(wanted)))}
    out = []
    for code in wanted:
        unit = units.get(code)
        if unit is not None:
            out.append(Mapped(code, unit.name, tuple(_today(session, unit))))
            continue
        successors = successors_of_old_commune(session, code)
        out.append(Mapped(code, "xã/phường cũ (trước 2025)" if successors else None, tuple(successors)))
    return out


def target_communes(session: Session, codes: Sequence[str]) -> list[AdminUnit]:
    """Today's communes a list of sent codes reaches: a province reaches its communes, a former
    district or an old commune the communes that took it over. An unknown code is refused (the sender
    must know what did not arrive)."""
    mapped = map_codes(session, codes)
    unknown = [m.code for m in mapped if not m.current]
    if unknown:
        raise InvalidInput(f"Không có địa bàn mã {', '.join(unknown)}.", code="area_unknown")
    found: dict[str, AdminUnit] = {}
    for m in mapped:
        for unit in m.current:
            if unit.kind in COMMUNE_KINDS:
                found[unit.code] = unit
            elif unit.kind in (UnitKind.PROVINCE, UnitKind.CITY):
                for commune in session.scalars(
                    select(AdminUnit).where(
                        AdminUnit.parent_id == unit.id,
                        AdminUnit.kind.in_(sorted(COMMUNE_KINDS)),
                        AdminUnit.valid_to.is_(None),
                    )
                ):
                    found[commune.code] = commune
    if not found:
        raise InvalidInput("Các mã địa bàn không chỉ tới xã, phường, đặc khu nào.", code="area_no_commune")
    return sorted(found.values(), key=lambda u: u.code)


def former_codes(session: Session, unit_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each unit, the codes of the units it directly succeeded: what an old list calls it."""
    wanted = sorted(set(unit_ids))
    out: dict[int, list[str]] = {}
    if not wanted:
        return out
    rows = session.execute(
        select(AreaLineage.successor_id, AdminUnit.code)
        .join(AdminUnit, AdminUnit.id == AreaLineage.predecessor_id)
        .where(AreaLineage.successor_id.in_(wanted))
        .order_by(AdminUnit.code)
    )
    for successor_id, code in rows:
        out.setdefault(successor_id, []).append(code)
    return out
