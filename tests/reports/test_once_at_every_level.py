"""Each record counted once at every level, on every channel: the former district of Ba Tơ (which the
importer links to the new communes it became, as ``loa areas import --history`` does) keeps its own
records; its old communes' records go to the one new commune each became; a new commune's report
shows its own records and the district's apart, never added; the district counts its own and its
successors' once each; the province counts everything once.

    D1 Huyện Ba Tơ (cũ) ── OA (→ Xã Ba Tơ), OB (→ Xã Ba Tơ), OC (→ Xã Ba Vì)
    D2 Huyện Sơn Hà (cũ) ── OE (no successor)
    lineage D1 → Xã Ba Tơ, D1 → Xã Ba Vì

Records (2023–2025): radio news D1 100, OA 10, OC 5, Xã Ba Tơ 3, Xã Ba Vì 4, OE 7; visual panels D1 2,
Xã Ba Tơ 1; trips D1 4, Xã Ba Vì 1; press D1 6; portal news D1 25, OA 2.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.activities import service
from loa.activities.registers import MOBILE, PORTAL, PRESS, RADIO, VISUAL, RegisterSpec
from loa.reports.data import ReportData
from loa.reports.rollup import channel_headlines
from loa.reports.service import ReportRequest, build_report_data
from loa.reports.statistics import Gathered, former_areas, gather, groups_of, sections_of
from loa.reports.wording import former_sentences
from loa.reports.xlsx_writer import render_xlsx
from loa.units.models import AreaLineage, LineageChange
from loa.vocab.period import Period
from tests.activities.areas import REFORM, Tree, build_tree
from tests.support.auth import login_web, make_user

ADMIN = Principal(user_id=0, username="admin", display_name="Quản trị", role=Role.ADMIN)
PERIOD = Period.custom(date(2023, 1, 1), date(2025, 12, 31))
TODAY = date(2026, 1, 10)
CHANNELS = ("radio", "visual", "mobile", "press", "portal")


def _add(session: Session, spec: RegisterSpec, area: str, day: str, **data: object) -> None:
    fields = {"area": area, "topics": ["cchc"], spec.date_field: day, **data}
    service.create_record(session, spec=spec, principal=ADMIN, data=fields, today=TODAY)


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    for successor in (tree.new_x, tree.new_y):
        session.add(
            AreaLineage(
                predecessor_id=tree.district.id,
                successor_id=successor.id,
                change=LineageChange.REGROUP,
                effective_on=REFORM,
            )
        )
    session.flush()
    for area, count, day in (
        ("D1", 100, "2023-03-01"),
        ("OA", 10, "2023-04-01"),
        ("OC", 5, "2023-05-01"),
        ("21484", 3, "2025-08-01"),
        ("21490", 4, "2025-09-01"),
        ("OE", 7, "2023-06-01"),
    ):
        _add(session, RADIO, area, day, kind="news", count=count)
    panel = {"kind": "panel", "place": "Trung tâm", "width_m": 2, "height_m": 1}
    _add(session, VISUAL, "D1", "2023-03-15", quantity=2, **panel)
    _add(session, VISUAL, "21484", "2025-08-15", quantity=1, **panel)
    for day in ("2023-02-01", "2023-03-01", "2023-04-01", "2023-05-01"):
        _add(session, MOBILE, "D1", day, route="Thị trấn → các xã")
    _add(session, MOBILE, "21490", "2025-10-01", route="Trung tâm xã → thôn")
    for i in range(6):
        _add(
            session,
            PRESS,
            "D1",
            f"2023-0{i + 1}-10",
            outlet="Báo Quảng Ngãi",
            kind="radio_reportage",
            title=f"PS {i}",
        )
    _add(session, PORTAL, "D1", "2023-08-01", kind="news", count=25)
    _add(session, PORTAL, "OA", "2023-09-01", kind="news", count=2)
    session.commit()
    return tree


def _headlines(g: Gathered) -> dict[str, int]:
    heads = channel_headlines(sections_of(g))
    return {c: heads[c].value for c in CHANNELS}


def _gather(session: Session, area_id: int) -> Gathered:
    return gather(session, principal=ADMIN, period=PERIOD, area_id=area_id)


def test_a_new_commune_shows_its_own_records_and_the_district_apart(session: Session, tree: Tree) -> None:
    x = _gather(session, tree.new_x.id)
    # Its own: OA 10 + its own 3 news; its panel; OA's 2 portal news. Nothing of Ba Vì's (OC) here.
    assert _headlines(x) == {"radio": 13, "visual": 1, "mobile": 0, "press": 0, "portal": 2}
    [district] = former_areas(x)
    assert (district.name, district.became) == ("Huyện Ba Tơ", ("Xã Ba Tơ", "Xã Ba Vì"))
    heads = channel_headlines(district.channels)
    assert {c: heads[c].value for c in CHANNELS} == {
        "radio": 100,
        "visual": 2,
        "mobile": 4,
        "press": 6,
        "portal": 25,
    }
    y = _gather(session, tree.new_y.id)
    assert _headlines(y) == {"radio": 9, "visual": 0, "mobile": 1, "press": 0, "portal": 0}
    assert [f.name for f in former_areas(y)] == ["Huyện Ba Tơ"]  # the same district, shown again, apart


def test_the_district_counts_its_own_and_its_successors_once(session: Session, tree: Tree) -> None:
    district = _headlines(_gather(session, tree.district.id))
    assert district == {"radio": 122, "visual": 3, "mobile": 5, "press": 6, "portal": 27}
    x, y = _headlines(_gather(session, tree.new_x.id)), _headlines(_gather(session, tree.new_y.id))
    for channel in CHANNELS:
        assert x[channel] + y[channel] <= district[channel]
    # The district's own records are the difference, counted once.
    assert district["radio"] - x["radio"] - y["radio"] == 100
    assert former_areas(_gather(session, tree.district.id)) == ()


def test_the_province_counts_everything_once(session: Session, tree: Tree) -> None:
    g = _gather(session, tree.province.id)
    province = _headlines(g)
    assert province == {"radio": 129, "visual": 3, "mobile": 5, "press": 6, "portal": 27}
    by_commune = groups_of(session, g, "commune")
    for channel in CHANNELS:
        total = sum(
            sum(f.value for f in grp.figures if f.key.startswith(f"{channel}.")) for grp in by_commune
        )
        if channel == "mobile":  # villages and audience are not items; trips are
            total = sum(grp.value("mobile.trip") for grp in by_commune)
        assert total == province[channel], channel
    radio = {grp.label: grp.value("radio.news") for grp in by_commune}
    assert radio == {"Xã Ba Tơ": 13, "Xã Ba Vì": 9, "Xã Sơn Thượng": 7, "Huyện Ba Tơ (cấp trên xã)": 100}


def test_the_district_apart_in_every_output_of_a_commune(
    client: TestClient, session: Session, tree: Tree
) -> None:
    data = build_report_data(
        session,
        principal=ADMIN,
        request=ReportRequest(period=PERIOD, area_id=tree.new_x.id, issued_on=date(2026, 1, 10)),
    )
    assert ReportData.from_json(data.to_json()) == data
    [district] = data.former
    assert district.became_text == "Xã Ba Tơ và Xã Ba Vì"
    sentence = next(s for s in former_sentences(data) if "Huyện Ba Tơ" in s)
    assert sentence.startswith(
        "Số liệu do Huyện Ba Tơ (đơn vị cũ, nay là Xã Ba Tơ và Xã Ba Vì) ghi nhận chung, "
        "không cộng vào số liệu của Xã Ba Tơ: truyền thanh: 100 tin;"
    )
    summary = load_workbook(io.BytesIO(render_xlsx(data)))["Tổng hợp"]
    cells = [[c.value for c in row] for row in summary.iter_rows()]
    assert [None, "Số liệu của đơn vị cũ, báo cáo riêng (không cộng vào số liệu của Xã Ba Tơ)"] in [
        r[:2] for r in cells
    ]
    assert ["Huyện Ba Tơ (đơn vị cũ, nay là Xã Ba Tơ và Xã Ba Vì): Truyền thanh", "Tin", 100] in [
        r[1:4] for r in cells
    ]
    make_user(session, "tinh", Role.PROVINCE_EDITOR, area_code="51")
    session.commit()
    login_web(client, "tinh")
    page = client.get("/reports/statistics?area=21484&period=custom&start=2023-01-01&end=2025-12-31")
    assert page.status_code == 200
    block = page.text.split('data-testid="former-units"')[1].split("</table>")[0]
    assert "Huyện Ba Tơ" in block and "nay là Xã Ba Tơ và Xã Ba Vì" in block and ">100<" in block
    assert 'data-testid="total-radio"><a' in page.text
    assert re.search(r'data-testid="total-radio"><a [^>]*>13<', page.text)
