"""Small, readable schedule snapshots for the tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time

from loa.protocol.manifest import AudioKind
from loa.protocol.priority import Priority
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

PROVINCE = Target(TargetKind.PROVINCE, "51")
BA_TO = Target(TargetKind.COMMUNE, "21484")


def audio(name: str, seconds: int) -> AudioRef:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return AudioRef(
        url=f"https://loa.example.vn/audio/{digest}.mp3",
        duration_ms=seconds * 1000,
        sha256=digest,
        size_bytes=seconds * 8000,
    )


def stream(url: str = "https://stream.example.vn/vov1") -> AudioRef:
    return AudioRef(url=url, kind=AudioKind.STREAM)


def entry(bulletin_id: str, seconds: int, *targets: Target) -> Entry:
    return Entry(bulletin_id, f"Tin {bulletin_id}", audio(bulletin_id, seconds), targets=tuple(targets))


def village(code: str) -> Target:
    return Target(TargetKind.VILLAGE, code)


def group(code: str) -> Target:
    return Target(TargetKind.GROUP, code)


def device(
    device_id: str, village_code: str = "v1", *groups: str, commune: str = "21484"
) -> DeviceMembership:
    return DeviceMembership(
        device_id, province="51", commune=commune, village=village_code, station="st-bato", groups=groups
    )


def cchc_programme(*entries: Entry) -> Programme:
    """The reference report's programme: 7:00 on the third Monday of every month, 30 minutes."""
    return Programme(
        id="cchc",
        title="Chuyên mục Cải cách hành chính",
        recurrence=Recurrence.monthly_nth_weekday(date(2023, 1, 1), time(7, 0), nth=3, weekday=0),
        slot_duration_ms=30 * 60_000,
        targets=(BA_TO,),
        running_order=entries or (entry("cchc-news", 600), entry("cchc-article", 900)),
    )


def morning_news(*entries: Entry, targets: tuple[Target, ...] = (BA_TO,), minutes: int = 30) -> Programme:
    return Programme(
        id="morning",
        title="Bản tin sáng",
        recurrence=Recurrence.daily(date(2023, 1, 1), time(6, 0)),
        slot_duration_ms=minutes * 60_000,
        targets=targets,
        running_order=entries,
    )


def announcement(
    ident: str,
    at: datetime,
    seconds: int = 60,
    *,
    targets: tuple[Target, ...] = (BA_TO,),
    priority: int = 500,
) -> Announcement:
    return Announcement(
        id=ident,
        title=f"Thông báo {ident}",
        start_at=at,
        audio=audio(ident, seconds),
        targets=targets,
        priority=priority,
        bulletin_id=f"b-{ident}",
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def small_snapshot() -> Snapshot:
    """Ba Tơ: two villages, three devices; a daily news slot where each village hears its own notice."""
    return Snapshot(
        programmes=(
            morning_news(
                entry("n1", 300),
                entry("n2", 240),
                entry("notice-v1", 60, village("v1")),
                entry("notice-v2", 90, village("v2")),
            ),
            cchc_programme(),
        ),
        announcements=(announcement("storm", utc(2023, 1, 16, 2, 0), priority=Priority.PRIORITY_BULLETIN),),
        devices=(device("loa-001", "v1", "g-a"), device("loa-002", "v1", "g-a"), device("loa-003", "v2")),
    )
