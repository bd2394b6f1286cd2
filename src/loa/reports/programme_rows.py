"""The programmes' rows of a report's radio channel ("CT…"): one per programme of the area, its
airings aired (with a played receipt) beside its plan, the coverage of its clusters and its
composition as aired and as planned; each aired airing is noted for the manual rule
(``loa.reports.airtime.SystemAired``). Rules: ``loa.reports.airtime``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.scope import under
from loa.areas.models import AdminUnit
from loa.content.catalog import BulletinKind
from loa.reports.airdata import ProgrammeRow, mix_ranges
from loa.reports.airtime import (
    PROGRAMME_PREFIX,
    SYSTEM,
    SystemAired,
    aired_basis,
    hours_value,
    row_ref,
)
from loa.reports.data import DetailRow
from loa.reports.facts import MIX_KINDS, Facts, ProgrammeFacts
from loa.schedule.plan import ProgrammePlan
from loa.topics.models import Topic
from loa.vocab.cells import CellValue

MIX_KEYS = tuple(k.value for k in MIX_KINDS)  # a programme's composition, by kind
Pair = tuple[DetailRow, AdminUnit]


def programme_rows_of(
    session: Session,
    facts: Facts,
    programmes: Mapping[int, ProgrammePlan],
    prefixes: Sequence[str],
    topic_id: int | None,
    aired_system: SystemAired,
    areas: Callable[[AdminUnit], Sequence[str]],
    kinds: Mapping[int, BulletinKind],
) -> tuple[list[Pair], list[ProgrammeRow]]:
    """The detail rows and the broadcast rows of the programmes under ``prefixes`` (of the topic)."""
    area_ids = {
        p.area_id for pid, p in programmes.items() if pid in facts.programmes and p.area_id is not None
    }
    units = {
        u.id: u
        for u in session.scalars(
            select(AdminUnit).where(AdminUnit.id.in_(area_ids), under(AdminUnit.path, prefixes))
        )
    }
    topic_names = dict(session.execute(select(Topic.id, Topic.name)).all())
    rows: list[Pair] = []
    out: list[ProgrammeRow] = []
    for pid in sorted(facts.programmes):
        p = programmes.get(pid)
        unit = units.get(p.area_id) if p is not None and p.area_id is not None else None
        if p is None or unit is None or (topic_id is not None and p.topic_id != topic_id):
            continue
        pf = facts.programmes[pid]
        keys = areas(unit)
        for day in pf.played_airings.values():  # airing stamp → day: only airings with a played receipt
            aired_system.add(keys, "programme", day)
        topics = topic_names.get(p.topic_id, "") if p.topic_id is not None else ""
        coverage = pf.airing_coverage()
        rows.append((DetailRow(row_ref(PROGRAMME_PREFIX, pid), _cells(p, pf, unit, topics, coverage)), unit))
        out.append(_programme_row(p, pf, unit, kinds, coverage))
    return rows, out


def _cells(
    p: ProgrammePlan, pf: ProgrammeFacts, unit: AdminUnit, topics: str, coverage: tuple[int, int]
) -> dict[str, CellValue]:
    t = pf.tally
    aired = pf.played_airings
    first_day = min(aired.values(), default=None)
    clusters_played, clusters_aimed = coverage
    upcoming = len(pf.scheduled_airings) - pf.due_airings
    return {
        "record": SYSTEM,
        "kind_label": "Chuyên mục",
        "kind_code": "programme",
        "date": first_day.isoformat() if first_day else None,
        "title": p.name,
        "area_name": unit.name,
        "area_code": unit.code,
        "topics": topics,
        "quantity": len(aired),
        "counted_quantity": len(aired),
        "scheduled_airings": len(pf.scheduled_airings),
        "scheduled": t.scheduled,
        "played": t.played,
        "extra": t.extra,
        "coverage": f"{clusters_played}/{clusters_aimed}" if clusters_aimed else "",
        "not_played": t.not_played,
        "hours": hours_value(t.played_ms),
        "basis": aired_basis(len(aired), t.not_played, len(pf.scheduled_airings)),
        "counted": 1 if aired else 0,
        "notes": (
            f"Lịch phát: {p.schedule_text}; đã phát {len(aired)} trong "
            f"{len(pf.scheduled_airings)} buổi kế hoạch"
            + (f" ({upcoming} buổi chưa đến giờ phát)" if upcoming else "")
        ),
    }


def _programme_row(
    p: ProgrammePlan,
    pf: ProgrammeFacts,
    unit: AdminUnit,
    kinds: Mapping[int, BulletinKind],
    coverage: tuple[int, int],
) -> ProgrammeRow:
    clusters_played, clusters_aimed = coverage
    return ProgrammeRow(
        p.id,
        p.name,
        p.schedule_text,
        unit.name,
        len(pf.scheduled_airings),
        len(pf.played_airings),
        pf.tally.scheduled,
        pf.tally.played,
        mix_ranges(pf.aired_mix(kinds), MIX_KEYS),
        mix_ranges(pf.planned_mix, MIX_KEYS),
        clusters_played,
        clusters_aimed,
        pf.due_airings,
    )
