"""Disaster types and risk levels of Decision 18/2021/QĐ-TTg (cấp độ rủi ro thiên tai).

The decision classifies each natural hazard's risk in up to five levels (cấp độ 1–5) and assigns each
level a colour for warning bulletins and maps: 1 light blue, 2 light yellow, 3 orange, 4 red, 5 purple.
Not every hazard reaches every level (a heavy rain tops at 4, a storm at 5); ``max_level`` says how
far each goes, so an alert cannot claim a level the decision does not define for its hazard.

Codes are stable identifiers (stored on alerts, used by CAP mapping and the API); people only ever
see the Vietnamese labels."""

from __future__ import annotations

from dataclasses import dataclass

from loa.errors import InvalidInput


@dataclass(frozen=True)
class RiskLevel:
    level: int  # 1..5
    label: str  # "Cấp độ 3"
    colour_name: str  # Vietnamese name of the decision's colour
    colour_hex: str  # for pages (text on it: ``text_hex``)
    text_hex: str


RISK_LEVELS: dict[int, RiskLevel] = {
    1: RiskLevel(1, "Cấp độ 1", "xanh dương nhạt", "#9fd3f5", "#0b2540"),
    2: RiskLevel(2, "Cấp độ 2", "vàng nhạt", "#fff3a0", "#3a3000"),
    3: RiskLevel(3, "Cấp độ 3", "da cam", "#f39c34", "#2b1600"),
    4: RiskLevel(4, "Cấp độ 4", "đỏ", "#d62828", "#ffffff"),
    5: RiskLevel(5, "Cấp độ 5", "tím", "#7b2cbf", "#ffffff"),
}


@dataclass(frozen=True)
class Hazard:
    code: str
    label: str  # Vietnamese, lower case as in running text ("bão")
    max_level: int


HAZARDS: dict[str, Hazard] = {
    h.code: h
    for h in (
        Hazard("storm", "bão", 5),
        Hazard("tropical_depression", "áp thấp nhiệt đới", 3),
        Hazard("heavy_rain", "mưa lớn", 4),
        Hazard("flood", "lũ, ngập lụt", 5),
        Hazard("flash_flood", "lũ quét", 3),
        Hazard("landslide", "sạt lở đất, sụt lún đất", 3),
        Hazard("storm_surge", "nước dâng", 5),
        Hazard("strong_wind_at_sea", "gió mạnh trên biển", 3),
        Hazard("whirlwind_lightning_hail", "lốc, sét, mưa đá", 2),
        Hazard("heat_wave", "nắng nóng", 4),
        Hazard("drought", "hạn hán", 4),
        Hazard("saline_intrusion", "xâm nhập mặn", 4),
        Hazard("cold_frost", "rét hại, sương muối", 3),
        Hazard("fog", "sương mù", 1),
        Hazard("forest_fire", "cháy rừng do tự nhiên", 5),
        Hazard("earthquake", "động đất", 5),
        Hazard("tsunami", "sóng thần", 5),
        Hazard("other", "thiên tai khác", 5),
    )
}


def check(hazard: str | None, level: int | None) -> tuple[str | None, int | None]:
    """Validate a hazard code and risk level (either may be absent on an old or untyped alert)."""
    if hazard is not None and hazard not in HAZARDS:
        raise InvalidInput("Loại thiên tai không hợp lệ.", code="hazard_unknown")
    if level is not None:
        if level not in RISK_LEVELS:
            raise InvalidInput("Cấp độ rủi ro phải từ 1 đến 5.", code="risk_level_invalid")
        if hazard is not None and level > HAZARDS[hazard].max_level:
            h = HAZARDS[hazard]
            raise InvalidInput(
                f"Quyết định 18/2021/QĐ-TTg chỉ quy định {h.label} đến cấp độ {h.max_level}.",
                code="risk_level_above_hazard",
            )
    return hazard, level
