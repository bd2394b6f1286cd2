"""Units of measure and currency written after numbers, and "per" units after a slash."""

from __future__ import annotations

import re

# Written after a number (with or without a space). Case matters: "MW" is megawatt, "mW" is not listed.
UNITS: dict[str, str] = {
    "mm": "mi li mét", "cm": "xăng ti mét", "dm": "đề xi mét", "m": "mét", "km": "ki lô mét",
    "mm2": "mi li mét vuông", "mm²": "mi li mét vuông",
    "cm2": "xăng ti mét vuông", "cm²": "xăng ti mét vuông",
    "m2": "mét vuông", "m²": "mét vuông", "km2": "ki lô mét vuông", "km²": "ki lô mét vuông",
    "m3": "mét khối", "m³": "mét khối", "cm3": "xăng ti mét khối", "cm³": "xăng ti mét khối",
    "ha": "héc ta", "mg": "mi li gam", "g": "gam", "kg": "ki lô gam", "l": "lít", "ml": "mi li lít",
    "W": "oát", "kW": "ki lô oát", "kWh": "ki lô oát giờ", "MW": "mê ga oát", "MWh": "mê ga oát giờ",
    "GW": "gi ga oát", "V": "vôn", "kV": "ki lô vôn", "kVA": "ki lô vôn am pe",
    "Hz": "héc", "kHz": "ki lô héc", "MHz": "mê ga héc", "dB": "đề xi ben",
    "KB": "ki lô bai", "MB": "mê ga bai", "GB": "gi ga bai", "TB": "tê ra bai",
    "Mbps": "mê ga bít trên giây", "Gbps": "gi ga bít trên giây",
    "km/h": "ki lô mét một giờ", "m/s": "mét một giây",
    "°C": "độ xê", "ºC": "độ xê", "oC": "độ xê", "°F": "độ ép", "°": "độ", "º": "độ",
    "%": "phần trăm", "‰": "phần nghìn",
    "đ": "đồng", "VNĐ": "đồng", "VND": "đồng", "vnđ": "đồng", "USD": "đô la Mỹ", "EUR": "ơ rô",
    "tr": "triệu", "k": "nghìn", "h": "giờ", "ph": "phút",
    # Other cases and forms seen in pasted text (lower-case codes, "°c", "Kg").
    "°c": "độ xê", "ºc": "độ xê", "Kg": "ki lô gam", "KG": "ki lô gam", "Km": "ki lô mét", "KM": "ki lô mét",
    "kw": "ki lô oát", "kwh": "ki lô oát giờ", "KW": "ki lô oát", "KWh": "ki lô oát giờ",
    "v": "vôn", "kv": "ki lô vôn", "w": "oát", "mw": "mê ga oát",
    "kb": "ki lô bai", "gb": "gi ga bai", "tb": "tê ra bai", "mA": "mi li am pe", "kA": "ki lô am pe",
    "mAh": "mi li am pe giờ", "hPa": "héc tô pát xcan", "mb": "mi li ba", "mbar": "mi li ba",
    "p": "phút", "s": "giây", "ms": "mi li giây", "t": "tấn",
    "°N": "độ vĩ bắc", "°S": "độ vĩ nam", "°E": "độ kinh đông", "°W": "độ kinh tây",
    "$": "đô la", "₫": "đồng", "€": "ơ rô", "£": "bảng Anh", "¥": "yên",
    "usd": "đô la Mỹ", "vnd": "đồng", "eur": "ơ rô", "Đ": "đồng",
    "mmHg": "mi li mét thủy ngân", "mmol/l": "mi li mol trên lít", "mmol/L": "mi li mol trên lít",
    "mmol": "mi li mol", "Ah": "am pe giờ", "mm3": "mi li mét khối", "mm³": "mi li mét khối",
}  # fmt: skip

# Units that must touch the number ("5h", "50k"); with a space they are likely ordinary letters/words.
ATTACHED_ONLY = frozenset(
    {"h", "k", "tr", "ph", "l", "V", "W", "oC", "TB", "v", "w", "p", "s", "t", "tb", "mb", "Đ"}
)

# Words and units that may follow a slash after a unit or amount: "đồng/kg", "người/tháng".
PER_WORDS: dict[str, str] = {
    "tháng": "tháng", "năm": "năm", "ngày": "ngày", "tuần": "tuần", "giờ": "giờ", "người": "người",
    "hộ": "hộ", "lượt": "lượt", "con": "con", "suất": "suất", "chuyến": "chuyến", "lít": "lít",
    "tấn": "tấn", "sào": "sào", "mẫu": "mẫu", "cây": "cây", "ca": "ca", "buổi": "buổi", "bao": "bao",
    "kg": "ki lô gam", "g": "gam", "ha": "héc ta", "m2": "mét vuông", "m²": "mét vuông",
    "m3": "mét khối", "m³": "mét khối", "km": "ki lô mét", "m": "mét", "l": "lít", "h": "giờ",
    "s": "giây", "lần": "lần", "km2": "ki lô mét vuông", "km²": "ki lô mét vuông",
    "bản": "bản", "lứa": "lứa", "vụ": "vụ", "kỳ": "kỳ", "đợt": "đợt", "khẩu": "khẩu", "lượng": "lượng",
    "gốc": "gốc", "cái": "cái", "chiếc": "chiếc", "bộ": "bộ", "tờ": "tờ", "trang": "trang", "viên": "viên",
}  # fmt: skip
# Words after which a slash means "per": amounts, currencies, units and the per-words themselves.
_AMOUNT_WORDS = frozenset({"đồng", "triệu", "nghìn", "ngàn", "tỷ", "USD", "VNĐ", "VND", "đ", "tạ", "yến"})

_BOUNDARY = r"(?![\w²³%])"


def _alternation(keys: list[str]) -> str:
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


# Pattern bodies (used inside the master regex of the pipeline).
UNIT_PATTERN = "(?:" + _alternation(list(UNITS)) + ")"
SPACED_UNIT_PATTERN = "(?:" + _alternation([u for u in UNITS if u not in ATTACHED_ONLY]) + ")"
PER_PATTERN = "(?:" + _alternation(list(PER_WORDS)) + ")" + _BOUNDARY
BOUNDARY = _BOUNDARY


def is_amount_word(word: str) -> bool:
    return word in _AMOUNT_WORDS or word in UNITS or word in PER_WORDS or word.lower() in PER_WORDS


def unit_words(unit: str) -> str:
    return UNITS[unit]


def per_words(unit: str) -> str:
    return "một " + PER_WORDS[unit]
