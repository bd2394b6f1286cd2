"""Pure rules of loa.areas.logic: folding, kinds, paths and village CSV validation."""

from __future__ import annotations

import pytest

from loa.areas.logic import (
    UNIT_KINDS,
    VillageRow,
    display_name,
    fold,
    may_contain,
    name_key,
    read_village_csv,
)
from loa.errors import InvalidInput
from loa.units.models import UnitKind
from loa.units.paths import ancestor_paths, is_within, make_path, path_codes, rebase_path


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Xã Ba Tơ", "xa ba to"),
        ("ba to", "ba to"),
        ("  XÃ   BA   TƠ ", "xa ba to"),
        ("Thành phố Đà Nẵng", "thanh pho da nang"),
        ("Đặc khu Lý Sơn", "dac khu ly son"),
        ("Phường Văn Miếu - Quốc Tử Giám", "phuong van mieu quoc tu giam"),
        ("Xã Cư M’gar", "xa cu mgar"),
        ("Xã Cư M'gar", "xa cu mgar"),
        ("Xã Đàm Thuỷ", "xa dam thuy"),
        ("Xã Đàm Thủy", "xa dam thuy"),
        ("Tổ dân phố 3", "to dan pho 3"),
        ("Ấp Ưu Đàm", "ap uu dam"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_is_idempotent_and_nfc_nfd_agnostic() -> None:
    import unicodedata

    name = "Xã Đặng Thùy Trâm"
    assert fold(unicodedata.normalize("NFD", name)) == fold(name) == fold(fold(name))


def test_name_key_equates_spellings_but_keeps_tones() -> None:
    assert name_key("Xã Đàm Thuỷ") == name_key("xã đàm thủy")
    assert name_key("Xã Chân Mây – Lăng Cô") == name_key("Xã Chân Mây - Lăng Cô")
    assert name_key("Xã Ea H'Leo") == name_key("Xã Ea H’leo")
    assert name_key("Xã Ba Tơ") != name_key("Xã Ba Tô")


def test_every_kind_has_labels_and_consistent_levels() -> None:
    assert set(UNIT_KINDS) == set(UnitKind)
    for kind, info in UNIT_KINDS.items():
        assert info.label and info.label_en
        for parent in info.parents:
            assert UNIT_KINDS[parent].level < info.level, kind
    assert UNIT_KINDS[UnitKind.CITY].label == "Thành phố"
    assert UNIT_KINDS[UnitKind.SPECIAL_ZONE].label == "Đặc khu"
    assert UNIT_KINDS[UnitKind.DISTRICT].historical


@pytest.mark.parametrize(
    ("parent", "child", "allowed"),
    [
        (UnitKind.PROVINCE, UnitKind.COMMUNE, True),
        (UnitKind.CITY, UnitKind.WARD, True),
        (UnitKind.PROVINCE, UnitKind.SPECIAL_ZONE, True),
        (UnitKind.PROVINCE, UnitKind.DISTRICT, True),
        (UnitKind.COMMUNE, UnitKind.VILLAGE, True),
        (UnitKind.WARD, UnitKind.RESIDENTIAL_GROUP, True),
        (UnitKind.PROVINCE, UnitKind.VILLAGE, False),
        (UnitKind.DISTRICT, UnitKind.COMMUNE, False),
        (UnitKind.COMMUNE, UnitKind.COMMUNE, False),
        (UnitKind.VILLAGE, UnitKind.VILLAGE, False),
    ],
)
def test_may_contain(parent: UnitKind, child: UnitKind, allowed: bool) -> None:
    assert may_contain(parent, child) is allowed


def test_display_name() -> None:
    assert display_name(UnitKind.PROVINCE, "Quảng Ngãi") == "Tỉnh Quảng Ngãi"
    assert display_name(UnitKind.CITY, "Thành phố Hà Nội") == "Thành phố Hà Nội"
    assert display_name(UnitKind.COMMUNE, "Xã Ba Tơ") == "Xã Ba Tơ"
    assert display_name(UnitKind.DISTRICT, "Thị xã Đức Phổ") == "Thị xã Đức Phổ"


def test_paths() -> None:
    province = make_path(None, "51")
    commune = make_path(province, "21484")
    assert (province, commune) == ("/51/", "/51/21484/")
    assert path_codes(commune) == ["51", "21484"]
    assert ancestor_paths("/51/21484/21484.001/") == ["/51/", "/51/21484/"]
    assert ancestor_paths("/51/") == []
    assert is_within(commune, province) and is_within(commune, commune)
    assert not is_within("/51/21484/", "/51/2148/")
    assert rebase_path("/51/21484/21484.001/", "/51/21484/", "/52/21484/") == "/52/21484/21484.001/"
    with pytest.raises(ValueError):
        make_path("/51/", "a/b")
    with pytest.raises(ValueError):
        rebase_path("/52/x/", "/51/", "/1/")


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def test_village_csv_valid_rows() -> None:
    rows = read_village_csv(
        _csv("\ufeffTên,Loại,Mã\nGò Da,thôn,\nThôn Làng Mạ,,\nTổ dân phố 3,,TDP3\n\nHuy Ba,tdp,\n")
    )
    assert rows == [
        VillageRow(2, "Thôn Gò Da", UnitKind.VILLAGE, ""),
        VillageRow(3, "Thôn Làng Mạ", UnitKind.VILLAGE, ""),
        VillageRow(4, "Tổ dân phố 3", UnitKind.RESIDENTIAL_GROUP, "TDP3"),
        VillageRow(6, "Tổ dân phố Huy Ba", UnitKind.RESIDENTIAL_GROUP, ""),
    ]


def test_village_csv_semicolons_and_plain_headers() -> None:
    rows = read_village_csv(_csv("ten;loai\nNước Lầy;bản\nKhóm 1;\n"))
    assert [(r.name, r.kind) for r in rows] == [
        ("Bản Nước Lầy", UnitKind.VILLAGE),
        ("Khóm 1", UnitKind.RESIDENTIAL_GROUP),
    ]


def test_village_csv_reports_every_bad_row_in_vietnamese() -> None:
    data = _csv(
        "ten,loai,ma\n"
        "Thôn 1,,\n"  # ok
        ",thôn,\n"  # missing name
        "Gò Da,trại,\n"  # unknown kind
        "Thôn 1,,\n"  # duplicate of line 2
        "Làng Mới,,a b\n"  # bad code
        "Nước Nẻ,,\n" + "X" * 201 + ",thôn,\n"  # kind unknown from the name
    )
    with pytest.raises(InvalidInput) as caught:
        read_village_csv(data)
    err = caught.value
    assert "6 dòng lỗi" in err.message and "chưa có dữ liệu nào được ghi" in err.message
    by_row = {(d["row"], d["field"]): d["message"] for d in err.details}
    assert by_row[(3, "ten")] == "Thiếu tên thôn/tổ dân phố."
    assert "Loại «trại» không hợp lệ" in by_row[(4, "loai")]
    assert by_row[(5, "ten")] == "Trùng tên với dòng 2."
    assert "Mã «a b» không hợp lệ" in by_row[(6, "ma")]
    assert "hãy điền cột «loai»" in by_row[(7, "loai")]
    assert "dài quá 200" in by_row[(8, "ten")]
    assert 2 not in {d["row"] for d in err.details}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "csv_empty"),
        (b"ten,loai\n", "csv_empty"),
        (b"name_x,loai\nThon 1,thon\n", "csv_header"),
        ("ten\nThôn Gò\n".encode("utf-16"), "csv_encoding"),
        ("ten\nThôn Đông\n".encode("cp1258"), "csv_encoding"),
    ],
)
def test_village_csv_file_level_errors(data: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_village_csv(data)
    assert caught.value.code == code
    assert caught.value.message  # Vietnamese sentence for the person
