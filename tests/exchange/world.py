"""Two small worlds for the exchange tests, on the same official codes (both systems import the same
national list): Quảng Ngãi (51) with Ba Tơ (21484) and Ba Vì (21490), the former district Ba Tơ (535)
whose lineage note names the old commune Ba Cung (21511).

* the lower system (a province): loudspeakers in both communes, a station, commune operators;
* the upper system (a central or provincial source system): editors and an approver, no loudspeakers.

Audio is real (a WAV tone through the speech pipeline), so bytes travel and are checked on arrival.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.principal import Principal, Role
from loa.accounts.service import principal_for
from loa.areas.logic import fold
from loa.fleet import service as fleet
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.engines.registry import EngineRegistry
from loa.speech.service import SpeechContext
from loa.speech.store import LocalAudioStore
from loa.units.models import AdminUnit, AreaLineage, LineageChange, Station, UnitKind
from tests.fleet.harness import wav_bytes
from tests.support.auth import make_user

PROVINCE, BA_TO, BA_VI, DISTRICT, OLD_BA_CUNG = "51", "21484", "21490", "535", "21511"
DEVICES = (
    ("loa-a00000000001", "Cụm loa chợ Ba Tơ", BA_TO),
    ("loa-a00000000002", "Cụm loa thôn Gò Khoại", BA_TO),
    ("loa-b00000000001", "Cụm loa UBND xã Ba Vì", BA_VI),
)


def _unit(
    session: Session, code: str, kind: UnitKind, name: str, parent: AdminUnit | None, **extra: object
) -> AdminUnit:
    unit = AdminUnit(
        code=code,
        kind=kind,
        name=name,
        name_folded=fold(name),
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + code + "/",
        **extra,
    )
    session.add(unit)
    session.flush()
    return unit


def seed_areas(session: Session) -> dict[str, AdminUnit]:
    province = _unit(session, PROVINCE, UnitKind.PROVINCE, "Tỉnh Quảng Ngãi", None)
    ba_to = _unit(session, BA_TO, UnitKind.COMMUNE, "Xã Ba Tơ", province)
    ba_vi = _unit(session, BA_VI, UnitKind.COMMUNE, "Xã Ba Vì", province)
    district = _unit(session, DISTRICT, UnitKind.DISTRICT, "Huyện Ba Tơ", province, valid_to=date(2025, 7, 1))
    session.add(
        AreaLineage(
            predecessor_id=district.id,
            successor_id=ba_to.id,
            change=LineageChange.REGROUP,
            effective_on=date(2025, 7, 1),
            note=f"Thị trấn Ba Tơ ({BA_TO}), Xã Ba Cung ({OLD_BA_CUNG})",
        )
    )
    session.flush()
    return {u.code: u for u in (province, ba_to, ba_vi, district)}


def seed_lower(session: Session) -> None:
    units = seed_areas(session)
    station = Station(commune_id=units[BA_TO].id, name="Đài truyền thanh xã Ba Tơ")
    session.add(station)
    session.flush()
    for uid, name, commune in DEVICES:
        fleet.create_device(
            session,
            uid=uid,
            name=name,
            commune_id=units[commune].id,
            station_id=station.id if commune == BA_TO else None,
        )
    make_user(session, "quantri", Role.ADMIN, display_name="Quản Trị Tỉnh")
    make_user(session, "vanhanh.bato", Role.COMMUNE_OPERATOR, BA_TO, display_name="Phạm Thị Lan")
    make_user(session, "vanhanh.bavi", Role.COMMUNE_OPERATOR, BA_VI, display_name="Đinh Văn Hùng")


def seed_upper(session: Session) -> None:
    seed_areas(session)
    make_user(session, "quantri", Role.ADMIN, display_name="Quản Trị Trung Ương")
    make_user(session, "bientap", Role.PROVINCE_EDITOR, PROVINCE, display_name="Nguyễn Văn Biên")
    make_user(session, "duyet", Role.APPROVER, PROVINCE, display_name="Lê Văn Duyệt")


def people(session: Session) -> dict[str, Principal]:
    return {u.username: principal_for(session, u) for u in session.scalars(select(User))}


def unit(session: Session, code: str) -> AdminUnit:
    return session.scalars(select(AdminUnit).where(AdminUnit.code == code)).one()


def speech_context(root: object) -> SpeechContext:
    from pathlib import Path

    return SpeechContext(
        registry=EngineRegistry([EspeakEngine()]),
        store=LocalAudioStore(Path(str(root))),
        max_upload_bytes=20_000_000,
    )


@dataclass(frozen=True)
class Tone:
    data: bytes
    sha256: str

    def wire(self) -> dict[str, str]:
        return {
            "content_type": "audio/wav",
            "data_base64": base64.b64encode(self.data).decode(),
            "sha256": self.sha256,
        }


def tone(seconds: float = 2.0, freq: float = 440.0) -> Tone:
    data = wav_bytes(seconds, freq)
    return Tone(data, hashlib.sha256(data).hexdigest())


def bulletin_body(
    remote_id: str, priority: str, areas: list[str], audio: Tone, title: str | None = None
) -> dict[str, object]:
    return {
        "id": remote_id,
        "title": title or f"Tin {priority} {remote_id}",
        "body": "Nội dung bản tin của cấp trên.",
        "priority": priority,
        "source": "Cục Thông tin cơ sở",
        "areas": areas,
        "audio": audio.wire(),
    }


NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
