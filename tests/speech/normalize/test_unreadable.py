"""The "khó đọc" list, overrides, the abbreviation dictionary and bad input."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pytest

from loa.errors import InvalidInput
from loa.speech.normalize import Unreadable, load_abbreviations, normalize, parse_overrides
from loa.speech.normalize.abbreviations import DOC_TYPE


def test_unknown_abbreviation_is_left_visible_and_reported() -> None:
    result = normalize("Theo XYZT và CCHC")
    assert result.text == "Theo XYZT và cải cách hành chính."
    assert result.unreadable == [Unreadable("XYZT", 5, 9, "Từ viết tắt chưa có trong từ điển")]
    assert result.source[5:9] == "XYZT"


def test_mixed_letters_and_digits_are_reported() -> None:
    result = normalize("Mã lỗi 2xb3 và A1B2C3")
    tokens = {item.token: item.reason for item in result.unreadable}
    assert "2xb3" in result.text
    assert tokens["2xb3"] == "Chữ và số lẫn lộn, không đọc được"
    assert "A1B2C3" in tokens


@pytest.mark.parametrize(
    ("text", "token", "script"),
    [
        ("Xin chào 你好 bạn", "你好", "chữ Hán"),
        ("Chào សួស្តី", "សួស្តី", "chữ Khmer"),
        ("Привет", "Привет", "chữ Kirin"),
    ],
)
def test_foreign_scripts_are_reported_not_crashing(text: str, token: str, script: str) -> None:
    result = normalize(text)
    assert [item.token for item in result.unreadable] == [token]
    assert script in result.unreadable[0].reason
    assert token in result.text
    start = result.unreadable[0].start
    assert result.source[start : result.unreadable[0].end] == token


def test_emoji_is_reported() -> None:
    result = normalize("Chúc mừng năm mới 🎉🎉")
    assert result.unreadable == [Unreadable("🎉🎉", 18, 20, "Biểu tượng cảm xúc (emoji) không đọc được")]


def test_ambiguous_abbreviation_is_read_and_flagged() -> None:
    result = normalize("Trung tâm TT-VH-TT huyện")
    assert result.text == "Trung tâm truyền thông văn hóa thể thao huyện."
    assert len(result.unreadable) == 1
    reason = result.unreadable[0].reason
    assert "nhiều nghĩa" in reason and "thông tin văn hóa thể thao" in reason
    assert not result.unreadable[0].left_in_text


def test_impossible_date_is_read_by_numbers_and_flagged() -> None:
    result = normalize("ngày 32/13/2024")
    assert result.text == "ngày ba mươi hai trên mười ba trên hai nghìn không trăm hai mươi tư."
    assert result.unreadable == [
        Unreadable("32/13/2024", 5, 15, "Ngày tháng không hợp lệ, đã đọc từng số", left_in_text=False)
    ]


def test_override_resolves_ambiguity_and_silences_the_report() -> None:
    overrides = {"TT-VH-TT": "thông tin văn hóa thể thao"}
    result = normalize("Trung tâm TT-VH-TT huyện", overrides=overrides)
    assert result.text == "Trung tâm thông tin văn hóa thể thao huyện."
    assert result.unreadable == []


def test_override_teaches_a_new_abbreviation_and_a_code_part() -> None:
    overrides = {"PAR": "pa", "QNg": "quảng ngãi"}
    result = normalize("Chỉ số PAR; văn bản 12/UBND-QNg", overrides=overrides)
    assert result.text == "Chỉ số pa; văn bản số mười hai, ủy ban nhân dân, quảng ngãi."
    assert result.unreadable == []


def test_override_wins_over_the_dictionary() -> None:
    assert normalize("BTC", overrides={"BTC": "bộ tài chính"}).text == "bộ tài chính."


def test_parse_overrides() -> None:
    text = (
        "# cách đọc riêng của xã Ba Tơ\nTT-VH-TT = thông tin  văn hóa thể thao\n\nBTC=ban tổ chức # hội thi\n"
    )
    assert parse_overrides(text) == {"TT-VH-TT": "thông tin văn hóa thể thao", "BTC": "ban tổ chức"}


def test_parse_overrides_reports_every_bad_line_in_vietnamese() -> None:
    text = "TT-VH-TT thông tin\n= không có khóa\nHAI TỪ = x\nUBND =\nKH = kế hoạch 2024\nBTC = a\nBTC = b\n"
    with pytest.raises(InvalidInput) as caught:
        parse_overrides(text)
    lines = [item["line"] for item in caught.value.details]
    assert lines == [1, 2, 3, 4, 5, 7]
    assert "dòng 1: thiếu dấu “=”" in caught.value.message


def test_dictionary_shape() -> None:
    abbreviations = load_abbreviations()
    assert len(abbreviations) >= 300
    for entry in abbreviations.entries:
        assert entry.expansion == unicodedata.normalize("NFC", entry.expansion)
        assert not any(c.isdigit() for c in entry.expansion), entry
        assert entry.expansion == entry.expansion.strip() and entry.source
    # Every document type of Decree 30/2020/NĐ-CP, Appendix III.
    decree_types = {
        "NQ", "QĐ", "CT", "QC", "QyĐ", "TC", "TB", "HD", "CTr", "KH", "PA", "ĐA", "DA", "BC", "BB", "TTr",
        "HĐ", "CĐ", "BGN", "BTT", "GUQ", "GM", "GGT", "GNP", "PG", "PC", "PB",
    }  # fmt: skip
    doc_types = {e.abbreviation for e in abbreviations.entries if e.domain == DOC_TYPE}
    assert decree_types <= doc_types
    for required in (
        "UBND",
        "HĐND",
        "CCHC",
        "TDP",
        "MTTQ",
        "BCĐ",
        "CNTT",
        "THPT",
        "BHYT",
        "PCCC",
        "TTHC",
        "NTM",
    ):
        assert required in abbreviations, required


def test_custom_dictionary_file(tmp_path: Path) -> None:
    good = tmp_path / "extra.tsv"
    good.write_text("# thử\nQNg\tquảng ngãi\tdia-danh\tthử nghiệm\n", "utf-8")
    custom = load_abbreviations(good)
    assert normalize("QNg", abbreviations=custom).text == "quảng ngãi."
    bad = tmp_path / "bad.tsv"
    bad.write_text("QNg\tquảng ngãi\n", "utf-8")
    with pytest.raises(InvalidInput, match="dòng 1"):
        load_abbreviations(bad)
    with pytest.raises(InvalidInput, match="Không đọc được"):
        load_abbreviations(tmp_path / "missing.tsv")


# --- Bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "“” … - +"])
def test_empty_or_blank_text_gives_an_empty_result(text: str) -> None:
    result = normalize(text)
    assert result.text == "" and result.segments == [] and result.unreadable == []
    assert result.is_empty


def test_non_text_input_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="phải là văn bản"):
        normalize(b"UBND")  # type: ignore[arg-type]


def test_oversized_text_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="quá dài"):
        normalize("a" * 5_000_001)


def test_one_megabyte_is_linear_and_bounded() -> None:
    paragraph = (
        "Theo Kế hoạch 56/KH-UBND ngày 29/4/2020 của UBND tỉnh, từ 7h30 ngày 15-16/3 xã tổ chức "
        "tuyên truyền CCHC cho 1.250 hộ (98,5%); nhiệt độ 35°C, lượng mưa 200mm. Gọi 0912 345 678.\n"
    )
    small = paragraph * 500
    large = paragraph * 5_000
    assert len(large.encode()) > 1_000_000

    def seconds(text: str) -> float:
        begin = time.perf_counter()
        normalize(text)
        return time.perf_counter() - begin

    small_time = min(seconds(small) for _ in range(2))
    large_time = seconds(large)
    assert large_time < 20 * small_time + 0.5  # 10× the text must not cost ~100× (no quadratic blow-up)
    assert large_time < 10  # generous bound for a loaded CI machine


def test_pathological_inputs_do_not_hang() -> None:
    for text in ("1" * 200_000, "A" * 200_000, "/" * 100_000, "1.2" * 50_000, "a@b." * 20_000, "-" * 100_000):
        begin = time.perf_counter()
        normalize(text)
        assert time.perf_counter() - begin < 5, text[:10]
