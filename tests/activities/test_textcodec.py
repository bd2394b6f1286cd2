"""Decoding uploaded text: UTF-8 (± BOM), Windows-1258, TCVN3 and its UTF-8 mojibake; clear errors."""

from __future__ import annotations

import unicodedata

import pytest

from loa.activities.textcodec import (
    decode_tcvn3,
    decode_text,
    encode_cp1258,
    encode_tcvn3,
    repair_tcvn3_mojibake,
)
from loa.errors import InvalidInput

# Lower case only: TCVN3 has no upper-case toned letters (those were a separate .VnTimeH font).
TEXT = (
    "đặt tại ngã tư trụ đèn giao thông; dọc con lươn đường phạm văn đồng; cải cách hành chính; "
    "ủy ban nhân dân xã ba tơ; thôn gò khế, tổ dân phố mới; phướn, băng rôn, pa nô, bảng tin; "
    "ữ ỹ ỵ ặ ẫ ẳ ẵ ẻ ẽ ể ỉ ĩ ỏ ổ ỡ ở ủ ũ ử ỷ"
)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "UTF-8"),
        (TEXT.encode("utf-8-sig"), "UTF-8 (BOM)"),
        (unicodedata.normalize("NFD", TEXT).encode("utf-8"), "UTF-8"),
        (encode_cp1258(TEXT), "Windows-1258"),
        (encode_tcvn3(TEXT), "TCVN3 (ABC)"),
        (encode_tcvn3(TEXT).decode("cp1252", errors="replace").encode("utf-8"), "TCVN3 (ABC) lưu qua UTF-8"),
    ],
    ids=["utf8", "utf8-bom", "utf8-nfd", "cp1258", "tcvn3", "tcvn3-mojibake"],
)
def test_each_encoding_decodes_to_the_same_nfc_text(data: bytes, encoding: str) -> None:
    decoded = decode_text(data)
    assert decoded.encoding == encoding
    assert decoded.text == TEXT
    assert unicodedata.is_normalized("NFC", decoded.text)


def test_cp1258_uses_combining_tone_marks_that_are_normalised() -> None:
    raw = encode_cp1258("Cải cách")
    assert b"\xd2" in raw  # U+0309 (hook above) as its own byte after the base letter
    assert decode_text(raw).text == "Cải cách"


def test_tcvn3_table_covers_typical_bytes() -> None:
    assert decode_tcvn3(b"Ph\xb9m V\xa8n \xa7\xe5ng") == "Phạm Văn Đồng"
    assert decode_tcvn3(b"B\xb8o c\xb8o") == "Báo cáo"
    assert repair_tcvn3_mojibake("Ph¹m V¨n §ång") == "Phạm Văn Đồng"


def test_double_encoded_utf8_is_repaired() -> None:
    original = "Đường Phạm Văn Đồng"
    mojibake = "".join(
        bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else chr(b)
        for b in original.encode("utf-8")
    )
    assert decode_text(mojibake.encode("utf-8")).text == original


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "not_text"),
        (b"lo\x00ai,dia diem", "not_text"),
        (b"\x81\x8d\x8f\x90\x9d\x81\x8d", "unknown_encoding"),
        ("Ã¡ Ã  ©®±¼½¾".encode(), "mojibake"),
        (b"\xef\xbb\xbfabc\xff\xfe", "bad_encoding"),
    ],
)
def test_undecodable_text_is_refused_with_a_named_problem(data: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_text(data)
    assert info.value.code == code
    assert "CSV" in info.value.message or "bảng mã" in info.value.message
