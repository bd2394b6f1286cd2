"""From a CAP 1.2 ``<info>`` to what an alert needs, and back (pure: no database, no I/O).

Risk level (Decision 18/2021/QĐ-TTg, 1–5) — an explicit ``eventCode`` ``QD18_CAP_DO`` (1–5) wins;
otherwise from CAP's three axes, documented in docs/protocol.md "CAP":

| severity | level | then                                                                  |
|----------|-------|-----------------------------------------------------------------------|
| Extreme  | 4     | +1 when urgency is Immediate and certainty Observed (→ 5)             |
| Severe   | 3     | −1 when certainty is Possible/Unlikely or urgency Future/Past (min 1)  |
| Moderate | 2     | (same)                                                                |
| Minor    | 1     |                                                                       |
| Unknown  | 1     |                                                                       |

and never above what the decision defines for the hazard (a flash flood tops at 3).

Hazard — an ``eventCode`` ``QD18_LOAI`` naming a code of ``loa.alerts.levels.HAZARDS`` wins; otherwise
words of ``<event>`` (Vietnamese with its diacritics, or English), most specific first; else "other"."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loa.alerts import levels
from loa.alerts.cap.parse import CapArea, CapInfo, CapMessage

LEVEL_CODE = "QD18_CAP_DO"  # eventCode valueName: the risk level, 1–5
HAZARD_CODE = "QD18_LOAI"  # eventCode valueName: a hazard code of loa.alerts.levels
GEOCODE_NAME = "VN_MA_DVHC"  # geocode valueName we export: the administrative unit code

SEVERITY_LEVEL: dict[str, int] = {"Extreme": 4, "Severe": 3, "Moderate": 2, "Minor": 1, "Unknown": 1}
_LOWER_CERTAINTY = frozenset({"Possible", "Unlikely"})
_LOWER_URGENCY = frozenset({"Future", "Past"})

# For export: the CAP axes that map back to each level through the table above.
LEVEL_AXES: dict[int, tuple[str, str, str]] = {
    1: ("Minor", "Expected", "Likely"),
    2: ("Moderate", "Expected", "Likely"),
    3: ("Severe", "Expected", "Likely"),
    4: ("Extreme", "Expected", "Likely"),
    5: ("Extreme", "Immediate", "Observed"),
}

# (words of the event text, hazard code): the first match wins, so the specific come first. Matched
# with diacritics ("bão" is a storm, "báo" in "cảnh báo" is not), whole words, lower case.
EVENT_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("lũ quét", "flash flood"), "flash_flood"),
    (("sạt lở", "sụt lún", "landslide", "mudslide"), "landslide"),
    (("áp thấp nhiệt đới", "tropical depression"), "tropical_depression"),
    (("nước dâng", "storm surge"), "storm_surge"),
    (("sóng thần", "tsunami"), "tsunami"),
    (("động đất", "earthquake"), "earthquake"),
    (("bão", "typhoon", "tropical storm", "cyclone", "hurricane"), "storm"),
    (("lũ", "ngập", "flood", "flooding"), "flood"),
    (("mưa lớn", "heavy rain"), "heavy_rain"),
    (("gió mạnh trên biển", "strong wind"), "strong_wind_at_sea"),
    (("lốc", "sét", "mưa đá", "thunderstorm", "lightning", "hail", "tornado"), "whirlwind_lightning_hail"),
    (("nắng nóng", "heat"), "heat_wave"),
    (("hạn hán", "drought"), "drought"),
    (("xâm nhập mặn", "saline", "salinity"), "saline_intrusion"),
    (("rét hại", "sương muối", "cold", "frost"), "cold_frost"),
    (("sương mù", "fog"), "fog"),
    (("cháy rừng", "wildfire", "forest fire"), "forest_fire"),
)

# For export: CAP's category of each hazard (all meteorological except these).
HAZARD_CATEGORY: dict[str, str] = {
    "landslide": "Geo",
    "earthquake": "Geo",
    "tsunami": "Geo",
    "forest_fire": "Fire",
    "saline_intrusion": "Env",
}


def words_of(text: str) -> list[str]:
    """Lower-case words (NFC, so "bão" typed either way is the same word), punctuation dropped."""
    cleaned = "".join(c if c.isalnum() else " " for c in unicodedata.normalize("NFC", text).lower())
    return cleaned.split()


def _has_phrase(words: list[str], phrase: str) -> bool:
    wanted = phrase.split()
    return any(words[i : i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))


def hazard_of(info: CapInfo) -> str:
    for name, value in info.event_codes:
        if name == HAZARD_CODE and value in levels.HAZARDS:
            return value
    words = words_of(info.event)
    for phrases, code in EVENT_WORDS:
        if any(_has_phrase(words, p) for p in phrases):
            return code
    return "other"


def level_of(info: CapInfo, hazard: str) -> int:
    explicit = [v for n, v in info.event_codes if n == LEVEL_CODE and v.strip() in {"1", "2", "3", "4", "5"}]
    if explicit:
        level = int(explicit[0])
    else:
        level = SEVERITY_LEVEL.get(info.severity, 1)
        if info.severity == "Extreme" and info.urgency == "Immediate" and info.certainty == "Observed":
            level += 1
        elif info.certainty in _LOWER_CERTAINTY or info.urgency in _LOWER_URGENCY:
            level = max(1, level - 1)
    return min(level, levels.HAZARDS[hazard].max_level)


def pick_info(message: CapMessage) -> CapInfo | None:
    """The Vietnamese ``<info>`` if there is one, else the first."""
    for info in message.infos:
        if info.language.lower().startswith("vi"):
            return info
    return message.infos[0] if message.infos else None


def warning_text(info: CapInfo, *, max_chars: int = 4000) -> str:
    """What the loudspeakers read: headline, description, instruction (each once, in that order)."""
    parts: list[str] = []
    for part in (info.headline, info.description, info.instruction):
        cleaned = " ".join(part.split())
        if cleaned and cleaned not in parts:
            parts.append(cleaned if cleaned.endswith((".", "!", "?")) else cleaned + ".")
    return " ".join(parts)[:max_chars]


@dataclass(frozen=True)
class Point:
    uid: str
    commune_code: str
    lat: float
    lon: float


def inside_polygon(lat: float, lon: float, ring: Sequence[tuple[float, float]]) -> bool:
    """Ray casting over (lat, lon) vertices (CAP polygons are small: planar is fine)."""
    inside = False
    n = len(ring)
    for i in range(n):
        (y1, x1), (y2, x2) = ring[i], ring[(i + 1) % n]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def points_in_areas(areas: Iterable[CapArea], points: Iterable[Point]) -> list[Point]:
    """The loudspeakers lying inside any polygon or circle of the areas."""
    shapes = [(a.polygons, a.circles) for a in areas]
    out = []
    for p in points:
        for polygons, circles in shapes:
            if any(inside_polygon(p.lat, p.lon, ring) for ring in polygons) or any(
                distance_km(p.lat, p.lon, c_lat, c_lon) <= radius for c_lat, c_lon, radius in circles
            ):
                out.append(p)
                break
    return out


def geocode_values(areas: Iterable[CapArea]) -> list[str]:
    """Every geocode value (administrative unit codes are matched against the database)."""
    return sorted({value.strip() for a in areas for _, value in a.geocodes if value.strip()})
