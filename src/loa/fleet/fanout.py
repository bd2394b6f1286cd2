"""Which group messages carry a command to a selection of devices (pure; see ``loa.protocol.group``).

* the selection is every active device → one message on ``{prefix}/all/cmd`` without targets;
* every active device of a commune → one message on that commune's topic without targets;
* part of a commune → that commune's topic with the explicit ids (split at ``MAX_TARGETS``);
* devices without a commune → the fleet topic with the explicit ids.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from loa.protocol.group import MAX_TARGETS
from loa.protocol.topics import FLEET_GROUP


class Member(NamedTuple):
    """One addressed device (a tuple: a group command to 10,000 devices makes 10,000 of them)."""

    device_id: int
    uid: str
    commune_code: str | None


@dataclass(frozen=True)
class Fanout:
    group_code: str  # FLEET_GROUP ("") for the whole fleet
    targets: tuple[str, ...] | None  # None: every device subscribed to the group's topic
    members: tuple[Member, ...]


def plan_fanout(
    selected: Sequence[Member],
    *,
    active_total: int,
    active_by_commune: Mapping[str, int],
    max_targets: int = MAX_TARGETS,
) -> list[Fanout]:
    """Group messages for ``selected`` (distinct active devices)."""
    if not selected:
        return []
    if len(selected) >= active_total:
        return [Fanout(FLEET_GROUP, None, tuple(selected))]
    by_commune: dict[str | None, list[Member]] = defaultdict(list)
    for member in selected:
        by_commune[member.commune_code].append(member)
    out: list[Fanout] = []
    for code, members in sorted(by_commune.items(), key=lambda kv: kv[0] or ""):
        group = code if code is not None else FLEET_GROUP
        if code is not None and len(members) >= active_by_commune.get(code, 0):
            out.append(Fanout(group, None, tuple(members)))
            continue
        for start in range(0, len(members), max_targets):
            chunk = tuple(members[start : start + max_targets])
            out.append(Fanout(group, tuple(m.uid for m in chunk), chunk))
    return out
