"""Roll-ups across the 2025 reform: the same year seen under the former district and under the new
communes (three old communes merged into two), on a real database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.activities import service
from loa.activities.registers import RADIO
from loa.errors import NotFound
from loa.reports.statistics import breakdown, collect_channels, totals
from loa.units.models import AreaLineage, LineageChange
from loa.vocab.period import Period
from tests.activities.areas import REFORM, Tree, build_tree

ADMIN = Principal(user_id=0, username="admin", display_name="Quản trị", role=Role.ADMIN)
TODAY = date(2026, 1, 10)
NEWS = "radio.news"


def _news(session: Session, area_code: str, count: int, day: str) -> int:
    record = service.create_record(
        session,
        spec=RADIO,
        principal=ADMIN,
        data={"kind": "news", "count": count, "aired_on": day, "area": area_code, "topics": ["cchc"]},
        today=TODAY,
    )
    return record.id


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    ids = {
        "OA": _news(session, "OA", 10, "2023-03-01"),
        "OB": _news(session, "OB", 20, "2023-04-01"),
        "OC": _news(session, "OC", 5, "2023-05-01"),
        "OA01": _news(session, "OA01", 1, "2023-06-01"),
        "D1": _news(session, "D1", 100, "2023-07-01"),
        "OE": _news(session, "OE", 7, "2023-08-01"),
        "21484": _news(session, "21484", 3, "2025-08-01"),
        "21490": _news(session, "21490", 4, "2025-09-01"),
        "2148401": _news(session, "2148401", 2, "2025-10-01"),
    }
    session.info["ids"] = ids
    return tree


def _value(
    session: Session, area_id: int, year: int, principal: Principal = ADMIN
) -> tuple[int, tuple[int, ...]]:
    _, channels = collect_channels(session, principal=principal, period=Period.year(year), area_id=area_id)
    radio = next(c for c in channels if c.key == "radio")
    figure = radio.figure(NEWS)
    assert figure is not None
    return figure.value, figure.row_ids


def test_old_year_under_the_district_and_under_the_new_communes(session: Session, tree: Tree) -> None:
    ids = session.info["ids"]
    district, district_ids = _value(session, tree.district.id, 2023)
    assert district == 10 + 20 + 5 + 1 + 100
    assert set(district_ids) == {ids[c] for c in ("OA", "OB", "OC", "OA01", "D1")}
    new_x, x_ids = _value(session, tree.new_x.id, 2023)  # successor of Ba Động (with its village) and Ba Cung
    new_y, y_ids = _value(session, tree.new_y.id, 2023)
    assert (new_x, new_y) == (31, 5)
    assert set(x_ids) == {ids["OA"], ids["OB"], ids["OA01"]} and set(y_ids) == {ids["OC"]}


def test_breakdown_by_new_communes_adds_up_to_the_province(session: Session, tree: Tree) -> None:
    groups = breakdown(
        session, principal=ADMIN, period=Period.year(2023), area_id=tree.province.id, level="commune"
    )
    by_label = {g.label: g.value(NEWS) for g in groups}
    assert by_label == {
        "Xã Ba Tơ": 31,
        "Xã Ba Vì": 5,
        "Xã Sơn Thượng": 7,  # no successor recorded: stays under its own name
        "Huyện Ba Tơ (cấp trên xã)": 100,  # district-level work belongs to no commune
    }
    province, _ = _value(session, tree.province.id, 2023)
    assert totals(groups, NEWS) == province == 143


def test_breakdown_by_former_district_before_and_after_the_reform(session: Session, tree: Tree) -> None:
    old = breakdown(
        session, principal=ADMIN, period=Period.year(2023), area_id=tree.province.id, level="former_district"
    )
    assert {g.label: g.value(NEWS) for g in old} == {"Huyện Ba Tơ": 136, "Huyện Sơn Hà": 7}
    new = breakdown(
        session, principal=ADMIN, period=Period.year(2025), area_id=tree.province.id, level="former_district"
    )
    assert {g.label: g.value(NEWS) for g in new} == {
        "Huyện Ba Tơ": 9
    }  # via former_district_id of the new communes
    after, _ = _value(session, tree.district.id, 2025)
    assert after == 3 + 4 + 2
    groups = breakdown(
        session, principal=ADMIN, period=Period.year(2025), area_id=tree.district.id, level="commune"
    )
    assert {g.label: g.value(NEWS) for g in groups} == {"Xã Ba Tơ": 5, "Xã Ba Vì": 4}


def test_a_split_commune_is_reported_as_such(session: Session, tree: Tree) -> None:
    session.add(
        AreaLineage(
            predecessor_id=tree.old_c.id,
            successor_id=tree.new_x.id,
            change=LineageChange.SPLIT,
            effective_on=REFORM,
        )
    )
    session.flush()
    groups = breakdown(
        session, principal=ADMIN, period=Period.year(2023), area_id=tree.district.id, level="commune"
    )
    labels = {g.label: g.value(NEWS) for g in groups}
    assert labels["Thị trấn Ba Tơ (đã chia tách: Xã Ba Tơ, Xã Ba Vì)"] == 5
    assert totals(groups, NEWS) == 136


def test_scope_limits_what_can_be_reported(session: Session, tree: Tree) -> None:
    operator = Principal(
        user_id=0,
        username="bato",
        display_name="Ba Tơ",
        role=Role.COMMUNE_OPERATOR,
        scope_paths=(tree.new_x.path,),
    )
    assert _value(session, tree.new_x.id, 2023, operator)[0] == 31  # its predecessors' records included
    with pytest.raises(NotFound):
        _value(session, tree.district.id, 2023, operator)
    with pytest.raises(NotFound):
        breakdown(
            session, principal=operator, period=Period.year(2023), area_id=tree.province.id, level="commune"
        )


def test_period_and_topic_filters(session: Session, tree: Tree) -> None:
    _, channels = collect_channels(
        session, principal=ADMIN, period=Period.quarter(2023, 2), area_id=tree.district.id, topic_code="cchc"
    )
    assert next(c for c in channels if c.key == "radio").value(NEWS) == 20 + 5 + 1
    _, other_topic = collect_channels(
        session, principal=ADMIN, period=Period.year(2023), area_id=tree.district.id, topic_code="y-te"
    )
    assert all(c.is_empty for c in other_topic)
