"""A report's records split by whose they are (``loa.reports.lineage.Ownership``): the area's own,
and each former unit's, shown apart and never added to the area's figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loa.activities.registers import AnyRecord
from loa.reports.lineage import OWN, FormerUnit, Ownership
from loa.reports.radio import Pair, SystemChannels
from loa.units.models import AdminUnit

Records = dict[str, list[tuple[AnyRecord, AdminUnit]]]  # register key → records with their unit


@dataclass(frozen=True)
class FormerPart:
    """The records of a former unit the report's commune came out of with others (``FormerUnit``):
    shown apart, as that unit's, never added to the commune's figures."""

    unit: FormerUnit
    records: Records
    radio: list[Pair]
    portal: list[Pair]


def split_records(fetched: Records, ownership: Ownership) -> tuple[Records, dict[str, Records]]:
    """The root's own records, and each former unit's by its key."""
    own: Records = {key: [] for key in fetched}
    former: dict[str, Records] = {key: {k: [] for k in fetched} for key in ownership.former}
    for register, pairs in fetched.items():
        for pair in pairs:
            owner = ownership.owner(pair[1])
            if owner == OWN:
                own[register].append(pair)
            elif owner is not None:
                former[owner][register].append(pair)
    return own, former


def with_former(own: Records, former: dict[str, Records], register: str) -> list[Any]:
    """A system channel's manual register, own and former together: the manual rule compares each
    record with the system's records of its own area, whoever's report shows it."""
    return own.pop(register) + [pair for parts in former.values() for pair in parts.pop(register)]


def split_system(
    system: SystemChannels, ownership: Ownership, former: dict[str, Records]
) -> tuple[SystemChannels, tuple[FormerPart, ...]]:
    if not ownership.splits:
        return system, ()
    own_radio: list[Pair] = []
    own_portal: list[Pair] = []
    parts = {key: FormerPart(unit, former[key], [], []) for key, unit in ownership.former.items()}
    for pairs, mine, channel in ((system.radio, own_radio, "radio"), (system.portal, own_portal, "portal")):
        for pair in pairs:
            owner = ownership.owner(pair[1])
            if owner == OWN:
                mine.append(pair)
            elif owner is not None:
                (parts[owner].radio if channel == "radio" else parts[owner].portal).append(pair)
    kept = tuple(p for p in parts.values() if p.radio or p.portal or any(p.records.values()))
    return SystemChannels(own_radio, own_portal, system.airtime), kept
