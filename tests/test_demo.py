"""``make run`` seeds a province a newcomer can explore: areas, people, stations, loudspeakers, and
bulletins that went through the real TTS chain and workflow into a programme and signed manifests.
Seeding twice changes nothing and prints no password again."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from loa.areas.models import AdminUnit, Station
from loa.content.models import Bulletin
from loa.demo import seed_demo
from loa.demo_content import seed_demo_content
from loa.fleet.models import Device, DeviceManifest
from loa.settings import Settings
from loa.speech.models import AudioAsset
from loa.wiring import wired_session_factory


def _count(engine: Engine, model: type) -> int:
    factory = wired_session_factory(engine, Settings(demo=True))  # type: ignore[call-arg]
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_seeds_a_living_province_once(engine: Engine, settings: Settings) -> None:
    factory = wired_session_factory(engine, settings)
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

    with factory() as session, session.begin():
        again = seed_demo(session, settings)
    again += seed_demo_content(factory, settings)
    assert not [line for line in again if line.startswith("  ")], "passwords are printed only once"
    assert _count(engine, Bulletin) == len(bulletins)
