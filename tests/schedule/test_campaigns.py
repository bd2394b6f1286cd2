"""Campaign caps ("3 lần/ngày trong 7 ngày", at most N a day) and fallback playlists, in the pure core:
the recurrence, its words, the compiler and the device preview all agree."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from loa.errors import InvalidInput
from loa.protocol import itemids
from loa.protocol.priority import Priority
from loa.protocol.timeline import Status
from loa.schedule.compiler import Window, compile_manifests
from loa.schedule.playout import items_from_manifest, resolve_timeline
from loa.schedule.recurrence import Recurrence, occurrences, to_local, validate
from loa.schedule.snapshot import Episode, Snapshot
from loa.schedule.wording import describe
from tests.schedule.builders import announcement, device, entry, morning_news, utc, village

WINDOW = Window.starting(utc(2023, 1, 15, 17, 0))  # 16/01 00:00 → 18/01 00:00 in Vietnam


def local_times(recurrence: Recurrence, start: datetime, days: int) -> list[str]:
    start_at = utc(start.year, start.month, start.day) - timedelta(hours=7)
    found = occurrences(recurrence, start_at, start_at + timedelta(days=days))
    return [f"{to_local(at):%d/%m %H:%M}" for at in found]


# --- the cap ---


def test_every_two_hours_at_most_three_a_day_counts_the_day_from_the_start_time() -> None:
    campaign = Recurrence(datetime(2024, 3, 4, 6, 0), "FREQ=HOURLY;INTERVAL=2", max_per_day=3)
    assert local_times(campaign, datetime(2024, 3, 5), 2) == [
        "05/03 06:00",
        "05/03 08:00",
        "05/03 10:00",
        "06/03 06:00",
        "06/03 08:00",
        "06/03 10:00",
    ]


def test_three_times_a_day_for_seven_days() -> None:
    campaign = Recurrence(
        datetime(2024, 3, 4, 6, 30),
        "FREQ=DAILY;BYHOUR=6,11,17;BYMINUTE=30;UNTIL=20240310T235959",
        max_per_day=3,
    )
    found = local_times(campaign, datetime(2024, 3, 1), 14)
    assert len(found) == 21
    assert found[:3] == ["04/03 06:30", "04/03 11:30", "04/03 17:30"]
    assert found[-1] == "10/03 17:30"


def test_a_window_starting_mid_day_still_counts_that_days_earlier_airings() -> None:
    campaign = Recurrence(datetime(2024, 3, 4, 6, 0), "FREQ=HOURLY;INTERVAL=1", max_per_day=2)
    # 06:00 and 07:00 air; a window opening at 06:30 must not let 08:00 in as "the second".
    opening = utc(2024, 3, 5, 6, 30) - timedelta(hours=7)
    found = occurrences(campaign, opening, opening + timedelta(hours=12))
    assert [f"{to_local(at):%H:%M}" for at in found] == ["07:00"]


def test_the_cap_is_taken_before_cancellations_and_keeps_airings_added_by_hand() -> None:
    base = Recurrence(datetime(2024, 3, 4, 6, 0), "FREQ=HOURLY;INTERVAL=1", max_per_day=2)
    moved = dataclasses.replace(
        base,
        except_local=(datetime(2024, 3, 5, 7, 0),),  # 07:00 cancelled: 08:00 does not take its place
        extra_local=(datetime(2024, 3, 5, 20, 0),),  # an airing moved by hand stays
    )
    assert local_times(moved, datetime(2024, 3, 5), 1) == ["05/03 06:00", "05/03 20:00"]


def test_no_cap_leaves_the_rule_alone() -> None:
    hourly = Recurrence(datetime(2024, 3, 4, 6, 0), "FREQ=HOURLY;INTERVAL=6")
    assert len(local_times(hourly, datetime(2024, 3, 5), 1)) == 4


@pytest.mark.parametrize("cap", [0, -1, 49])
def test_a_cap_out_of_range_is_refused_in_vietnamese(cap: int) -> None:
    with pytest.raises(InvalidInput) as err:
        validate(Recurrence(datetime(2024, 3, 4, 6, 0), "FREQ=DAILY", max_per_day=cap))
    assert err.value.code == "max_per_day_invalid"
    assert "mỗi ngày" in err.value.message


def test_the_cap_is_said_in_words() -> None:
    every_two = Recurrence(datetime(2024, 3, 4, 6, 0), "FREQ=HOURLY;INTERVAL=2", max_per_day=3)
    assert "tối đa 3 lần mỗi ngày (ngày tính từ 06:00)" in describe(every_two, until_cancelled=True)
    midnight = Recurrence(datetime(2024, 3, 4, 0, 0), "FREQ=HOURLY;INTERVAL=4;COUNT=30", max_per_day=2)
    assert describe(midnight).endswith("tối đa 2 lần mỗi ngày")


def test_the_compiler_honours_the_cap() -> None:
    news = morning_news(entry("n1", 60))
    campaign = dataclasses.replace(
        news, recurrence=Recurrence(datetime(2023, 1, 1, 6, 0), "FREQ=HOURLY;INTERVAL=3", max_per_day=2)
    )
    compiled = compile_manifests(
        Snapshot(programmes=(campaign,), devices=(device("loa-1"),)),
        window=WINDOW,
        generated_at=WINDOW.start_at,
    )
    starts = [f"{to_local(i.start_at):%d/%m %H:%M}" for i in compiled.manifests["loa-1"].manifest.items]
    assert starts == ["16/01 06:00", "16/01 09:00", "17/01 06:00", "17/01 09:00"]


# --- the fallback playlist ---


def _compiled(snapshot: Snapshot, uid: str = "loa-1"):  # type: ignore[no-untyped-def]
    return compile_manifests(snapshot, window=WINDOW, generated_at=WINDOW.start_at).manifests[uid].manifest


def test_an_empty_airing_plays_the_fallback_at_the_background_rung() -> None:
    programme = dataclasses.replace(morning_news(), fallback=(entry("jingle", 120), entry("music", 600)))
    manifest = _compiled(Snapshot(programmes=(programme,), devices=(device("loa-1"),)))
    first_day = [i for i in manifest.items if to_local(i.start_at).date() == date(2023, 1, 16)]
    assert [(i.title, i.priority, f"{to_local(i.start_at):%H:%M}") for i in first_day] == [
        ("Tin jingle", Priority.BACKGROUND, "06:00"),
        ("Tin music", Priority.BACKGROUND, "06:02"),
    ]
    assert all(i.id.startswith("f.morning.") for i in first_day)  # fallback ids, told apart in receipts


def test_an_airing_with_content_ignores_the_fallback() -> None:
    programme = dataclasses.replace(morning_news(entry("n1", 300)), fallback=(entry("music", 600),))
    manifest = _compiled(Snapshot(programmes=(programme,), devices=(device("loa-1"),)))
    assert {i.title for i in manifest.items} == {"Tin n1"}
    assert all(i.priority == Priority.SCHEDULED for i in manifest.items)


def test_fallback_fills_only_the_airings_left_empty_and_only_for_the_devices_left_empty() -> None:
    programme = dataclasses.replace(
        morning_news(entry("for-v1", 300, village("v1"))),
        fallback=(entry("music", 600),),
    )
    episode = Episode("morning", datetime(2023, 1, 17, 6, 0), (entry("n2", 120),))
    snapshot = Snapshot(
        programmes=(programme,), episodes=(episode,), devices=(device("loa-1", "v1"), device("loa-2", "v2"))
    )
    compiled = compile_manifests(snapshot, window=WINDOW, generated_at=WINDOW.start_at).manifests
    by_day = {
        uid: [(f"{to_local(i.start_at):%d/%m}", i.title) for i in c.manifest.items]
        for uid, c in compiled.items()
    }
    assert by_day["loa-1"] == [("16/01", "Tin for-v1"), ("17/01", "Tin n2")]
    assert by_day["loa-2"] == [("16/01", "Tin music"), ("17/01", "Tin n2")]


def test_the_fallback_never_preempts_and_is_never_a_conflict() -> None:
    """Two programmes' fallbacks overlap (equal rung: no conflict); an announcement and a normal
    programme starting inside them take the loudspeaker on time, and the fallback only waits."""
    programme = dataclasses.replace(morning_news(minutes=60), fallback=(entry("music", 3600),))
    other = dataclasses.replace(
        morning_news(minutes=60), id="other", title="Chương trình khác", fallback=(entry("talk", 3600),)
    )
    later = dataclasses.replace(
        morning_news(entry("n-630", 300)),
        id="later",
        title="Bản tin 6 giờ 30",
        recurrence=Recurrence.daily(date(2023, 1, 1), datetime(2023, 1, 1, 6, 30).time()),
    )
    notice = announcement("a1", utc(2023, 1, 15, 23, 10), 120)  # 06:10 on 16/01, priority bulletin
    snapshot = Snapshot(
        programmes=(programme, other, later), announcements=(notice,), devices=(device("loa-1"),)
    )
    compilation = compile_manifests(snapshot, window=WINDOW, generated_at=WINDOW.start_at)
    assert compilation.conflicts == ()
    assert compilation.overfull == ()
    manifest = compilation.manifests["loa-1"].manifest
    timeline = resolve_timeline(items_from_manifest(manifest))
    first_hour = [
        (item, result)
        for item, result in zip(manifest.items, timeline.results, strict=True)
        if to_local(item.start_at).date() == date(2023, 1, 16)
    ]
    assert {i.title for i, _ in first_hour} >= {"Tin music", "Tin talk", "Tin n-630", notice.title}
    for item, result in first_hour:
        if item.priority > Priority.BACKGROUND:
            assert (item.title, result.status, result.delay_ms) == (item.title, Status.PLAYED, 0)
        else:
            assert item.id.startswith("f.")


def test_empty_slot_notice_says_the_fallback_will_play() -> None:
    with_fallback = dataclasses.replace(morning_news(), fallback=(entry("music", 60),))
    notices = compile_manifests(
        Snapshot(programmes=(with_fallback,), devices=(device("loa-1"),)),
        window=WINDOW,
        generated_at=WINDOW.start_at,
    ).notices
    assert any("danh mục dự phòng" in n.message for n in notices if n.code == "slot_empty")


def test_fallback_item_ids_round_trip() -> None:
    at = utc(2023, 1, 15, 23, 0)
    item_id = itemids.fallback_item("12", at, "34", 1)
    assert item_id == "f.12.20230115T2300Z.34.1"
    assert itemids.parse(item_id) == itemids.ItemRef(12, "20230115T2300Z", 34, fallback=True)
    assert itemids.parse(itemids.programme_item("12", at, "34")).fallback is False


def test_a_campaign_starting_late_counts_its_day_from_that_time() -> None:
    late = Recurrence(datetime(2024, 3, 4, 22, 0), "FREQ=HOURLY;INTERVAL=2", max_per_day=2)
    # days run 22:00 → 22:00: 22:00 and 00:00 air, 02:00 … 20:00 do not
    assert local_times(late, datetime(2024, 3, 5), 1) == ["05/03 00:00", "05/03 22:00"]
