"""Which voice an area's bulletins are read with: the choice its editors last made, else the voice of
its province's region (a bulletin in Quảng Ngãi is read with a central voice by default).

Choices are remembered per area (``speech_voice_choices``): the nearest area on a bulletin's path that
has one wins (a commune's choice over its province's), as with abbreviation readings.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.db.base import utcnow
from loa.speech.engines.base import Region, VoiceInfo
from loa.speech.engines.registry import EngineRegistry
from loa.speech.models import VoiceChoice
from loa.speech.render import check_rate
from loa.units.models import AdminUnit
from loa.units.paths import ancestor_paths

# Province (by name, without "Tỉnh"/"Thành phố") → the region whose accent its listeners expect.
# The 34 provinces from 1 July 2025, then the former provinces still found in older data.
PROVINCE_REGIONS: dict[str, Region] = {
    **dict.fromkeys(
        (
            "hà nội", "hải phòng", "quảng ninh", "cao bằng", "lạng sơn", "lai châu", "điện biên", "sơn la",
            "lào cai", "tuyên quang", "thái nguyên", "phú thọ", "bắc ninh", "hưng yên", "ninh bình",
            "hà giang", "yên bái", "bắc kạn", "hòa bình", "vĩnh phúc", "bắc giang", "hải dương", "thái bình",
            "nam định", "hà nam",
        ),
        Region.NORTH,
    ),
    **dict.fromkeys(
        (
            "thanh hóa", "nghệ an", "hà tĩnh", "quảng trị", "huế", "đà nẵng", "quảng ngãi", "gia lai",
            "khánh hòa", "đắk lắk", "quảng bình", "thừa thiên huế", "quảng nam", "kon tum", "bình định",
            "phú yên", "ninh thuận", "đắk nông",
        ),
        Region.CENTRAL,
    ),
    **dict.fromkeys(
        (
            "hồ chí minh", "đồng nai", "tây ninh", "đồng tháp", "vĩnh long", "an giang", "cần thơ", "cà mau",
            "lâm đồng", "bình thuận", "bình dương", "bình phước", "bà rịa vũng tàu", "long an", "tiền giang",
            "bến tre", "trà vinh", "hậu giang", "sóc trăng", "kiên giang", "bạc liêu",
        ),
        Region.SOUTH,
    ),
}  # fmt: skip
_PREFIXES = ("tỉnh ", "thành phố ", "tp. ", "tp ")


@dataclass(frozen=True)
class VoiceDefault:
    """The voice and rate a new request for an area starts from, and why (shown to the editor)."""

    voice: VoiceInfo
    rate: float
    reason: str


def province_region(name: str) -> Region:
    key = unicodedata.normalize("NFC", name).strip().lower().replace("–", "-").replace("-", " ")
    for prefix in _PREFIXES:
        key = key.removeprefix(prefix)
    return PROVINCE_REGIONS.get(" ".join(key.split()), Region.UNKNOWN)


def region_voice(registry: EngineRegistry, region: Region) -> VoiceInfo:
    """The default engine's voice for ``region``, of the default voice's gender when there is one."""
    default = registry.default_voice()
    candidates = [v for v in registry.voices() if v.region is region and v.engine == default.engine]
    if not candidates:
        return default
    same_gender = [v for v in candidates if v.gender is default.gender]
    return (same_gender or candidates)[0]


def _path_units(session: Session, unit: AdminUnit) -> list[AdminUnit]:
    paths = [*ancestor_paths(unit.path), unit.path]
    units = session.scalars(select(AdminUnit).where(AdminUnit.path.in_(paths))).all()
    order = {path: index for index, path in enumerate(paths)}
    return sorted(units, key=lambda u: order[u.path])


def default_for_area(session: Session, registry: EngineRegistry, area_id: int | None) -> VoiceDefault:
    default = registry.default_voice()
    unit = session.get(AdminUnit, area_id) if area_id is not None else None
    if unit is None:
        return VoiceDefault(default, 1.0, "Giọng mặc định của hệ thống")
    units = _path_units(session, unit)
    choices = {
        c.area_id: c
        for c in session.scalars(select(VoiceChoice).where(VoiceChoice.area_id.in_([u.id for u in units])))
    }
    known = {v.id for v in registry.voices()}
    for area in reversed(units):
        choice = choices.get(area.id)
        if choice is not None and choice.voice in known:
            return VoiceDefault(
                registry.resolve(choice.voice), choice.rate, f"Lựa chọn đã lưu của {area.name}"
            )
    province = units[0]
    region = province_region(province.name)
    if region is Region.UNKNOWN:
        return VoiceDefault(default, 1.0, "Giọng mặc định của hệ thống")
    return VoiceDefault(region_voice(registry, region), 1.0, f"Giọng theo vùng miền của {province.name}")


def remember_choice(
    session: Session,
    *,
    registry: EngineRegistry,
    principal: Principal,
    area_id: int | None,
    voice: str,
    rate: float,
) -> None:
    """Keep the area's choice for its next bulletins (audited when it changes)."""
    if area_id is None:
        return
    info = registry.resolve(voice)
    check_rate(rate)
    choice = session.get(VoiceChoice, area_id)
    if choice is not None and choice.voice == info.id and abs(choice.rate - rate) < 1e-9:
        return
    before = None if choice is None else {"voice": choice.voice, "rate": choice.rate}
    if choice is None:
        choice = VoiceChoice(area_id=area_id, voice=info.id, rate=rate)
        session.add(choice)
    choice.voice, choice.rate = info.id, rate
    choice.updated_by_id, choice.updated_at = principal.user_id, utcnow()
    session.flush()
    record(
        session,
        action="speech.voice_choice",
        actor=principal,
        target_type="area",
        target_id=area_id,
        area_id=area_id,
        details={"before": before, "voice": info.id, "rate": rate},
    )
