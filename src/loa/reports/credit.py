"""How each play receipt is credited, worked out once per item id (never once per receipt): to the
programme airing and bulletin a running-order line names, the bulletin an announcement reads, or — for
a "play now" or an emergency message — the bulletin whose audio it played (``loa.reports.receipts``
names those by audio first); and whether the plan named it, which decides whether its plays count
towards the plan or outside it. Then the summed rows are added to the facts. Pure: no database.
Definitions: ``loa.reports.airtime``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from loa.protocol.itemids import ItemRef
from loa.reports.facts import BulletinFacts, BulletinIndex, Facts, ProgrammeFacts
from loa.schedule.plan import ProgrammePlan

# What one item id adds to, resolved once per item (not once per row): the bulletin's facts, the
# programme's facts, the airing stamp, whether the plan named it.
Item = tuple[BulletinFacts | None, ProgrammeFacts | None, str, bool]
# An item resolved: its bulletin, programme, airing stamp and whether the plan named it; None when
# it is not of the topic.
Resolved = tuple[int | None, int | None, str, bool] | None


def resolve(
    ref: ItemRef,
    of_announcement: dict[int, int | None],
    *,
    facts: Facts,
    topics: BulletinIndex,
    programmes: Mapping[int, ProgrammePlan],
    topic_id: int | None,
) -> Resolved:
    bulletin_id = ref.bulletin_id
    if bulletin_id is None and ref.announcement_id is not None:
        bulletin_id = of_announcement.get(ref.announcement_id)
    programme = programmes.get(ref.programme_id) if ref.programme_id is not None else None
    if ref.programme_id is not None and bulletin_id is not None and bulletin_id not in topics.kinds:
        bulletin_id = None  # a recording line whose id happens to be digits, or a deleted bulletin
    fallback = programme.topic_id if programme is not None else None
    if topic_id is not None and not topics.matches(bulletin_id, topic_id, fallback):
        return None
    if ref.fallback:
        # A line of the programme's fallback playlist: the airing had nothing of its own, so it is no
        # airing of the programme; the bulletin did play, outside the plan.
        return bulletin_id, None, "", False
    programme_facts = facts.programmes.get(ref.programme_id) if ref.programme_id is not None else None
    planned = ref.round == 1 and (
        (programme_facts is not None and ref.airing in programme_facts.scheduled_airings)
        or (ref.announcement_id is not None and ref.announcement_id in facts.planned_announcements)
    )
    return bulletin_id, ref.programme_id, ref.airing, planned


def expected_items(
    facts: Facts, *, topics: BulletinIndex, programmes: Mapping[int, ProgrammePlan], topic_id: int | None
) -> dict[str, Resolved]:
    """The running-order lines the schedule aired (``Facts.expected_items``) resolved as receipts
    naming them will be: worked out while the database sums the receipts, so that only the item
    ids the schedule did not foresee are parsed and resolved after. The kinds and topics of every
    running order's bulletins are loaded by then, as ``resolve`` needs."""
    return {
        item_id: resolve(ref, {}, facts=facts, topics=topics, programmes=programmes, topic_id=topic_id)
        for item_id, ref in facts.expected_items.items()
    }


def add_rows(facts: Facts, rows: Sequence[Any], items: dict[str, Item | None]) -> None:
    """Rows are unpacked as plain tuples and added field by field, without calls: a province-year is
    tens of thousands of rows (one per commune, day and item)."""
    commune_days = facts.commune_days
    days: dict[Any, date] = {}
    for commune_id, raw_day, item_id, played, preempted, failed, played_ms in rows:
        item = items[item_id]
        if item is None:
            continue
        day = days.get(raw_day)
        if day is None:
            day = days[raw_day] = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
        played_ms = played_ms or 0
        bf, pf, airing, planned = item
        tally = commune_days[(commune_id, day)]
        tally.played += played
        tally.preempted += preempted
        tally.failed += failed
        tally.played_ms += played_ms
        if bf is not None:
            b_tally = bf.tally
            b_tally.played += played
            b_tally.preempted += preempted
            b_tally.failed += failed
            b_tally.played_ms += played_ms
            if played and (bf.first_played is None or day < bf.first_played):
                bf.first_played = day
        if pf is not None:
            p_tally = pf.tally
            p_tally.played += played
            p_tally.preempted += preempted
            p_tally.failed += failed
            p_tally.played_ms += played_ms
            if played:
                pf.played_airings[airing] = day
                line_plays = pf.line_plays
                line_plays[item_id] = line_plays.get(item_id, 0) + played
        if not planned:  # rare: play now, emergency messages
            tally.extra += played
            if bf is not None:
                bf.tally.extra += played
            if pf is not None:
                pf.tally.extra += played
