"""Three communes' worth of records, for the scope walk: Ba Tơ (A) and Ba Vì (B) in Quảng Ngãi, and a
commune C of Hà Nội, on the whole country's units. Each commune gets one record of every kind a route
can name (a bulletin with a recording and a photo, a record in every register, a report, a station, a
loudspeaker, a programme with its slots, an announcement, an emergency alert, a speech job), each
carrying an ASCII marker (``scopemark`` + commune letter + kind) that a page or a JSON body shows when
it lists the record. Everything is made through the domains' own services, by the commune's operator.

People: the operators of A, B and C, an approver of the province (sees A and B, not C) and a system
administrator (sees everything).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.principal import Principal, Role
from loa.accounts.service import principal_for
from loa.activities import imports
from loa.activities import service as activities
from loa.activities.models import ActivityImport
from loa.activities.registers import REGISTERS
from loa.alerts import service as alerts
from loa.alerts.models import EmergencyAlert
from loa.areas.service import add_village
from loa.areas.stations import create_station
from loa.content import photos, renditions
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.models import Attachment, Bulletin
from loa.content.workflow import Action
from loa.exchange import inbox, peers
from loa.exchange.models import (
    ExchangeKey,
    ExchangePeer,
    InboxItem,
    OutboxMessage,
    PeerRelation,
    Priority,
    RemotePlay,
    SentBulletin,
)
from loa.exchange.wire import BulletinIn
from loa.feedback import media
from loa.feedback import service as feedback
from loa.feedback.models import Feedback, FeedbackChannel
from loa.fleet import service as fleet
from loa.fleet.models import Device
from loa.live import service as live
from loa.live.models import StreamSession
from loa.reports import service as reports
from loa.reports.models import Report
from loa.schedule import announcements
from loa.schedule import models as m
from loa.schedule import service as schedule
from loa.schedule.slots import slot_key
from loa.schedule.targets import TargetInput
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.engines.registry import EngineRegistry
from loa.speech.models import AudioAsset, AudioSourceKind, JobStatus, SpeechJob
from loa.speech.service import SpeechContext
from loa.speech.store import LocalAudioStore, object_key
from loa.units.models import AdminUnit, Station, UnitKind
from loa.vocab.period import Period
from tests.conftest import seed_areas
from tests.fleet.harness import wav_bytes
from tests.support.auth import make_user

PROVINCE, COMMUNE_A, COMMUNE_B = "51", "21484", "21490"
OTHER_PROVINCE = "01"
LETTERS = ("a", "b", "c")
OPERATORS = {"a": "scope.a", "b": "scope.b", "c": "scope.c"}
PROVINCE_USER, ADMIN = "scope.tinh", "scope.admin"
# The people the walk signs in as, and who sees which commune's records: the rule, as the walk checks it.
SEES: dict[str, frozenset[str]] = {
    "scope.a": frozenset("a"),
    "scope.b": frozenset("b"),
    PROVINCE_USER: frozenset("ab"),
    ADMIN: frozenset("abc"),
}
USERS = tuple(SEES)
SLOT_DAY = date.today() + timedelta(days=2)  # a slot inside the default windows of every page
REPORT_PERIOD = Period.year(date.today().year)

REGISTER_ROWS: dict[str, dict[str, object]] = {
    "visual-items": {
        "kind": "banner",
        "place": "{mark}",
        "width_m": 3,
        "height_m": 1,
        "installed_on": "{day}",
    },
    "mobile-trips": {"trip_on": "{day}", "route": "{mark}"},
    "press-items": {"outlet": "Báo Quảng Ngãi", "kind": "news", "published_on": "{day}", "title": "{mark}"},
    "portal-posts": {"kind": "news", "posted_on": "{day}", "title": "{mark}"},
    "radio-items": {"kind": "news", "aired_on": "{day}", "title": "{mark}"},
    "events": {"kind": "conference", "held_on": "{day}", "title": "{mark}"},
}


def mark(letter: str, kind: str) -> str:
    return f"scopemark{letter}{kind}"


def register_row(letter: str, key: str, area_code: str) -> dict[str, str]:
    """A valid record of register ``key`` (as a form or the API takes it), marked for ``letter``."""
    day = date.today().isoformat()
    row = {k: str(v).format(mark=mark(letter, key), day=day) for k, v in REGISTER_ROWS[key].items()}
    return {**row, "area": area_code, "notes": mark(letter, key)}


def png_bytes(seed: int) -> bytes:
    """A small valid PNG; ``seed`` makes each commune's photo (and so its SHA-256) different."""
    width, height = 8 + seed, 6
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes([seed * 40 % 256, 64, 32]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def _audio(session: Session, name: str, uploader: Principal) -> str:
    sha = hashlib.sha256(name.encode()).hexdigest()
    session.add(
        AudioAsset(
            sha256=sha,
            format="mp3",
            size_bytes=80_000,
            duration_ms=10_000,
            loudness_lufs=-16.0,
            true_peak_dbtp=-1.5,
            sample_rate=22050,
            source_kind=AudioSourceKind.UPLOAD,
            original_filename=f"{name}.mp3",
            created_by_id=uploader.user_id,
        )
    )
    session.flush()
    return sha


def _commune_c(session: Session) -> AdminUnit:
    """The first commune of Hà Nội by code (any commune outside Quảng Ngãi serves)."""
    return session.scalars(
        select(AdminUnit)
        .where(
            AdminUnit.path.startswith(f"/{OTHER_PROVINCE}/"),
            AdminUnit.kind.in_([UnitKind.COMMUNE, UnitKind.WARD]),
            AdminUnit.valid_to.is_(None),
        )
        .order_by(AdminUnit.code)
        .limit(1)
    ).one()


def _records(session: Session, letter: str, unit: AdminUnit, who: Principal, data_dir: Path) -> None:
    """One record of every kind in ``unit``, made by its operator ``who``."""
    today = date.today()
    bulletin = content.create_bulletin(
        session,
        principal=who,
        draft=DraftInput(title=mark(letter, "bulletin"), body="Nội dung bản tin.", area_code=unit.code),
    )
    recording = _audio(session, mark(letter, "recording"), who)
    # Its bytes too, where the server's store keeps them: the audio routes serve the file itself.
    stored = data_dir / "audio" / object_key(recording, "mp3")
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"ID3" + recording.encode())
    renditions.attach_recording(
        session,
        principal=who,
        bulletin_id=bulletin.id,
        language="vi",
        audio_sha256=recording,
        duration_ms=10_000,
    )
    photos.add_photo(
        session,
        principal=who,
        store=photos.PhotoStore(data_dir / "photos"),
        bulletin_id=bulletin.id,
        data=png_bytes(LETTERS.index(letter) + 1),
        caption=mark(letter, "photo"),
    )
    content.transition(session, principal=who, bulletin_id=bulletin.id, action=Action.SUBMIT)

    for key in REGISTER_ROWS:
        row = register_row(letter, key, unit.code)
        activities.create_record(session, spec=REGISTERS[key], principal=who, data=row)
        # The same row uploaded again: a duplicate, so the upload waits for its maker to confirm.
        csv = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
        outcome = imports.import_file(
            session, spec=REGISTERS[key], principal=who, content=csv.encode(), filename=f"{key}.csv"
        )
        assert outcome.result is None, outcome

    add_village(session, commune_code=unit.code, name="Thôn Một", kind="thôn", principal=who)
    station = create_station(session, commune_code=unit.code, name=mark(letter, "station"), principal=who)
    fleet.create_device(
        session,
        name=mark(letter, "device"),
        uid=f"loa-scope-{letter}",
        commune_id=unit.id,
        station_id=station.id,
    )
    now = datetime.now(UTC)
    schedule.create_programme(
        session,
        principal=who,
        data=schedule.ProgrammeInput(
            name=mark(letter, "programme"),
            start_local=datetime.combine(today, datetime.min.time()).replace(hour=6, minute=30),
            slot_minutes=15,
            rrule="FREQ=DAILY",
            until_cancelled=True,
            targets=[TargetInput(kind="station", code=str(station.id))],
        ),
        now=now,
    )
    announcement_audio = _audio(session, mark(letter, "announcementaudio"), who)
    announcements.create_announcement(
        session,
        principal=who,
        data=announcements.AnnouncementInput(
            title=mark(letter, "announcement"),
            targets=[TargetInput(kind="station", code=str(station.id))],
            start_at=now + timedelta(days=1, hours=3),
            audio_sha256=announcement_audio,
        ),
        now=now,
    )
    live.schedule_relay(
        session,
        principal=who,
        codes=[unit.code],
        title=mark(letter, "relay"),
        source_url="http://vov.example/vov1",
        start_at=now + timedelta(days=1, hours=5),
        end_at=now + timedelta(days=1, hours=6),
        stream_base_url="http://127.0.0.1:8000/live/stream",
        now=now,
    )
    alerts.start_alert(
        session,
        principal=who,
        commune_codes=[unit.code],
        audio_sha256=_audio(session, mark(letter, "alert"), who),
        aired=alerts.AiredAudio(LocalAudioStore(data_dir / "audio")),
    )
    session.add(
        SpeechJob(
            status=JobStatus.DONE,
            text=mark(letter, "job"),
            voice="espeak:vi",
            area_id=unit.id,
            created_by_id=who.user_id,
        )
    )
    report = reports.generate_report(
        session,
        principal=who,
        request=reports.ReportRequest(period=REPORT_PERIOD, area_id=unit.id, issued_on=today),
    )
    report.title = mark(letter, "report")
    session.flush()


SECRET = "test-secret-key-0123456789abcdef"  # the apps of the walks use the same (keys are sealed with it)


def _exchange_and_feedback(
    session: Session, letter: str, unit: AdminUnit, admin: Principal, data_dir: Path
) -> None:
    """The commune's connected systems (a higher one with a key, an acknowledgement it refused and a
    bulletin it sent to the inbox; a lower one with a bulletin sent down to it and a play it reported)
    and a citizen's feedback with a photo and a voice note."""
    upper = peers.create_peer(
        session,
        principal=admin,
        name=f"Hệ thống cấp trên {letter.upper()}",
        relation=PeerRelation.UPPER,
        area_codes=[unit.code],
        push_url=f"http://tren-{letter}.example/api/exchange/v1",
        push_key="lx_0000000000000000.khoa",
        secret_key=SECRET,
    )
    caller = peers.authenticate(session, peers.issue_key(session, principal=admin, peer_id=upper.id).token)
    audio = wav_bytes(1.0, 300.0 + 100 * LETTERS.index(letter))
    speech = SpeechContext(EngineRegistry([EspeakEngine()]), LocalAudioStore(data_dir / "audio"), 10_000_000)
    inbox.receive_bulletin(
        session,
        caller=caller,
        data=BulletinIn(
            id=f"tw-{letter}",
            title=mark(letter, "inbox"),
            priority=Priority.NORMAL,
            areas=[unit.code],
            audio={
                "content_type": "audio/wav",
                "data_base64": base64.b64encode(audio).decode(),
                "sha256": hashlib.sha256(audio).hexdigest(),
            },  # type: ignore[arg-type]
        ),
        speech_context=speech,
        context=inbox.Context(
            data_dir, datetime.now(UTC), alerts.AiredAudio(LocalAudioStore(data_dir / "audio"))
        ),
    )
    session.flush()
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.peer_id == upper.id)):
        message.gave_up_at, message.last_status, message.last_error = (
            datetime.now(UTC),
            422,
            "422: Dữ liệu không hợp lệ.",
        )
    lower = peers.create_peer(
        session,
        principal=admin,
        name=f"Hệ thống cấp dưới {letter.upper()}",
        relation=PeerRelation.LOWER,
        area_codes=[unit.code],
        secret_key=SECRET,
    )
    now = datetime.now(UTC)
    session.add(
        SentBulletin(
            peer_id=lower.id,
            title=mark(letter, "sent"),
            priority=Priority.NORMAL,
            area_codes=[unit.code],
            state="",
            reason="",
        )
    )
    session.add(
        RemotePlay(
            peer_id=lower.id,
            receipt_key=f"loa-x-{letter}:1",
            commune_code=unit.code,
            commune_name=mark(letter, "play"),
            device_uid=f"loa-x-{letter}",
            started_at=now - timedelta(minutes=2),
            ended_at=now - timedelta(minutes=1),
            outcome="played",
        )
    )
    store = media.store_for(data_dir)
    feedback.submit(
        session,
        commune=unit,
        data=feedback.Submission(text=f"{mark(letter, 'feedback')}: đường làng hỏng", phone="0912345678"),
        attachments=media.Attachments(
            media.keep(store, png_bytes(LETTERS.index(letter) + 5), "image/png"),
            media.keep(store, audio, "audio/wav", 1000),
        ),
        source=f"scope-{letter}",
        challenge_nonce=None,
        channel=FeedbackChannel.WEB,
        limits=feedback.Limits(per_hour=10, per_day=10, answer_days=10),
        now=now,
    )
    session.flush()


def seed_scope_world(session: Session, data_dir: Path) -> None:
    seed_areas(session)
    units = {
        "a": session.scalars(select(AdminUnit).where(AdminUnit.code == COMMUNE_A)).one(),
        "b": session.scalars(select(AdminUnit).where(AdminUnit.code == COMMUNE_B)).one(),
        "c": _commune_c(session),
    }
    for letter, username in OPERATORS.items():
        make_user(session, username, Role.COMMUNE_OPERATOR, units[letter].code)
    make_user(session, PROVINCE_USER, Role.APPROVER, PROVINCE)
    make_user(session, ADMIN, Role.ADMIN)
    people = {u.username: principal_for(session, u) for u in session.scalars(select(User))}
    for letter, unit in units.items():
        _records(session, letter, unit, people[OPERATORS[letter]], data_dir)
        _exchange_and_feedback(session, letter, unit, people[ADMIN], data_dir)


@dataclass(frozen=True)
class Commune:
    """The ids a route's path can name, for one commune's records."""

    letter: str
    unit: AdminUnit
    village_code: str
    user_id: int
    bulletin_id: int
    attachment_id: int
    photo_sha256: str
    recording_sha256: str
    record_ids: dict[str, int]  # register key → id
    import_ids: dict[str, int]  # register key → the operator's upload waiting for confirmation
    report_id: int
    station_id: int
    device_uid: str
    programme_id: int
    slot_key: str
    alert_id: int
    stream_id: int
    announcement_id: int
    job_id: str
    inbox_id: int
    feedback_id: int
    peer_id: int
    key_id: str
    message_id: int


def load_communes(session: Session) -> dict[str, Commune]:
    out: dict[str, Commune] = {}
    for letter in LETTERS:
        bulletin = session.scalars(select(Bulletin).where(Bulletin.title == mark(letter, "bulletin"))).one()
        unit = session.get(AdminUnit, bulletin.area_id)
        assert unit is not None
        programme = session.scalars(
            select(m.Programme).where(m.Programme.name == mark(letter, "programme"))
        ).one()
        photo = session.scalars(select(Attachment).where(Attachment.bulletin_id == bulletin.id)).one()
        records = {}
        for key, spec in REGISTERS.items():
            model = spec.model
            records[key] = session.scalars(select(model.id).where(model.notes == mark(letter, key))).one()
        waiting = select(ActivityImport.register, ActivityImport.id).where(
            ActivityImport.created_by_id
            == session.scalars(select(User.id).where(User.username == OPERATORS[letter])).one()
        )
        upper_peer = session.scalars(
            select(ExchangePeer.id).where(ExchangePeer.name == f"Hệ thống cấp trên {letter.upper()}")
        ).one()
        out[letter] = Commune(
            letter=letter,
            unit=unit,
            village_code=session.scalars(
                select(AdminUnit.code).where(AdminUnit.parent_id == unit.id, AdminUnit.name == "Thôn Một")
            ).one(),
            user_id=session.scalars(select(User.id).where(User.username == OPERATORS[letter])).one(),
            bulletin_id=bulletin.id,
            attachment_id=photo.id,
            photo_sha256=photo.sha256,
            recording_sha256=hashlib.sha256(mark(letter, "recording").encode()).hexdigest(),
            record_ids=records,
            import_ids={register: import_id for register, import_id in session.execute(waiting)},
            report_id=session.scalars(select(Report.id).where(Report.title == mark(letter, "report"))).one(),
            station_id=session.scalars(
                select(Station.id).where(Station.name == mark(letter, "station"))
            ).one(),
            device_uid=session.scalars(select(Device.uid).where(Device.name == mark(letter, "device"))).one(),
            programme_id=programme.id,
            slot_key=slot_key(
                programme.id, datetime.combine(SLOT_DAY, datetime.min.time()).replace(hour=6, minute=30)
            ),
            alert_id=session.scalars(
                select(EmergencyAlert.id).where(EmergencyAlert.title == f"{mark(letter, 'alert')}.mp3")
            ).one(),
            stream_id=session.scalars(
                select(StreamSession.id).where(StreamSession.title == mark(letter, "relay"))
            ).one(),
            announcement_id=session.scalars(
                select(m.Announcement.id).where(m.Announcement.title == mark(letter, "announcement"))
            ).one(),
            job_id=session.scalars(select(SpeechJob.id).where(SpeechJob.text == mark(letter, "job"))).one(),
            inbox_id=session.scalars(
                select(InboxItem.id).where(InboxItem.title == mark(letter, "inbox"))
            ).one(),
            feedback_id=session.scalars(select(Feedback.id).where(Feedback.commune_id == unit.id)).one(),
            peer_id=upper_peer,
            key_id=session.scalars(select(ExchangeKey.key_id).where(ExchangeKey.peer_id == upper_peer)).one(),
            message_id=session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.peer_id == upper_peer)
            ).one(),
        )
    return out


# --- naming a commune's record in a route's path -------------------------------------------------


@dataclass(frozen=True)
class IdParam:
    """How a route names one commune's record, and a value of the same shape that names nothing."""

    value: Callable[[Commune, dict[str, str]], str]
    missing: str


# Path parameters that enumerate kinds, not records: the walks take every value.
ENUMS: dict[str, tuple[str, ...]] = {
    "register": tuple(REGISTERS),
    "fmt": ("docx", "xlsx"),
    "action": tuple(a.value for a in Action),
}

# Path parameters that name a record (the same name means the same kind on every route).
IDS: dict[str, IdParam] = {
    "bulletin_id": IdParam(lambda c, _: str(c.bulletin_id), "987654"),
    "number": IdParam(lambda c, _: "1", "1"),
    "record_id": IdParam(lambda c, v: str(c.record_ids[v["register"]]), "987654"),
    "report_id": IdParam(lambda c, _: str(c.report_id), "987654"),
    "programme_id": IdParam(lambda c, _: str(c.programme_id), "987654"),
    "slot_id": IdParam(lambda c, _: c.slot_key, "987654-20300101T0630"),
    "key": IdParam(lambda c, _: c.slot_key, "987654-20300101T0630"),
    "station_id": IdParam(lambda c, _: str(c.station_id), "987654"),
    "uid": IdParam(lambda c, _: c.device_uid, "loa-scope-khong-co"),
    "code": IdParam(lambda c, _: c.unit.code, "99999"),
    "area_code": IdParam(lambda c, _: c.unit.code, "99999"),
    "user_id": IdParam(lambda c, _: str(c.user_id), "987654"),
    "job_id": IdParam(lambda c, _: c.job_id, "0" * 32),
    "sha256": IdParam(lambda c, _: c.photo_sha256, "0" * 64),  # the photo route
    "audio_sha256": IdParam(lambda c, _: c.recording_sha256, "0" * 64),  # audio by hash (issue 20.8)
    "attachment_id": IdParam(lambda c, _: str(c.attachment_id), "987654"),
    "announcement_id": IdParam(lambda c, _: str(c.announcement_id), "987654"),
    "alert_id": IdParam(lambda c, _: str(c.alert_id), "987654"),
    "stream_id": IdParam(lambda c, _: str(c.stream_id), "987654"),
    "import_id": IdParam(lambda c, v: str(c.import_ids[v["register"]]), "987654"),
    "inbox_id": IdParam(lambda c, _: str(c.inbox_id), "987654"),
    "feedback_id": IdParam(lambda c, _: str(c.feedback_id), "987654"),
    "peer_id": IdParam(lambda c, _: str(c.peer_id), "987654"),
    "key_id": IdParam(lambda c, _: c.key_id, "lx_0000000000000000"),
    "message_id": IdParam(lambda c, _: str(c.message_id), "987654"),
}

# Records that are one person's own rather than an area's: who else sees them. A speech job is seen by
# its requester and administrators; a waiting upload only by the person who uploaded it.
OWNED: dict[str, frozenset[str]] = {"job_id": frozenset({ADMIN}), "import_id": frozenset()}


def sees(user: str, id_params: tuple[str, ...]) -> frozenset[str]:
    """The communes whose record, named by ``id_params``, the user may see (made by each commune's
    operator): by area, except for what is one person's own."""
    owned = [OWNED[p] for p in id_params if p in OWNED]
    if not owned:
        return SEES[user]
    if all(user in others for others in owned):
        return frozenset(LETTERS)
    return frozenset(letter for letter, operator in OPERATORS.items() if operator == user)


def opener(letter: str, id_params: tuple[str, ...]) -> str:
    """Who certainly opens commune ``letter``'s record: the administrator, or for what is one person's
    own and hidden even from administrators, its maker."""
    if any(ADMIN not in OWNED[p] for p in id_params if p in OWNED):
        return OPERATORS[letter]
    return ADMIN
