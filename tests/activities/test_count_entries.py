"""Count entries ("20 lượt xe, cả năm 2023"): a notebook's totals filed without inventing dates, titles
or sizes; banners and flags without sizes; how lists, CSV and the record page show them; which periods
they belong to. On a real database, through the service and the HTTP routes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.accounts.principal import Principal, Role
from loa.activities import browse, imports, service
from loa.activities.forms import display_cell
from loa.activities.present import entry_text, span_text
from loa.activities.registers import MOBILE, PORTAL, PRESS, RADIO, REGISTERS, VISUAL, RegisterSpec
from loa.errors import InvalidInput
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, login_web, make_user

ADMIN = Principal(user_id=0, username="admin", display_name="Quản trị", role=Role.ADMIN)
TODAY = date(2024, 1, 15)
YEAR = {"area": "D1", "topics": ["cchc"]}


@pytest.fixture
def tree(session: Session) -> Tree:
    return build_tree(session)


def _create(session: Session, spec: RegisterSpec, **data: Any) -> Any:
    return service.create_record(session, spec=spec, principal=ADMIN, data={**YEAR, **data}, today=TODAY)


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (date(2023, 1, 1), date(2023, 12, 31), "cả năm 2023"),
        (date(2023, 1, 1), date(2023, 6, 30), "6 tháng đầu năm 2023"),
        (date(2023, 7, 1), date(2023, 12, 31), "6 tháng cuối năm 2023"),
        (date(2023, 4, 1), date(2023, 6, 30), "quý II năm 2023"),
        (date(2023, 2, 1), date(2023, 2, 28), "tháng 2 năm 2023"),
        (date(2023, 3, 5), date(2023, 3, 5), "ngày 05/03/2023"),
        (date(2023, 3, 5), date(2023, 5, 20), "từ 05/03/2023 đến 20/05/2023"),
        (date(2022, 7, 1), date(2023, 6, 30), "từ 01/07/2022 đến 30/06/2023"),
    ],
)
def test_a_period_reads_as_people_name_it(start: date, end: date, text: str) -> None:
    assert span_text(start, end) == text


# Register → the notebook's total as the API takes it, how it must read, and what a single dated item
# of the same kind needs besides.
COUNT_ENTRIES: list[tuple[RegisterSpec, dict[str, Any], str, dict[str, Any]]] = [
    (MOBILE, {"trip_on": "01/01/2023", "quantity": 20}, "20 lượt xe, cả năm 2023", {}),
    (
        PRESS,
        {"kind": "Phóng sự truyền thanh", "published_on": "01/01/2023", "quantity": 6},
        "06 phóng sự truyền thanh, cả năm 2023",
        {"title": "Một cửa liên thông", "outlet": "Báo Quảng Ngãi"},
    ),
    (PORTAL, {"kind": "Ảnh", "posted_on": "01/01/2023", "count": 60}, "60 ảnh, cả năm 2023", {}),
    (RADIO, {"kind": "Tin", "aired_on": "01/01/2023", "count": 130}, "130 tin, cả năm 2023", {}),
    (
        VISUAL,
        {"kind": "Băng rôn", "installed_on": "01/01/2023", "quantity": 5},
        "05 băng rôn, cả năm 2023",
        {"place": "Cổng UBND"},
    ),
]


@pytest.mark.parametrize(
    ("spec", "data", "text", "single_needs"), COUNT_ENTRIES, ids=[c[0].key for c in COUNT_ENTRIES]
)
def test_each_register_takes_a_count_without_title_size_or_day(
    session: Session,
    tree: Tree,
    spec: RegisterSpec,
    data: dict[str, Any],
    text: str,
    single_needs: dict[str, Any],
) -> None:
    record = _create(session, spec, **data, ends_on="31/12/2023")
    assert spec.is_count(record) and record.ends_on == date(2023, 12, 31)
    assert entry_text(spec, record) == text
    # In the list the period stands where a single item's day would.
    assert display_cell(spec, record, spec.date_field) == "cả năm 2023"
    # The same record without "Đến ngày" is a single dated item again.
    single = _create(session, spec, **data, **single_needs)
    assert not spec.is_count(single) and entry_text(spec, single) == ""
    assert display_cell(spec, single, spec.date_field) == "01/01/2023"


def test_a_single_press_item_still_needs_its_title_and_outlet(session: Session, tree: Tree) -> None:
    with pytest.raises(InvalidInput) as info:
        _create(session, PRESS, kind="Tin", published_on="02/03/2023")
    fields = {d["field"] for d in info.value.details}
    assert fields == {"Cơ quan báo chí", "Tiêu đề"}
    assert "trừ khi nhập số liệu tổng hợp" in info.value.details[0]["message"]


def test_banners_and_flags_need_no_size_but_a_panel_does(session: Session, tree: Tree) -> None:
    banner = _create(session, VISUAL, kind="Băng rôn", place="Cổng UBND", installed_on="02/03/2023")
    flag = _create(session, VISUAL, kind="Phướn", place="Đường Phạm Văn Đồng", installed_on="02/03/2023")
    assert (banner.width_m, banner.height_m, flag.width_m) == (None, None, None)
    assert display_cell(VISUAL, banner, "size") == ""
    with pytest.raises(InvalidInput) as info:
        _create(session, VISUAL, kind="Pa nô", place="Ngã tư", installed_on="02/03/2023")
    assert info.value.details[0]["field"] == "Rộng (m) / Cao (m)"
    assert info.value.details[0]["message"].startswith("Pa nô cần kích thước")
    with pytest.raises(InvalidInput) as half:
        _create(session, VISUAL, kind="Băng rôn", place="Chợ", installed_on="02/03/2023", width_m="0,8")
    assert "cả chiều rộng và chiều cao" in half.value.details[0]["message"]
    # Panels counted from a notebook, without their sizes, are a count entry.
    counted = _create(
        session, VISUAL, kind="Pa nô", installed_on="01/01/2023", ends_on="31/12/2023", quantity=8
    )
    assert counted.width_m is None and counted.place == ""


def test_the_period_must_not_end_before_it_starts(session: Session, tree: Tree) -> None:
    with pytest.raises(InvalidInput) as info:
        _create(session, MOBILE, trip_on="01/07/2023", ends_on="30/06/2023", quantity=3)
    assert info.value.details[0]["field"] == "Đến ngày"
    assert "từ ngày 01/07/2023 trở đi" in info.value.details[0]["message"]


def test_clearing_the_end_of_a_titleless_count_is_refused(session: Session, tree: Tree) -> None:
    record = _create(session, PRESS, kind="Tin", published_on="01/01/2023", ends_on="31/12/2023", quantity=18)
    with pytest.raises(InvalidInput) as info:
        service.update_record(
            session, spec=PRESS, principal=ADMIN, record_id=record.id, data={"ends_on": ""}, today=TODAY
        )
    assert {d["field"] for d in info.value.details} == {"Cơ quan báo chí", "Tiêu đề"}


def test_a_count_belongs_to_the_periods_that_hold_all_of_it(session: Session, tree: Tree) -> None:
    _create(session, MOBILE, trip_on="01/01/2023", ends_on="31/12/2023", quantity=20)
    _create(session, MOBILE, trip_on="15/03/2023", quantity=2)

    def quantity(start: date, end: date) -> int | None:
        wanted = browse.RecordFilter(start=start, end=end)
        return browse.find_records(session, spec=MOBILE, principal=ADMIN, wanted=wanted).quantity

    assert quantity(date(2023, 1, 1), date(2023, 12, 31)) == 22
    assert quantity(date(2022, 1, 1), date(2024, 12, 31)) == 22
    # March alone: its own trips; the year's 20 cannot be split by month, so they are not claimed.
    assert quantity(date(2023, 3, 1), date(2023, 3, 31)) == 2
    listed, total = service.list_records(
        session, spec=MOBILE, principal=ADMIN, start=date(2023, 1, 1), end=date(2023, 6, 30)
    )
    assert total == 1 and listed[0].quantity == 2


def test_csv_round_trip_keeps_a_count_entry(session: Session, tree: Tree) -> None:
    _create(
        session,
        PRESS,
        kind="Phóng sự truyền hình",
        published_on="01/01/2023",
        ends_on="31/12/2023",
        quantity=18,
    )
    exported = service.export_csv(session, spec=PRESS, principal=ADMIN).decode("utf-8-sig")
    header, row = exported.splitlines()[:2]
    assert "Đến ngày" in header.split(",") and "Số lượng" in header.split(",")
    assert "01/01/2023,31/12/2023,18" in row
    # Read back, it is the same entry: a duplicate, imported only when asked.
    outcome = imports.import_file(
        session, spec=PRESS, principal=ADMIN, content=exported.encode(), today=TODAY
    )
    assert outcome.preview is not None and outcome.preview.duplicates[0].record_id is not None
    assert outcome.preview.duplicates[0].summary == (
        "Phóng sự truyền hình · cả năm 2023 · số lượng 18 · Huyện Ba Tơ"
    )


def test_a_file_of_counts_needs_no_title_column(session: Session, tree: Tree) -> None:
    content = (
        "Loại;Số lượng;Từ ngày;Đến ngày;Mã địa bàn;Chủ đề\n"
        "Phóng sự truyền thanh;6;01/01/2023;31/12/2023;D1;CCHC\n"
        "Phóng sự truyền hình;18;01/01/2023;31/12/2023;D1;CCHC\n"
    ).encode()
    outcome = imports.import_file(session, spec=PRESS, principal=ADMIN, content=content, today=TODAY)
    assert outcome.result is not None and outcome.result.created == 2
    # Without "Đến ngày" the rows are single items, which need their title and outlet columns.
    with pytest.raises(InvalidInput) as info:
        imports.import_file(
            session,
            spec=PRESS,
            principal=ADMIN,
            content=b"Loai;So luong;Ngay;Ma dia ban\nTin;3;01/02/2023;D1\n",
            today=TODAY,
        )
    assert "Thiếu cột bắt buộc: Cơ quan báo chí, Tiêu đề" in info.value.details["errors"][0]["message"]


def test_every_counted_register_has_an_end_field_and_a_quantity() -> None:
    counted = {key for key, spec in REGISTERS.items() if spec.ends_field}
    assert counted == {"visual-items", "mobile-trips", "press-items", "portal-posts", "radio-items"}
    assert all(REGISTERS[key].quantity_field for key in counted)


def test_pages_and_api_show_a_count_as_such(client: TestClient, session: Session, tree: Tree) -> None:
    make_user(session, "xabato", Role.COMMUNE_OPERATOR, area_code="21484")
    session.commit()
    headers = bearer(client, "xabato")
    created = client.post(
        "/api/v1/activities/mobile-trips",
        headers=headers,
        json={"trip_on": "2023-01-01", "ends_on": "2023-12-31", "quantity": 20, "area_code": "21484"},
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["count_entry"] is True and item["summary"] == "20 lượt xe, cả năm 2023"
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "activity.create")).all()
    assert [e.details["count_entry"] for e in audited] == ["20 lượt xe, cả năm 2023"]

    login_web(client, "xabato")
    page = client.get("/activities/mobile-trips").text
    table = page.split('data-testid="records"', 1)[1].split("</table>", 1)[0]
    assert "cả năm 2023" in table and 'data-testid="count-entry"' in table and ">20<" in table
    record = client.get(f"/activities/mobile-trips/{item['id']}").text
    assert 'data-testid="count-summary">20 lượt xe, cả năm 2023<' in record
