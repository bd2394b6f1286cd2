"""``make run`` seeds a province a newcomer can explore: areas, people, stations, loudspeakers, and
bulletins that went through the real TTS chain and workflow into a programme and signed manifests.
Seeding twice changes nothing and prints no password again."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from loa.accounts.service import get_user_by_username, principal_for
from loa.app import create_app
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.demo import seed_demo
from loa.demo_content import HOURLY_NEWS, announce_demo_start, seed_demo_content, seed_hourly_news
from loa.fleet.models import Device, DeviceManifest
from loa.schedule.models import Announcement, Programme
from loa.settings import Settings
from loa.speech.models import AudioAsset
from loa.units.models import AdminUnit, Station
from loa.wiring import wire
from tests.support.auth import login_web


def _count(engine: Engine, model: type) -> int:
    factory = wire(engine, Settings(demo=True)).sessions  # type: ignore[call-arg]
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_seeds_a_living_province_once(engine: Engine, settings: Settings) -> None:
    factory = wire(engine, settings).sessions
    with factory() as session, session.begin():
        first = seed_demo(session, settings)
    first += seed_demo_content(factory, settings)

    assert any("3.321 xã/phường/đặc khu" in line for line in first)
    passwords = [line for line in first if line.startswith("  ")]
    assert len(passwords) == 5, "one account per role, each with a printed one-time password"
    assert _count(engine, Station) >= 2
    assert _count(engine, Device) >= 1

    with factory() as session:
        bulletins = list(session.scalars(select(Bulletin)))
        assert {b.status.value for b in bulletins} == {"published"}
        shas = {r.audio_sha256 for b in bulletins for r in b.renditions}
        assert None not in shas and len(shas) == len(bulletins)
        assets = session.scalars(select(AudioAsset).where(AudioAsset.sha256.in_(shas))).all()
        assert all(-17.0 <= a.loudness_lufs <= -15.0 for a in assets), "TTS audio is loudness-normalised"
        manifests = session.scalar(select(func.count()).select_from(DeviceManifest))
        assert manifests and manifests >= _count(engine, Device)
        ba_to = session.scalars(select(AdminUnit).where(AdminUnit.code == "21484")).one()
        assert ba_to.former_district_id is not None

    # Something airs on Ba Tơ's loudspeakers within minutes of every start, and every hour.
    started = seed_hourly_news(factory, settings) + announce_demo_start(factory, settings)
    assert any("30 phút mỗi giờ" in line for line in started) and any("Thông báo" in line for line in started)
    with factory() as session:
        (announcement,) = session.scalars(select(Announcement))
        assert 50 <= (announcement.start_at - utcnow()).total_seconds() <= 60
        hourly = session.scalars(select(Programme).where(Programme.name == HOURLY_NEWS)).one()
        assert hourly.rrule == "FREQ=HOURLY" and hourly.start_local.minute == 30

    with factory() as session, session.begin():
        again = seed_demo(session, settings)
    again += seed_demo_content(factory, settings)
    assert not [line for line in again if line.startswith("  ")], "passwords are printed only once"
    assert _count(engine, Bulletin) == len(bulletins)
    assert seed_hourly_news(factory, settings) == []
    announce_demo_start(factory, settings)  # one is still waiting: no second announcement
    assert _count(engine, Announcement) == 1 and _count(engine, Programme) == 2


def test_dashboard_shows_what_needs_attention_in_scope(engine: Engine, settings: Settings) -> None:
    """The home page counts the operator's loudspeakers and shows an approver the review queue."""
    factory = wire(engine, settings).sessions
    with factory() as session, session.begin():
        lines = seed_demo(session, settings)
    passwords = {line.split()[0]: line.split()[1] for line in lines if line.startswith("  ")}
    with factory() as session, session.begin():
        editor = principal_for(session, get_user_by_username(session, "bientap.quangngai"))
        draft = DraftInput(title="Thông báo lịch cắt điện", body="Nội dung.", area_code="21484")
        bulletin = content.create_bulletin(session, principal=editor, draft=draft)
        content.transition(session, principal=editor, bulletin_id=bulletin.id, action=Action.SUBMIT)
        devices = int(session.scalar(select(func.count()).select_from(Device)) or 0)

    with TestClient(create_app(settings, engine=engine)) as client:
        login_web(client, "lanhdao.quangngai", passwords["lanhdao.quangngai"])
        page = client.get("/").text
        assert "Thông báo lịch cắt điện" in page
        assert "<strong>1</strong> bản tin đang chờ bạn duyệt" in page
        assert "Hoạt động gần đây" in page and "Gửi duyệt tin bài" in page

    with TestClient(create_app(settings, engine=engine)) as client:
        login_web(client, "canbo.bato", passwords["canbo.bato"])
        page = client.get("/").text
        assert f"/ {devices} đang trực tuyến" in page
        assert "Bạn không có quyền duyệt tin." in page
