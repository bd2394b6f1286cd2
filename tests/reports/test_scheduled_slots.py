"""Slot overrides in the scheduled counts, on the world of ``tests.reports.world``: programme Q (y tế,
18:00 daily, commune Z with one cluster, default running order B3) gets, on 04/03, a slot with its
own running order left empty (the airing stays, with no line), and on 05/03 a slot moved to 20:00
with its own running order B3, B1.

Worked: 04/03 0 lines; 05/03 20:00 (13:00 UTC) 2 lines × Z1; 06/03 18:00 the default B3 × Z1.
Q: 3 scheduled airings, 3 scheduled broadcasts; B3 2 airings (05/03, 06/03), first on 05/03; Z's days
0 / 2 / 1."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from loa.reports.broadcasts import collect_facts
from loa.schedule import models as m
from tests.reports.test_radio_statistics import world  # noqa: F401  (fixture)
from tests.reports.world import NOW, PERIOD, World, running_order


def test_empty_own_running_order_and_moved_slot_with_its_own(session: Session, world: World) -> None:  # noqa: F811
    q, b = world.programmes["Q"], world.bulletins
    empty = m.Slot(programme_id=q.id, occurrence_local=datetime(2024, 3, 4, 18), own_running_order=True)
    moved = m.Slot(
        programme_id=q.id,
        occurrence_local=datetime(2024, 3, 5, 18),
        status=m.SlotStatus.MOVED,
        moved_to_local=datetime(2024, 3, 5, 20),
        own_running_order=True,
    )
    session.add_all([empty, moved])
    session.flush()
    running_order(session, q, [b["B3"], b["B1"]], moved)
    session.commit()

    scope = {world.tree.province.id, world.tree.new_x.id, world.tree.new_y.id, world.z.id}
    facts, _, _ = collect_facts(session, period=PERIOD, scope=scope, topic_id=None, now=NOW)

    pf = facts.programmes[q.id]
    assert sorted(pf.scheduled_airings) == ["20240304T1100Z", "20240305T1300Z", "20240306T1100Z"]
    assert pf.tally.scheduled == pf.tally.due == 3
    assert [mix[:2] for mix in pf.planned_mix] == [(0, 0), (2, 0), (1, 0)]  # B3 and B1 are news
    b3 = facts.bulletins[b["B3"].id]
    assert (b3.scheduled_airings, b3.tally.scheduled, b3.first_scheduled) == (2, 2, date(2024, 3, 5))
    z_days = {d: t.scheduled for (c, d), t in facts.commune_days.items() if c == world.z.id}
    assert z_days.get(date(2024, 3, 4), 0) == 0
    assert (z_days[date(2024, 3, 5)], z_days[date(2024, 3, 6)]) == (2, 1)
