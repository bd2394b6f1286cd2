"""A small commune world for the scheduling service tests: the province, two communes, two villages of
Ba Tơ (one Kinh, one Hrê), a station, three loudspeakers, a device group, and the people who write,
approve and operate. Bulletins go through the real content workflow; audio assets are rows (the
scheduler needs their SHA-256, size and duration, not their bytes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.principal import Principal, Role
from loa.accounts.service import principal_for
from loa.areas.logic import fold
from loa.content import renditions
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.content.workflow import Action
from loa.fleet import service as fleet
from loa.fleet.models import Device, DeviceGroup, DeviceGroupMember
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.units.models import AdminUnit, Station, UnitKind
from tests.support.auth import make_user

PROVINCE, BA_TO, BA_VI = "51", "21484", "21490"
KINH_VILLAGE, HRE_VILLAGE = "21484.001", "21484.002"
PEOPLE: tuple[tuple[str, Role, str | None, str], ...] = (
    ("canbo.bato", Role.COMMUNE_OPERATOR, BA_TO, "Phạm Thị Lan"),
    ("canbo.bavi", Role.COMMUNE_OPERATOR, BA_VI, "Đinh Văn Hùng"),
    ("bientap.bato", Role.PROVINCE_EDITOR, BA_TO, "Nguyễn Văn Biên"),
    ("duyet.bato", Role.APPROVER, BA_TO, "Lê Văn Duyệt"),
    ("quantri", Role.ADMIN, None, "Quản Trị"),
)


def _unit(session: Session, code: str, kind: UnitKind, name: str, parent: AdminUnit | None) -> AdminUnit:
    unit = AdminUnit(
        code=code,
        kind=kind,
        name=name,
        name_folded=fold(name),
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + code + "/",
    )
    session.add(unit)
    session.flush()
    return unit


def seed_world(session: Session) -> None:
    province = _unit(session, PROVINCE, UnitKind.PROVINCE, "Quảng Ngãi", None)
    ba_to = _unit(session, BA_TO, UnitKind.COMMUNE, "Xã Ba Tơ", province)
    ba_vi = _unit(session, BA_VI, UnitKind.COMMUNE, "Xã Ba Vì", province)
    _unit(session, KINH_VILLAGE, UnitKind.VILLAGE, "Thôn Gò Khoại", ba_to)
    _unit(session, HRE_VILLAGE, UnitKind.VILLAGE, "Làng Teng", ba_to)
    station = Station(commune_id=ba_to.id, name="Đài truyền thanh xã Ba Tơ")
    session.add(station)
    session.flush()
    one = fleet.create_device(
        session,
        name="Cụm loa chợ",
        uid="loa-bt-01",
        commune_id=ba_to.id,
        station_id=station.id,
        village="Thôn Gò Khoại",
    )
    fleet.create_device(
        session,
        name="Cụm loa làng Teng",
        uid="loa-bt-02",
        commune_id=ba_to.id,
        station_id=station.id,
        village="Làng Teng",
    )
    fleet.create_device(session, name="Cụm loa Ba Vì", uid="loa-bv-01", commune_id=ba_vi.id)
    group = DeviceGroup(name="Loa khu chợ Ba Tơ", commune_id=ba_to.id)
    session.add(group)
    session.flush()
    session.add(DeviceGroupMember(group_id=group.id, device_id=one.id))
    for username, role, area, name in PEOPLE:
        make_user(session, username, role, area, display_name=name)


@dataclass
class World:
    operator: Principal
    other_operator: Principal
    editor: Principal
    approver: Principal
    admin: Principal
    station: Station
    group: DeviceGroup

    def unit(self, session: Session, code: str) -> AdminUnit:
        return session.scalars(select(AdminUnit).where(AdminUnit.code == code)).one()

    def device(self, session: Session, uid: str) -> Device:
        return session.scalars(select(Device).where(Device.uid == uid)).one()


def load_world(session: Session) -> World:
    people = {u.username: principal_for(session, u) for u in session.scalars(select(User))}
    return World(
        operator=people["canbo.bato"],
        other_operator=people["canbo.bavi"],
        editor=people["bientap.bato"],
        approver=people["duyet.bato"],
        admin=people["quantri"],
        station=session.scalars(select(Station)).one(),
        group=session.scalars(select(DeviceGroup)).one(),
    )


def audio_asset(session: Session, name: str, seconds: float) -> str:
    """An audio asset row (content-addressed); returns its SHA-256."""
    sha = hashlib.sha256(name.encode()).hexdigest()
    if session.scalar(select(AudioAsset.id).where(AudioAsset.sha256 == sha)) is None:
        session.add(
            AudioAsset(
                sha256=sha,
                format="mp3",
                size_bytes=int(seconds * 8000),
                duration_ms=int(seconds * 1000),
                loudness_lufs=-16.0,
                true_peak_dbtp=-1.5,
                sample_rate=22050,
                source_kind=AudioSourceKind.UPLOAD,
                created_at=datetime(2023, 1, 1, tzinfo=UTC),
            )
        )
        session.flush()
    return sha


def approved_bulletin(
    session: Session, world: World, title: str, audio: dict[str, str], *, priority: str = "normal"
) -> Bulletin:
    """Written, given recordings per language, submitted and approved through the content service."""
    bulletin = content.create_bulletin(
        session,
        principal=world.editor,
        draft=DraftInput(title=title, body=f"Nội dung {title}.", priority=priority, area_code=BA_TO),
    )
    for language, sha in audio.items():
        duration = session.scalars(select(AudioAsset.duration_ms).where(AudioAsset.sha256 == sha)).one()
        renditions.attach_recording(
            session,
            principal=world.editor,
            bulletin_id=bulletin.id,
            language=language,
            audio_sha256=sha,
            duration_ms=duration,
        )
    content.transition(session, principal=world.editor, bulletin_id=bulletin.id, action=Action.SUBMIT)
    content.transition(session, principal=world.approver, bulletin_id=bulletin.id, action=Action.APPROVE)
    return bulletin
