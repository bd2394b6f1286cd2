"""Focused tables per rule class; each row is the input and its full spoken form."""

from __future__ import annotations

import pytest

from loa.speech.normalize import ReadingStyle, normalize


def read(text: str) -> str:
    return normalize(text).text


def table(*rows: tuple[str, str]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(("text", "expected"), rows, ids=[r[0] for r in rows])


@table(
    ("29/4/2020", "ngày hai mươi chín tháng tư năm hai nghìn không trăm hai mươi."),
    ("ngày 29/4/2020", "ngày hai mươi chín tháng tư năm hai nghìn không trăm hai mươi."),
    ("ngày 01/01/2024", "ngày một tháng một năm hai nghìn không trăm hai mươi tư."),
    ("mùng 5/5", "mùng năm tháng năm."),
    ("ngày 29/4", "ngày hai mươi chín tháng tư."),
    ("sáng 15/3", "sáng ngày mười lăm tháng ba."),
    ("ngày 29-4-2020", "ngày hai mươi chín tháng tư năm hai nghìn không trăm hai mươi."),
    ("ngày 12.10.2024.", "ngày mười hai tháng mười năm hai nghìn không trăm hai mươi tư."),
    ("ngày 15-16/3", "ngày mười lăm đến ngày mười sáu tháng ba."),
    (
        "từ 15/3-20/3/2024",
        "từ ngày mười lăm tháng ba đến ngày hai mươi tháng ba năm hai nghìn không trăm hai mươi tư.",
    ),
    ("tháng 01/2024", "tháng một năm hai nghìn không trăm hai mươi tư."),
    ("trong 12/2024", "trong tháng mười hai năm hai nghìn không trăm hai mươi tư."),
    ("quý I/2024", "quý một năm hai nghìn không trăm hai mươi tư."),
    ("quý 2/2024", "quý hai năm hai nghìn không trăm hai mươi tư."),
    ("tháng 4", "tháng tư."),
    ("ngày 25-3", "ngày hai mươi lăm tháng ba."),
    ("2/3 số hộ", "hai phần ba số hộ."),
    ("có 3/5 thôn", "có ba trên năm thôn."),
    ("tỷ lệ 3/45 xã", "tỷ lệ ba trên bốn mươi lăm xã."),
)
def test_dates(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("7h30", "bảy giờ ba mươi phút."),
    ("7h30'", "bảy giờ ba mươi phút."),
    ("7g30", "bảy giờ ba mươi phút."),
    ("07:30", "bảy giờ ba mươi phút."),
    ("17h", "mười bảy giờ."),
    ("17h00", "mười bảy giờ."),
    ("7h05", "bảy giờ năm phút."),
    ("14 giờ 30 phút", "mười bốn giờ ba mươi phút."),
    ("07:30:15", "bảy giờ ba mươi phút mười lăm giây."),
    ("7h-11h30", "bảy giờ đến mười một giờ ba mươi phút."),
    ("tỷ lệ 1:500", "tỷ lệ một: năm trăm."),
)
def test_times(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("thứ 2", "thứ hai."),
    ("thứ 1", "thứ nhất."),
    ("thứ 4", "thứ tư."),
    ("thứ 7", "thứ bảy."),
    ("kỳ họp thứ 8", "kỳ họp thứ tám."),
    ("lần thứ 14", "lần thứ mười bốn."),
    ("từ thứ 2-6", "từ thứ hai đến thứ sáu."),
)
def test_ordinals(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("chương II", "chương hai."),
    ("thế kỷ XXI", "thế kỷ hai mươi mốt."),
    ("khóa XIII", "khóa mười ba."),
    ("khoá XV", "khóa mười lăm."),
    ("quý IV", "quý bốn."),
    ("phần I", "phần một."),
    ("mục II", "mục hai."),
    ("lần thứ XIII", "lần thứ mười ba."),
    ("lần thứ I", "lần thứ nhất."),
    ("I. MỤC ĐÍCH", "một. mục đích."),
    ("I am here", "I am here."),
    ("nhóm C", "nhóm xê."),
)
def test_roman_numerals_only_in_context(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("3-5 tin", "ba đến năm tin."),
    ("2020-2025", "hai nghìn không trăm hai mươi đến hai nghìn không trăm hai mươi lăm."),
    ("3 - 5 người", "ba đến năm người."),
    ("10-15%", "mười đến mười lăm phần trăm."),
    ("100-200mm", "một trăm đến hai trăm mi li mét."),
    ("tỷ số 2-1", "tỷ số hai một."),
)
def test_ranges(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("4mx6m", "bốn mét nhân sáu mét."),
    ("1,8mx 1,2m", "một phẩy tám mét nhân một phẩy hai mét."),
    ("2m x0,8m", "hai mét nhân không phẩy tám mét."),
    ("2mx3mx1,5m", "hai mét nhân ba mét nhân một phẩy năm mét."),
    ("200mm", "hai trăm mi li mét."),
    ("35°C", "ba mươi lăm độ xê."),
    ("35 độ C", "ba mươi lăm độ xê."),
    ("30oC", "ba mươi độ xê."),
    ("-2°C", "âm hai độ xê."),
    ("3,5 ha", "ba phẩy năm héc ta."),
    ("12 km", "mười hai ki lô mét."),
    ("45 km2", "bốn mươi lăm ki lô mét vuông."),
    ("45 km²", "bốn mươi lăm ki lô mét vuông."),
    ("100 m2", "một trăm mét vuông."),
    ("850 m³/s", "tám trăm năm mươi mét khối một giây."),
    ("9,5 kg", "chín phẩy năm ki lô gam."),
    ("30 tấn", "ba mươi tấn."),
    ("16 lít", "mười sáu lít."),
    ("50 km/h", "năm mươi ki lô mét một giờ."),
    ("20.000 đồng/kg", "hai mươi nghìn đồng một ki lô gam."),
    ("1.500.000 đồng/người/tháng", "một triệu năm trăm nghìn đồng một người một tháng."),
    ("99,5 MHz", "chín mươi chín phẩy năm mê ga héc."),
    ("60W", "sáu mươi oát."),
    ("1.250 triệu kWh", "một nghìn hai trăm năm mươi triệu ki lô oát giờ."),
)
def test_measurements(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("98,5%", "chín mươi tám phẩy năm phần trăm."),
    ("2.500.000 đồng", "hai triệu năm trăm nghìn đồng."),
    ("5.000.000đ", "năm triệu đồng."),
    ("25.450 VNĐ", "hai mươi lăm nghìn bốn trăm năm mươi đồng."),
    ("1,5 tỷ USD", "một phẩy năm tỷ đô la Mỹ."),
    ("0,5‰", "không phẩy năm phần nghìn."),
    ("$100 và €5", "một trăm đô la và năm ơ rô."),
)
def test_percent_and_currency(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("0912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám."),
    ("0912345678", "không chín một hai, ba bốn năm, sáu bảy tám."),
    ("0255.3822.123", "không hai năm năm, ba tám hai hai, một hai ba."),
    ("(0255) 3822123", "không hai năm năm, ba tám hai, hai một hai ba."),
    ("+84 912 345 678", "cộng tám bốn, chín một hai, ba bốn năm, sáu bảy tám."),
    ("1900 1234", "một chín không không, một hai ba bốn."),
    ("gọi 113", "gọi một một ba."),
    ("113, 114, 115", "một một ba, một một bốn, một một năm."),
    ("đường dây nóng 1022", "đường dây nóng một không hai hai."),
    ("có 113 hộ", "có một trăm mười ba hộ."),
    ("mã số thuế 4300123456", "mã số thuế bốn ba không không một hai ba bốn năm sáu."),
)
def test_phone_numbers(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("56/KH-UBND", "số năm mươi sáu, kế hoạch, ủy ban nhân dân."),
    ("số 56/KH-UBND", "số năm mươi sáu, kế hoạch, ủy ban nhân dân."),
    ("30/2020/NĐ-CP", "số ba mươi, năm hai nghìn không trăm hai mươi, nghị định, chính phủ."),
    ("135/QĐ-BTTTT", "số một trăm ba mươi lăm, quyết định, bộ thông tin và truyền thông."),
    ("01/CT-TTg", "số một, chỉ thị, thủ tướng chính phủ."),
    ("12/NQ-HĐND", "số mười hai, nghị quyết, hội đồng nhân dân."),
    ("45/BC-UBND", "số bốn mươi lăm, báo cáo, ủy ban nhân dân."),
    ("12/TB-UBND", "số mười hai, thông báo, ủy ban nhân dân."),
    ("123/UBND-VX", "số một trăm hai mươi ba, ủy ban nhân dân, văn xã."),
    (
        "15/2023/TT-BTTTT",
        "số mười lăm, năm hai nghìn không trăm hai mươi ba, thông tư, bộ thông tin và truyền thông.",
    ),
    ("57-NQ/TW", "số năm mươi bảy, nghị quyết, trung ương."),
    ("24/2018/QH14", "số hai mươi tư, năm hai nghìn không trăm mười tám, quốc hội khóa mười bốn."),
    ("10/2023/TT-BCT", "số mười, năm hai nghìn không trăm hai mươi ba, thông tư, bộ công thương."),
)
def test_document_codes(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("ubnd@quangngai.gov.vn", "u bê en nờ dê a còng quang ngai chấm gờ o vê chấm vi en."),
    ("https://dichvucong.gov.vn", "dich vu cong chấm gờ o vê chấm vi en."),
    ("www.baoquangngai.vn", "vê kép vê kép vê kép chấm bao quang ngai chấm vi en."),
    ("lienhe2024@gmail.com", "lien he hai không hai bốn a còng gờ meo chấm com."),
)
def test_links(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("UBND xã", "ủy ban nhân dân xã."),
    ("HĐND tỉnh", "hội đồng nhân dân tỉnh."),
    ("công tác CCHC", "công tác cải cách hành chính."),
    ("TDP 3", "tổ dân phố ba."),
    ("KT-XH", "kinh tế xã hội."),
    ("Sở LĐTB&XH", "Sở lao động thương binh và xã hội."),
    ("Sở TN&MT", "Sở tài nguyên và môi trường."),
    ("Sở NN&PTNT", "Sở nông nghiệp và phát triển nông thôn."),
    ("Sở GD&ĐT", "Sở giáo dục và đào tạo."),
    ("Sở VH-TT-DL", "Sở văn hóa thể thao và du lịch."),
    ("QĐ-UBND", "quyết định ủy ban nhân dân."),
    ("TP. Hồ Chí Minh", "thành phố Hồ Chí Minh."),
    ("Tp. Quảng Ngãi", "thành phố Quảng Ngãi."),
    ("P. Trần Phú", "phường Trần Phú."),
    ("Q.1", "quận một."),
    ("đ/c Hùng", "đồng chí Hùng."),
    ("CÔNG AN XÃ", "công an xã."),
    ("lực lượng CA xã", "lực lượng công an xã."),
    ("mức BĐ2", "mức báo động hai."),
    ("lớp 12A1", "lớp mười hai a một."),
    ("mạng 4G", "mạng bốn gờ."),
    ("Y tế xã", "Y tế xã."),
    ("Nguyễn Văn B", "Nguyễn Văn bê."),
)
def test_abbreviations(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("Kinh tế - xã hội", "Kinh tế, xã hội."),
    ("“Đem một việc gì nói cho dân hiểu”.", "Đem một việc gì nói cho dân hiểu."),
    ("- Gạch đầu dòng", "Gạch đầu dòng."),
    ("+ Dấu cộng đầu dòng", "Dấu cộng đầu dòng."),
    ("trực quan… . phù hợp", "trực quan. phù hợp."),
    ("Đồng chí:…………………", "Đồng chí."),
    ("Vì sao?!", "Vì sao?"),
    ("Nam & nữ", "Nam và nữ."),
    ("Truyền thông-Văn hoá", "Truyền thông Văn hóa."),
    ("(kích thước 4mx6m)", "kích thước bốn mét nhân sáu mét."),
)
def test_punctuation(text: str, expected: str) -> None:
    assert read(text) == expected


def test_segments_carry_pauses() -> None:
    result = normalize("Kính thưa: các đồng chí, đại biểu; hội nghị.\nXin cảm ơn!")
    assert result.segments == [
        ("Kính thưa", 300),
        ("các đồng chí", 250),
        ("đại biểu", 500),
        ("hội nghị", 800),
        ("Xin cảm ơn", 0),
    ]
    assert result.text == "Kính thưa: các đồng chí, đại biểu; hội nghị.\nXin cảm ơn!"


def test_paragraphs_and_soft_line_breaks() -> None:
    text = "Các đồng chí lãnh\nđạo Ủy ban nhân dân huyện\n\nKÍNH THƯA HỘI NGHỊ"
    result = normalize(text)
    assert result.text == "Các đồng chí lãnh đạo Ủy ban nhân dân huyện.\nkính thưa hội nghị."
    assert [s.pause_ms for s in result.segments] == [800, 0]


def test_crlf_input() -> None:
    assert read("Dòng một\r\nDòng hai") == "Dòng một.\nDòng hai."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hoà bình", "hòa bình."),
        ("khoẻ mạnh", "khỏe mạnh."),
        ("thuỷ lợi", "thủy lợi."),
        ("Uỷ ban", "Ủy ban."),
        ("quý vị", "quý vị."),
        ("hoàng hôn", "hoàng hôn."),
        ("CỘNG HOÀ", "cộng hòa."),
    ],
)
def test_tone_placement_is_consistent(text: str, expected: str) -> None:
    assert read(text) == expected


def test_decomposed_input_reads_like_composed() -> None:
    import unicodedata

    composed = "Ủy ban nhân dân xã Ba Tơ hỗ trợ 1.250 hộ"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalize(decomposed).text == normalize(composed).text
    assert normalize(decomposed).source == composed


def test_southern_style_in_text() -> None:
    result = normalize("Hỗ trợ 1.005 hộ", style=ReadingStyle.south())
    assert result.text == "Hỗ trợ một ngàn không trăm lẻ năm hộ."


@table(
    ("Tăng trưởng -1,5%", "Tăng trưởng âm một phẩy năm phần trăm."),
    ("lợi nhuận -3,2 tỷ đồng", "lợi nhuận âm ba phẩy hai tỷ đồng."),
    ("số dư −25 triệu đồng", "số dư âm hai mươi lăm triệu đồng."),
    ("(+0,5m so với BĐ2)", "cộng không phẩy năm mét so với báo động hai."),
    ("- 5 hộ", "năm hộ."),
    ("năm 2020 - 2021", "năm hai nghìn không trăm hai mươi đến hai nghìn không trăm hai mươi mốt."),
    ("từ 10 -15 hộ", "từ mười đến mười lăm hộ."),
)
def test_signs(text: str, expected: str) -> None:
    assert read(text) == expected


def test_a_dash_glued_to_a_number_at_line_start_is_a_flagged_sign() -> None:
    result = normalize("-5 hộ")
    assert result.text == "âm năm hộ."
    assert result.unreadable[0].token == "-" and not result.unreadable[0].left_in_text


@table(
    ("từ 1.000.000 đồng - 2.000.000 đồng", "từ một triệu đồng đến hai triệu đồng."),
    ("200.000đ-500.000đ", "hai trăm nghìn đồng đến năm trăm nghìn đồng."),
    ("5kg-10kg", "năm ki lô gam đến mười ki lô gam."),
    ("2 triệu - 3 triệu đồng", "hai triệu đến ba triệu đồng."),
    ("15,8°N - 109,5°E", "mười lăm phẩy tám độ vĩ bắc, một trăm linh chín phẩy năm độ kinh đông."),
    ("12V - 100Ah", "mười hai vôn, một trăm am pe giờ."),
)
def test_ranges_with_units_on_both_ends(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("giảm 2/5", "giảm hai phần năm."),
    ("3 1/4", "ba và một phần tư."),
    ("1/4kg", "một phần tư ki lô gam."),
    ("chiếm 1/4 số trẻ", "chiếm một phần tư số trẻ."),
    ("uống 1/2 viên", "uống một phần hai viên."),
    ("đạt 18/18 xã", "đạt mười tám trên mười tám xã."),
    ("140/90 mmHg", "một trăm bốn mươi trên chín mươi mi li mét thủy ngân."),
    ("trực 24/7", "trực hai mươi tư trên bảy."),
    ("Quốc khánh 2/9", "Quốc khánh ngày hai tháng chín."),
)
def test_fractions_and_dates_by_context(text: str, expected: str) -> None:
    result = normalize(text)
    assert result.text == expected
    assert result.unreadable == []


@pytest.mark.parametrize(
    ("text", "reading", "reason"),
    [
        ("Hạn chót nộp 1/6.", "ngày một tháng sáu", "ngày tháng hay phân số"),
        ("Thôn 2/5 nhận quà", "hai trên năm", "ngày tháng hay tỷ số"),
    ],
)
def test_a_guess_between_date_and_fraction_is_flagged(text: str, reading: str, reason: str) -> None:
    result = normalize(text)
    assert reading in result.text
    assert len(result.unreadable) == 1 and reason in result.unreadable[0].reason
    assert not result.unreadable[0].left_in_text


@table(
    ("20$", "hai mươi đô la."),
    ("$100", "một trăm đô la."),
    ("5.000₫", "năm nghìn đồng."),
    ("50 usd", "năm mươi đô la Mỹ."),
    ("giá tính bằng €", "giá tính bằng ơ rô."),
    ("30°c", "ba mươi độ xê."),
    ("380v", "ba trăm tám mươi vôn."),
    ("4gb", "bốn gi ga bai."),
    ("12 mA", "mười hai mi li am pe."),
    ("15p", "mười lăm phút."),
    ("2p30s", "hai phút ba mươi giây."),
    ("45s", "bốn mươi lăm giây."),
    ("990mb", "chín trăm chín mươi mi li ba."),
    ("965 hPa", "chín trăm sáu mươi lăm héc tô pát xcan."),
    ("1.893 đồng/kWh", "một nghìn tám trăm chín mươi ba đồng một ki lô oát giờ."),
    ("150mm/3h", "một trăm năm mươi mi li mét trong ba giờ."),
    ("100.000/mm3", "một trăm nghìn trên mi li mét khối."),
    ("220V/50Hz", "hai trăm hai mươi vôn, năm mươi héc."),
    ("Km12+500", "ki lô mét mười hai cộng năm trăm."),
)
def test_currency_and_units_in_other_forms(text: str, expected: str) -> None:
    result = normalize(text)
    assert result.text == expected
    assert result.unreadable == []


@table(
    ("thế kỉ XX", "thế kỉ hai mươi."),
    ("thế kỉ xxi", "thế kỉ hai mươi mốt."),
    ("chương iv", "chương bốn."),
    ("khoản IV", "khoản bốn."),
    ("Mục ii", "Mục hai."),
    ("Phần iii: tổ chức thực hiện", "Phần ba: tổ chức thực hiện."),
    ("vi phạm", "vi phạm."),
)
def test_roman_numerals_after_trigger_words(text: str, expected: str) -> None:
    assert read(text) == expected


@table(
    ("192.168.1.10", "một trăm chín mươi hai chấm một trăm sáu mươi tám chấm một chấm mười."),
    ("10.0.0.5:1883", "mười chấm không chấm không chấm năm cổng một nghìn tám trăm tám mươi ba."),
    ("phiên bản 2.1.9", "phiên bản hai chấm một chấm chín."),
    ("1.250.000.000 đồng", "một tỷ hai trăm năm mươi triệu đồng."),
    ("+84 912 345 678", "cộng tám bốn, chín một hai, ba bốn năm, sáu bảy tám."),
    ("+1 202 555 0100", "cộng một, hai không hai, năm năm năm, không một không không."),
    ("Gọi 0123456789", "Gọi không một hai ba, bốn năm sáu, bảy tám chín."),
    ("Mã số thuế 4300123456", "Mã số thuế bốn ba không không một hai ba bốn năm sáu."),
    ("vốn 1500000000 đồng", "vốn một tỷ năm trăm triệu đồng."),
    ("(0255) 3 822 345", "không hai năm năm, ba, tám hai hai, ba bốn năm."),
)
def test_addresses_phone_numbers_and_long_digit_strings(text: str, expected: str) -> None:
    result = normalize(text)
    assert result.text == expected
    assert result.unreadable == []


def test_a_long_digit_string_without_context_is_spelled_and_flagged() -> None:
    result = normalize("Nhận được 12345678901 trong tháng")
    assert "một hai ba bốn năm sáu bảy tám chín không một" in result.text
    assert "số tiền hay mã số" in result.unreadable[0].reason


def test_a_roman_numeral_without_trigger_is_read_and_flagged() -> None:
    result = normalize("Xăng RON 95-III")
    assert result.text == "Xăng ron chín mươi lăm ba."
    assert result.unreadable[0].token == "III" and "La Mã" in result.unreadable[0].reason
