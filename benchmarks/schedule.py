"""Scheduling: 48-hour manifests for 10,000 devices in 1,000 groups, incremental recompilation,
manifest size and signing rate.

The fleet: one province, 100 communes of 10 villages, 10 loudspeakers per village (one device group per
village). Programmes: a province-wide relay and the monthly CCHC programme, two daily news slots per
commune whose last lines are aimed at single villages, and one announcement per village group.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import statistics
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from benchmarks import schedule_db
from benchmarks.common import Result, median_seconds
from loa.protocol.manifest import AudioKind, generate_private_key, sign, verify
from loa.protocol.priority import Priority
from loa.schedule.compiler import Compilation, Window, compile_manifests, recompile
from loa.schedule.recurrence import Recurrence
from loa.schedule.snapshot import (
    Announcement,
    AudioRef,
    DeviceMembership,
    Entry,
    Programme,
    Snapshot,
    Target,
    TargetKind,
)

COMMUNES, VILLAGES, PER_VILLAGE = 100, 10, 10
START = date(2024, 1, 1)
WINDOW = Window.starting(datetime(2024, 1, 14, 17, 0, tzinfo=UTC))  # 15/01 00:00 Vietnam, a Monday


def _audio(name: str, seconds: int) -> AudioRef:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return AudioRef(f"https://cdn.loa.example.vn/a/{digest}.mp3", seconds * 1000, digest, seconds * 8000)


def fleet() -> Snapshot:
    province = (Target(TargetKind.PROVINCE, "51"),)
    programmes = [
        Programme(
            "relay-vov",
            "Tiếp sóng Đài Tiếng nói Việt Nam",
            Recurrence.daily(START, clock(5, 0)),
            45 * 60_000,
            province,
            (
                Entry(
                    "vov",
                    "Tiếp sóng VOV1",
                    AudioRef("https://stream.loa.example.vn/vov1", kind=AudioKind.STREAM),
                ),
            ),
            priority=Priority.BACKGROUND,
        ),
        Programme(
            "cchc",
            "Chuyên mục Cải cách hành chính",
            Recurrence.monthly_nth_weekday(START, clock(7, 0), nth=3, weekday=0),
            30 * 60_000,
            province,
            tuple(
                Entry(f"cchc-{i}", f"Tin cải cách hành chính {i}", _audio(f"cchc{i}", 180)) for i in range(8)
            ),
        ),
    ]
    announcements, devices = [], []
    for c in range(COMMUNES):
        commune = f"2{c:04d}"
        for slot, hour in (("sang", 6), ("chieu", 17)):
            running_order = tuple(
                Entry(
                    f"b-{commune}-{slot}-{i}",
                    f"Tin {i} bản tin {slot} xã {commune}",
                    _audio(f"{commune}{slot}{i}", 240),
                    targets=(Target(TargetKind.VILLAGE, f"{commune}-{i}"),) if i >= 6 else (),
                )
                for i in range(9)
            )
            programmes.append(
                Programme(
                    f"{commune}-{slot}",
                    f"Bản tin {slot} xã {commune}",
                    Recurrence.daily(START, clock(hour, 0)),
                    45 * 60_000,
                    (Target(TargetKind.COMMUNE, commune),),
                    running_order,
                )
            )
        for v in range(VILLAGES):
            group = f"nhom-{commune}-{v}"
            announcements.append(
                Announcement(
                    f"tb-{commune}-{v}",
                    f"Thông báo lịch tiêm chủng thôn {v}",
                    WINDOW.start_at + timedelta(hours=3, minutes=v),
                    _audio(f"tb{commune}{v}", 60),
                    (Target(TargetKind.GROUP, group),),
                )
            )
            for k in range(PER_VILLAGE):
                devices.append(
                    DeviceMembership(
                        f"loa-{c:03d}-{v:02d}-{k:02d}",
                        province="51",
                        commune=commune,
                        village=f"{commune}-{v}",
                        station=f"dai-{commune}",
                        groups=(group,),
                    )
                )
    return Snapshot(tuple(programmes), (), tuple(announcements), tuple(devices))


def _change_bulletin(snapshot: Snapshot, programme_id: str, version: int) -> Snapshot:
    def edit(p: Programme) -> Programme:
        if p.id != programme_id:
            return p
        first = dataclasses.replace(p.running_order[0], audio=_audio(f"re-recorded-{version}", 200))
        return dataclasses.replace(p, running_order=(first, *p.running_order[1:]))

    return dataclasses.replace(snapshot, programmes=tuple(edit(p) for p in snapshot.programmes))


def run() -> Iterable[Result]:
    snapshot = fleet()
    key = generate_private_key()
    compiled: list[Compilation] = []

    def full() -> None:
        compiled.append(
            compile_manifests(snapshot, window=WINDOW, generated_at=WINDOW.start_at, signing_key=key)
        )

    yield Result("schedule.compile_10k_devices_48h", median_seconds(full, repeat=3), "s", target=10.0)
    base = compiled[-1]
    yield Result("schedule.distinct_target_sets", float(base.target_sets), "sets")

    for label, programme_id, target in (
        ("schedule.recompile_one_commune_bulletin", "20042-sang", 1.0),
        ("schedule.recompile_one_province_bulletin", "cchc", None),
    ):
        samples, changed = [], 0
        for n in range(5):
            edited = _change_bulletin(snapshot, programme_id, n)
            start = time.perf_counter()
            after = recompile(base, edited, generated_at=WINDOW.start_at, signing_key=key)
            samples.append(time.perf_counter() - start)
            changed = len(after.changed)
        yield Result(label, statistics.median(samples), "s", target=target)
        yield Result(label + "_devices_changed", float(changed), "devices")

    bodies = [m.body for m in base.manifests.values()]
    sample = bodies[:: max(1, len(bodies) // 200)]
    yield Result("schedule.manifest_json_bytes", statistics.median(len(b) for b in sample), "B")
    yield Result(
        "schedule.manifest_gzip_bytes", statistics.median(len(gzip.compress(b, 6)) for b in sample), "B"
    )
    yield Result(
        "schedule.manifest_items",
        statistics.median(len(m.result.items) for m in base.manifests.values()),
        "items",
    )

    body = bodies[0]
    signature = sign(body, key)
    public = key.public_key()
    rounds = 2000
    seconds = median_seconds(lambda: [sign(body, key) for _ in range(rounds)], repeat=3)
    yield Result("schedule.sign_rate", rounds / seconds, "manifests/s", better="higher")
    seconds = median_seconds(lambda: [verify(body, signature, public) for _ in range(rounds)], repeat=3)
    yield Result("schedule.verify_rate", rounds / seconds, "manifests/s", better="higher")

    # The database path (snapshot from SQLite, compile, sign, store), against the pure compile above.
    yield from schedule_db.run()
