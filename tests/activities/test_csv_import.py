"""CSV import (all or nothing, per-row Vietnamese errors) and export, on a real database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.activities import imports, service
from loa.activities.models import MobileTrip, VisualItem
from loa.activities.registers import MOBILE, PRESS, VISUAL, RegisterSpec
from loa.activities.textcodec import encode_cp1258, encode_tcvn3
from loa.errors import InvalidInput, PermissionDenied
from tests.activities.areas import Tree, build_tree

TODAY = date(2024, 1, 15)
ADMIN = Principal(user_id=0, username="admin", display_name="Quản trị", role=Role.ADMIN)

GOOD_VISUAL = """Loại;Địa điểm;Rộng (m);Cao (m);Số mặt;Số lượng;Ngày lắp đặt;Mã địa bàn;Chủ đề;Kinh phí (đồng)
Pa nô;Ngã tư trụ đèn giao thông;4;6;1;1;10/03/2023;D1;CCHC;12.500.000
pano;Dọc con lươn đường Phạm Văn Đồng;1,8;1,2;2;3;2023-04-02;D1;cchc;
PA NÔ;Trụ điện đường Phạm Văn Đồng;2m;0,8m;2;4;5/5/2023;OA;Cải cách hành chính;
"""


@pytest.fixture
def tree(session: Session) -> Tree:
    return build_tree(session)


def _count(session: Session, model: type[VisualItem] | type[MobileTrip]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _import(
    session: Session, content: bytes, principal: Principal = ADMIN, spec: RegisterSpec = VISUAL, **kw: Any
) -> imports.ImportResult:
    outcome = imports.import_file(session, spec=spec, principal=principal, content=content, today=TODAY, **kw)
    assert outcome.result is not None, outcome.preview
    return outcome.result


def test_good_csv_imports_every_row_with_vietnamese_decimals(session: Session, tree: Tree) -> None:
    result = _import(session, GOOD_VISUAL.encode("utf-8"))
    assert result.created == 3 and result.encoding == "UTF-8"
    items = {i.place: i for i in session.scalars(select(VisualItem))}
    pole = items["Trụ điện đường Phạm Văn Đồng"]
    assert (pole.width_m, pole.height_m, pole.sides, pole.quantity) == (2.0, 0.8, 2, 4)
    assert pole.area_id == tree.old_a.id and pole.installed_on == date(2023, 5, 5)
    assert [t.code for t in pole.topics] == ["cchc"]
    assert items["Ngã tư trụ đèn giao thông"].cost_vnd == 12_500_000
    assert items["Dọc con lươn đường Phạm Văn Đồng"].width_m == pytest.approx(1.8)


def test_export_reads_back_identically(session: Session, tree: Tree) -> None:
    _import(session, GOOD_VISUAL.encode("utf-8"))
    exported = service.export_csv(session, spec=VISUAL, principal=ADMIN)
    assert exported.startswith(b"\xef\xbb\xbf")
    assert "1,8" in exported.decode("utf-8-sig") and "02/04/2023" in exported.decode("utf-8-sig")
    before = [
        (i.place, i.width_m, i.height_m, i.sides, i.quantity, i.installed_on)
        for i in session.scalars(select(VisualItem).order_by(VisualItem.id))
    ]
    # The same rows again are duplicates: nothing is imported until the person says so.
    held = imports.import_file(session, spec=VISUAL, principal=ADMIN, content=exported, today=TODAY)
    assert held.result is None and held.preview is not None
    assert [d.row for d in held.preview.duplicates] == [2, 3, 4]
    assert _count(session, VisualItem) == 3
    again = _import(session, exported, duplicates="include")
    assert again.created == 3
    after = [
        (i.place, i.width_m, i.height_m, i.sides, i.quantity, i.installed_on)
        for i in session.scalars(
            select(VisualItem).where(VisualItem.id.in_(again.ids)).order_by(VisualItem.id)
        )
    ]
    assert after == before


@pytest.mark.parametrize("encode", [encode_cp1258, encode_tcvn3], ids=["windows-1258", "tcvn3"])
def test_legacy_encodings_import_as_unicode(session: Session, tree: Tree, encode: object) -> None:
    text = (
        "Loại,Địa điểm,Rộng (m),Cao (m),Ngày lắp đặt,Mã địa bàn,Nội dung\n"
        'băng rôn,dọc đường phạm văn đồng,"0,8",6,01/02/2023,D1,đẩy mạnh cải cách hành chính\n'
    )
    result = _import(session, encode(text))  # type: ignore[operator]
    assert result.encoding in ("Windows-1258", "TCVN3 (ABC)")
    item = session.scalars(select(VisualItem)).one()
    assert item.place == "dọc đường phạm văn đồng"
    assert item.content == "đẩy mạnh cải cách hành chính"
    assert item.width_m == pytest.approx(0.8)


BAD_ROWS = """Loại,Địa điểm,Rộng (m),Cao (m),Số mặt,Ngày lắp đặt,Mã địa bàn
Pa nô,Ngã tư,4,6,1,10/03/2023,D1
Pa nô,Chợ,-4,6,1,10/03/2023,D1
Pa nô,Chợ,4,0,1,10/03/2023,D1
Pa nô,Chợ,"1,8,2",6,1,10/03/2023,D1
Pa nô,Chợ,4,6,3,10/03/2023,D1
Pa nô,Chợ,4,6,1,31/02/2023,D1
Pa nô,Chợ,4,6,1,20/05/2030,D1
Pa nô,Chợ,4,6,1,10/03/2023,99999
Tranh cổ động,Chợ,4,6,1,10/03/2023,D1
Pa nô,,4,6,1,10/03/2023,D1
"""


def test_bad_rows_are_all_reported_and_nothing_is_imported(session: Session, tree: Tree) -> None:
    with pytest.raises(InvalidInput) as info:
        _import(session, BAD_ROWS.encode("utf-8"))
    assert _count(session, VisualItem) == 0
    err = info.value
    assert err.code == "import_failed" and "chưa nhập dòng nào" in err.message
    by_row = {e["row"]: e for e in err.details["errors"]}
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8, 9, 10, 11]  # row 2 is fine; the header is row 1
    assert by_row[3]["message"] == "Rộng (m) phải lớn hơn 0: -4" and by_row[3]["column"] == "Rộng (m)"
    assert by_row[4]["message"] == "Cao (m) phải lớn hơn 0: 0"
    assert "dấu phẩy" in by_row[5]["message"]
    assert "Số mặt không được lớn hơn 2" in by_row[6]["message"]
    assert "không tồn tại" in by_row[7]["message"]
    assert "tương lai" in by_row[8]["message"]
    assert by_row[9]["message"] == "Mã địa bàn không tồn tại: “99999”"
    assert "Loại “Tranh cổ động” không hợp lệ" in by_row[10]["message"]
    assert by_row[11] == {
        "row": 11,
        "column": "Địa điểm",
        "message": "Bắt buộc, không được để trống (trừ khi nhập số liệu tổng hợp có “Đến ngày”)",
        "value": "",
    }


def test_wrong_columns_are_refused(session: Session, tree: Tree) -> None:
    content = "Loại,Màu sắc,Rộng (m),Cao (m),Ngày lắp đặt,Rộng (m)\nPa nô,đỏ,4,6,01/01/2023,4\n"
    with pytest.raises(InvalidInput) as info:
        _import(session, content.encode())
    messages = [e["message"] for e in info.value.details["errors"]]
    assert "Cột “Màu sắc” không thuộc sổ tuyên truyền trực quan" in messages
    assert "Cột “Rộng (m)” bị lặp lại" in messages
    assert "Thiếu cột bắt buộc: Địa điểm" in messages
    assert all(e["row"] == 1 for e in info.value.details["errors"])
    assert _count(session, VisualItem) == 0


def test_undecodable_file_imports_nothing(session: Session, tree: Tree) -> None:
    with pytest.raises(InvalidInput) as info:
        _import(session, b"Lo\x81i,\x8d\x8f\x90\n\x9d,\x81\n")
    assert info.value.code == "unknown_encoding" and "bảng mã" in info.value.message
    assert _count(session, VisualItem) == 0


def test_scope_is_enforced_row_by_row(session: Session, tree: Tree) -> None:
    operator = Principal(
        user_id=0,
        username="bato",
        display_name="Ba Tơ",
        role=Role.COMMUNE_OPERATOR,
        scope_paths=(tree.new_x.path,),
    )
    content = (
        "Loại,Địa điểm,Rộng (m),Cao (m),Ngày lắp đặt,Mã địa bàn\n"
        "Băng rôn,UBND xã,0.8,6,01/01/2024,21484\nBăng rôn,Chợ,0.8,6,01/01/2024,21490\n"
    )
    with pytest.raises(InvalidInput) as info:
        _import(session, content.encode(), operator)
    (error,) = info.value.details["errors"]
    assert error["row"] == 3 and "ngoài phạm vi" in error["message"]
    viewer = Principal(
        user_id=0, username="v", display_name="v", role=Role.VIEWER, scope_paths=(tree.new_x.path,)
    )
    with pytest.raises(PermissionDenied):
        _import(session, content.encode(), viewer)


def test_default_area_fills_rows_without_an_area_column(session: Session, tree: Tree) -> None:
    content = "Loại,Địa điểm,Rộng (m),Cao (m),Ngày lắp đặt\nPhướn,Chợ Ba Tơ,0.6,2,01/01/2024\n"
    _import(session, content.encode(), default_area_id=tree.new_x.id)
    assert session.scalars(select(VisualItem)).one().area_id == tree.new_x.id


def test_mobile_trips_keep_known_villages_and_free_text(session: Session, tree: Tree) -> None:
    content = (
        "Ngày;Lộ trình;Thôn, tổ dân phố;Thời lượng (phút);Số người nghe (ước tính);Mã địa bàn\n"
        '12/06/2023;Trung tâm → Ba Động;"OA01; Làng Mạ";90;300;D1\n'
    )
    result = _import(session, content.encode(), spec=MOBILE)
    trip = session.get(MobileTrip, result.ids[0])
    assert trip is not None
    assert [(s.area_id, s.name) for s in trip.stops] == [
        (tree.village_a.id, "Thôn Gò Khế"),
        (None, "Làng Mạ"),
    ]
    assert trip.duration_minutes == 90 and trip.audience_estimate == 300


def test_press_kind_aliases(session: Session, tree: Tree) -> None:
    content = (
        "Cơ quan báo chí,Loại,Ngày đăng/phát,Tiêu đề,Mã địa bàn\n"
        "Báo Quảng Ngãi,phong su truyen hinh,01/03/2023,Ba Tơ cải cách,D1\n"
        "Đài PT-TH tỉnh,Phóng sự truyền thanh,02/03/2023,Một cửa,D1\n"
    )
    result = _import(session, content.encode(), spec=PRESS)
    assert result.created == 2
