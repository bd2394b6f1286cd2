"""The database path of scheduling: build the compiler snapshot from SQLite for 10,000 devices in 1,000
groups, compile, sign and store the manifests; the pure compilation of the same snapshot, measured in
the same run, is the baseline (the ratio shows what the database adds).

Fleet: 100 communes of 10 villages, 10 loudspeakers per village, one device group per village. Content:
the province-wide CCHC programme (8 recordings), two daily news slots per commune (9 recordings each),
and one announcement per village group inside the window.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from benchmarks.common import Result, median_seconds
from loa.db import make_engine, make_session_factory
from loa.db.migrate import upgrade
from loa.fleet.models import Device, DeviceGroup, DeviceGroupMember
from loa.protocol.manifest import generate_private_key
from loa.schedule import models as m
from loa.schedule.compiler import Window, compile_manifests
from loa.schedule.dbsnapshot import load_snapshot
from loa.schedule.manifests import compile_and_store
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.units.models import AdminUnit, UnitKind

COMMUNES, VILLAGES, PER_VILLAGE = 100, 10, 10
WINDOW = Window.starting(datetime(2024, 1, 14, 17, 0, tzinfo=UTC))  # 15/01/2024 00:00 Vietnam, a Monday
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _asset(session: Session, name: str, seconds: int) -> str:
    sha = hashlib.sha256(name.encode()).hexdigest()
    session.add(
        AudioAsset(
            sha256=sha,
            format="mp3",
            size_bytes=seconds * 8000,
            duration_ms=seconds * 1000,
            loudness_lufs=-16.0,
            true_peak_dbtp=-1.5,
            sample_rate=22050,
            source_kind=AudioSourceKind.UPLOAD,
            created_at=EPOCH,
        )
    )
    return sha


def _programme(session: Session, name: str, start: datetime, rule: str, minutes: int) -> m.Programme:
    p = m.Programme(
        name=name,
        start_local=start,
        rrule=rule,
        until_cancelled=True,
        slot_duration_ms=minutes * 60_000,
        priority=300,
        preempt_rule="resume",
        except_dates=[],
        except_local=[],
        extra_local=[],
        created_at=EPOCH,
        updated_at=EPOCH,
    )
    session.add(p)
    session.flush()
    return p


def _items(session: Session, p: m.Programme, names: list[tuple[str, int]]) -> None:
    for position, (name, seconds) in enumerate(names):
        session.add(
            m.RunningOrderItem(
                programme_id=p.id,
                position=position,
                kind=m.ItemKind.RECORDING,
                audio_sha256=_asset(session, name, seconds),
                title=name,
            )
        )


def seed(engine: Engine) -> None:
    with make_session_factory(engine)() as s, s.begin():
        province = AdminUnit(code="51", kind=UnitKind.PROVINCE, name="Tỉnh", name_folded="tinh", path="/51/")
        s.add(province)
        s.flush()
        cchc = _programme(
            s, "Chuyên mục Cải cách hành chính", datetime(2024, 1, 15, 7, 0), "FREQ=MONTHLY;BYDAY=3MO", 30
        )
        s.add(m.ProgrammeTarget(programme_id=cchc.id, kind="province", ref_id=province.id, language="vi"))
        _items(s, cchc, [(f"cchc-{i}", 180) for i in range(8)])
        for c in range(COMMUNES):
            code = f"2{c:04d}"
            commune = AdminUnit(
                code=code,
                kind=UnitKind.COMMUNE,
                name=f"Xã {c}",
                name_folded=f"xa {c}",
                parent_id=province.id,
                path=f"/51/{code}/",
            )
            s.add(commune)
            s.flush()
            for slot, hour in (("sang", 6), ("chieu", 17)):
                p = _programme(
                    s, f"Bản tin {slot} xã {code}", datetime(2024, 1, 1, hour, 0), "FREQ=DAILY", 45
                )
                s.add(m.ProgrammeTarget(programme_id=p.id, kind="commune", ref_id=commune.id, language="vi"))
                _items(s, p, [(f"{code}-{slot}-{i}", 240) for i in range(9)])
            for v in range(VILLAGES):
                group = DeviceGroup(name=f"nhom-{code}-{v}", commune_id=commune.id)
                s.add(group)
                devices = [
                    Device(uid=f"loa-{c:03d}-{v:02d}-{k:02d}", name=f"Loa {c}-{v}-{k}", commune_id=commune.id)
                    for k in range(PER_VILLAGE)
                ]
                s.add_all(devices)
                s.flush()
                s.add_all(DeviceGroupMember(group_id=group.id, device_id=d.id) for d in devices)
                a = m.Announcement(
                    title=f"Thông báo tiêm chủng thôn {v}",
                    audio_sha256=_asset(s, f"tb-{code}-{v}", 60),
                    start_at=WINDOW.start_at + timedelta(hours=3, minutes=v),
                    priority=500,
                    preempt_rule="restart",
                    area_id=commune.id,
                    created_at=EPOCH,
                )
                s.add(a)
                s.flush()
                s.add(
                    m.AnnouncementTarget(announcement_id=a.id, kind="group", ref_id=group.id, language="vi")
                )


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'schedule.sqlite3'}")
        upgrade(engine)
        start = time.perf_counter()
        seed(engine)
        yield Result("schedule.db_seed_10k_devices_s", time.perf_counter() - start, "s")
        factory = make_session_factory(engine)
        key = generate_private_key()
        loaded = []

        def build() -> None:
            with factory() as s:
                loaded.append(load_snapshot(s, start_at=WINDOW.start_at, end_at=WINDOW.end_at))

        build_s = median_seconds(build, repeat=3)
        snapshot = loaded[-1].snapshot
        pure_s = median_seconds(
            lambda: compile_manifests(snapshot, window=WINDOW, generated_at=WINDOW.start_at, signing_key=key),
            repeat=3,
        )
        yield Result("schedule.db_snapshot_build_10k_devices", build_s, "s")
        yield Result("schedule.pure_compile_same_snapshot", pure_s, "s")
        yield Result("schedule.db_snapshot_plus_compile", build_s + pure_s, "s", target=10.0)
        yield Result("schedule.db_snapshot_plus_compile_vs_pure_ratio", (build_s + pure_s) / pure_s, "x")

        def store() -> int:
            with factory() as s, s.begin():
                return len(compile_and_store(s, key=key, now=WINDOW.start_at, full=True).changed)

        start = time.perf_counter()
        issued = store()
        first_s = time.perf_counter() - start
        yield Result("schedule.db_compile_and_store_all_10k", first_s, "s", target=30.0)
        yield Result("schedule.db_compile_and_store_all_vs_pure_ratio", first_s / pure_s, "x")
        yield Result("schedule.db_manifests_issued", float(issued), "manifests")
        unchanged_s = median_seconds(store, repeat=3)
        yield Result("schedule.db_recompile_nothing_changed_10k", unchanged_s, "s")
        engine.dispose()
