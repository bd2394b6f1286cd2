"""What the schedule planned for an area and period, counted per commune, day, bulletin and programme
from the plan (``loa.schedule.plan``): the "Kế hoạch" beside every aired figure, never an aired figure
itself. Definitions: ``loa.reports.airtime``.

Clusters are counted per commune (how many existed at the airing), never one by one, and each
running order is filtered by topic once, not once per airing: a province-year is tens of thousands
of airings on thousands of clusters.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from loa.protocol.itemids import ItemRef, programme_item_from_stamp
from loa.reports.facts import BulletinIndex, DeviceRef, Facts, Mix, local_day, mix_of
from loa.schedule.plan import Airing, Line, Plan, ProgrammePlan


@dataclass(frozen=True)
class Reach:
    """The in-scope clusters one item reaches in one commune: creation times, sorted."""

    commune_id: int
    created: list[datetime]

    def at(self, moment: datetime) -> int:
        """How many existed at ``moment``."""
        created = self.created
        return len(created) if moment >= created[-1] else bisect_right(created, moment)


def _reach(device_ids: Sequence[int], devices: Mapping[int, DeviceRef], scope: set[int]) -> list[Reach]:
    """The in-scope clusters among ``device_ids``, by commune."""
    by_commune: dict[int, list[datetime]] = defaultdict(list)
    for device_id in device_ids:
        device = devices.get(device_id)
        if device is not None and device.commune_id is not None and device.commune_id in scope:
            by_commune[device.commune_id].append(device.created_at)
    return [Reach(c, sorted(v)) for c, v in by_commune.items()]


def count_scheduled(
    facts: Facts,
    plan: Plan,
    *,
    devices: Mapping[int, DeviceRef],
    scope: set[int],
    topic_id: int | None,
    topics: BulletinIndex,
) -> None:
    """Add what ``plan`` planned on the in-scope clusters to ``facts`` (the topics and kinds of the
    plan's bulletins are loaded in ``topics``)."""
    now = facts.now
    for p in plan.programmes.values():
        if p.airings:
            reached = _reach(p.device_ids, devices, scope)
            _count_programme(facts, p, reached, topic_id, topics, now)
    for a in plan.announcements:
        if not topics.matches(a.bulletin_id, topic_id, None):
            continue
        reached = _reach(a.device_ids, devices, scope)
        day = local_day(a.start_at)
        due = a.start_at < now
        total = 0
        for reach in reached:
            k = reach.at(a.start_at)
            tally = facts.commune_days[(reach.commune_id, day)]
            tally.scheduled += k
            if due:
                tally.due += k
            total += k
        facts.planned_announcements.add(a.id)
        if a.bulletin_id is not None:
            _scheduled_bulletin(facts, a.bulletin_id, 1, total, total if due else 0, day)


def _count_programme(
    facts: Facts,
    p: ProgrammePlan,
    reached: list[Reach],
    topic_id: int | None,
    topics: BulletinIndex,
    now: datetime,
) -> None:
    kinds = topics.kinds
    # Per running order (by identity: the plan keeps one tuple per order): its lines of the topic with
    # their composition by kind; its airings, cluster-airings and due cluster-airings; its first day.
    kept: dict[int, tuple[list[Line], Mix]] = {}
    per_order: dict[int, list[int]] = {}
    first: dict[int, date] = {}
    commune_days = facts.commune_days
    clusters = [(r.commune_id, r.created, len(r.created), r.created[-1]) for r in reached]
    pf = facts.programmes[p.id]
    scheduled_airings, planned_mix, reached_at = pf.scheduled_airings, pf.planned_mix, pf.reached
    expected, pid = facts.expected_items, p.id
    own_orders, default_order = p.own_orders, p.running_order
    named = 0 <= pid < 10**12  # as item ids can name it (``loa.protocol.itemids.parse``)
    scheduled = due = 0
    airing: Airing
    for airing in p.airings:
        lines = own_orders.get(airing.local, default_order)  # ProgrammePlan.lines_at, inlined
        order = id(lines)
        if order not in kept:
            line = list(lines)
            if topic_id is not None:
                line = [b for b in line if topics.matches(b, topic_id, p.topic_id)]
            kept[order] = (line, mix_of(line, kinds))
            per_order[order] = [0, 0, 0]
            first[order] = airing.day
        line, mix = kept[order]
        n_lines = len(line)
        total = 0
        at = airing.at
        is_due = at < now
        for commune_id, created, n, newest in clusters:
            k = n if at >= newest else bisect_right(created, at)  # Reach.at, inlined
            if k and n_lines:
                tally = commune_days[(commune_id, airing.day)]
                tally.scheduled += k * n_lines
                if is_due:
                    tally.due += k * n_lines
            total += k
        counts = per_order[order]
        counts[0] += 1
        counts[1] += total
        stamp = airing.stamp
        scheduled_airings[stamp] = airing.day
        if is_due:
            pf.due_airings += 1
            counts[2] += total
            due += total * n_lines
            if total:
                reached_at[stamp] = total
        if total and named:  # the item ids of the lines, as the manifest (``loa.schedule.layout``) names them
            for b in line:
                if b is not None and 0 <= b < 10**16:
                    expected[programme_item_from_stamp(pid, stamp, b)] = ItemRef(pid, stamp, b)
        scheduled += total * n_lines
        planned_mix.append(mix)
    pf.tally.scheduled += scheduled
    pf.tally.due += due
    for order, (n_airings, cluster_airings, due_airings) in per_order.items():
        for bulletin_id in kept[order][0]:
            if bulletin_id is not None:
                _scheduled_bulletin(facts, bulletin_id, n_airings, cluster_airings, due_airings, first[order])


def _scheduled_bulletin(
    facts: Facts, bulletin_id: int, n_airings: int, clusters: int, due: int, day: date
) -> None:
    bf = facts.bulletins[bulletin_id]
    bf.scheduled_airings += n_airings
    bf.tally.scheduled += clusters
    bf.tally.due += due
    bf.first_scheduled = day if bf.first_scheduled is None else min(bf.first_scheduled, day)
