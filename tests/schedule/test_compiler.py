"""Manifest compilation: per-device items, determinism, sharing by target set, incremental changes."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loa.errors import InvalidInput
from loa.protocol.manifest import (
    decode_manifest,
    diff_manifests,
    generate_private_key,
    open_signed,
    public_key_bytes,
)
from loa.protocol.priority import Priority
from loa.schedule.compiler import (
    ChangeSet,
    Compilation,
    DeviceState,
    Window,
    compile_manifests,
    diff_snapshots,
    recompile,
)
from loa.schedule.recurrence import to_local
from loa.schedule.snapshot import Episode, Programme, Snapshot
from tests.schedule.builders import (
    BA_TO,
    announcement,
    cchc_programme,
    device,
    entry,
    group,
    morning_news,
    small_snapshot,
    stream,
    utc,
    village,
)

KEY = generate_private_key()
WINDOW = Window.starting(utc(2023, 1, 15, 17, 0))  # 16/01 00:00 → 18/01 00:00 in Vietnam
GENERATED = utc(2023, 1, 15, 16, 55)


def compile_small(snapshot: Snapshot | None = None, **kw: object) -> Compilation:
    return compile_manifests(
        snapshot or small_snapshot(),
        window=WINDOW,
        generated_at=GENERATED,
        signing_key=KEY,
        **kw,  # type: ignore[arg-type]
    )


def titles(c: Compilation, device_id: str) -> list[str]:
    return [f"{to_local(i.start_at):%d/%m %H:%M:%S} {i.title}" for i in c.manifests[device_id].manifest.items]


def test_each_village_hears_its_own_notice_in_the_shared_slot() -> None:
    c = compile_small()
    assert titles(c, "loa-001") == [
        "16/01 06:00:00 Tin n1", "16/01 06:05:00 Tin n2", "16/01 06:09:00 Tin notice-v1",
        "16/01 07:00:00 Tin cchc-news", "16/01 07:10:00 Tin cchc-article",
        "16/01 09:00:00 Thông báo storm",
        "17/01 06:00:00 Tin n1", "17/01 06:05:00 Tin n2", "17/01 06:09:00 Tin notice-v1",
    ]  # fmt: skip
    assert [t for t in titles(c, "loa-003") if "notice" in t] == [
        "16/01 06:09:00 Tin notice-v2",
        "17/01 06:09:00 Tin notice-v2",
    ]
    # loa-001 and loa-002 (same village and group) share one compilation; loa-003 has its own
    assert c.target_sets == 2 and c.compiled_target_sets == 2
    assert c.manifests["loa-001"].content_hash == c.manifests["loa-002"].content_hash
    assert c.manifests["loa-001"].body != c.manifests["loa-002"].body  # the device id differs


def test_manifest_items_carry_what_the_device_needs() -> None:
    c = compile_small()
    compiled = c.manifests["loa-001"]
    m = open_signed(compiled.body, compiled.signature or b"", [public_key_bytes(KEY)])
    assert m == compiled.manifest and m.manifest_version == 1 and m.schema_version == 1
    assert (m.valid_from, m.valid_until) == (WINDOW.start_at, WINDOW.end_at)
    first = m.items[0]
    assert first.start_at == utc(2023, 1, 15, 23, 0) and first.start_local == "2023-01-16T06:00:00.000+07:00"
    assert first.not_after_at == utc(2023, 1, 15, 23, 30)  # the end of the slot
    assert first.priority == Priority.SCHEDULED and first.audio.sha256 and first.audio.size_bytes
    assert first.bulletin_id == "n1" and first.source_id == "morning"
    storm = next(i for i in m.items if i.source_id == "storm")
    assert storm.priority == Priority.PRIORITY_BULLETIN and storm.preempt_rule == "restart"


def test_cchc_programme_compiles_into_the_twelve_third_mondays_of_2023() -> None:
    snapshot = Snapshot(programmes=(cchc_programme(),), devices=(device("loa-001"),))
    airings: set[str] = set()
    start = datetime(2022, 12, 31, 17, 0, tzinfo=UTC)  # 1/1/2023 00:00 in Vietnam
    while start < datetime(2023, 12, 31, 17, 0, tzinfo=UTC):
        window = Window(start, min(start + timedelta(days=14), datetime(2023, 12, 31, 17, 0, tzinfo=UTC)))
        c = compile_manifests(snapshot, window=window, generated_at=start)
        for item in c.manifests["loa-001"].manifest.items:
            if item.bulletin_id == "cchc-news":
                airings.add(to_local(item.start_at).strftime("%d/%m %H:%M %a"))
        start = window.end_at
    assert sorted(airings, key=lambda s: (s[3:5], s[:2])) == [
        "16/01 07:00 Mon", "20/02 07:00 Mon", "20/03 07:00 Mon", "17/04 07:00 Mon",
        "15/05 07:00 Mon", "19/06 07:00 Mon", "17/07 07:00 Mon", "21/08 07:00 Mon",
        "18/09 07:00 Mon", "16/10 07:00 Mon", "20/11 07:00 Mon", "18/12 07:00 Mon",
    ]  # fmt: skip


def test_a_relay_fills_the_rest_of_its_slot() -> None:
    relay = morning_news(entry("intro", 60), dataclasses.replace(entry("vov", 1), audio=stream()), minutes=30)
    c = compile_small(Snapshot(programmes=(relay,), devices=(device("loa-001"),)))
    items = c.manifests["loa-001"].manifest.items
    assert [(i.audio.kind.value, i.duration_ms) for i in items[:2]] == [
        ("file", 60_000),
        ("stream", 29 * 60_000),
    ]


def test_determinism_same_bytes_same_signature_whatever_the_input_order() -> None:
    snapshot = small_snapshot()
    one, two = compile_small(snapshot), compile_small(snapshot)
    rnd = random.Random(7)
    shuffled = Snapshot(
        programmes=tuple(rnd.sample(snapshot.programmes, len(snapshot.programmes))),
        announcements=snapshot.announcements,
        devices=tuple(rnd.sample(snapshot.devices, len(snapshot.devices))),
    )
    three = compile_small(shuffled)
    for device_id in ("loa-001", "loa-002", "loa-003"):
        assert (
            one.manifests[device_id].body == two.manifests[device_id].body == three.manifests[device_id].body
        )
        assert one.manifests[device_id].signature == three.manifests[device_id].signature
        assert (
            decode_manifest(one.manifests[device_id].body).content_hash
            == one.manifests[device_id].content_hash
        )


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_shuffled_running_order_targets_and_devices_give_the_same_bytes(rnd: random.Random) -> None:
    base = small_snapshot()
    programmes = tuple(
        dataclasses.replace(p, targets=tuple(rnd.sample(p.targets, len(p.targets)))) for p in base.programmes
    )
    shuffled = Snapshot(
        programmes=tuple(rnd.sample(programmes, len(programmes))),
        announcements=base.announcements,
        devices=tuple(
            dataclasses.replace(d, groups=d.groups) for d in rnd.sample(base.devices, len(base.devices))
        ),
    )
    a, b = compile_small(base), compile_small(shuffled)
    assert {d: m.body for d, m in a.manifests.items()} == {d: m.body for d, m in b.manifests.items()}


def test_a_device_added_later_picks_up_its_schedule() -> None:
    before = compile_small()
    snapshot = dataclasses.replace(
        small_snapshot(), devices=(*small_snapshot().devices, device("loa-004", "v2"))
    )
    after = recompile(before, snapshot, generated_at=GENERATED + timedelta(minutes=1), signing_key=KEY)
    assert after.changed == {"loa-004"}
    assert after.manifests["loa-004"].content_hash == before.manifests["loa-003"].content_hash
    assert after.compiled_target_sets == 0  # its village's items were already compiled


def test_a_withdrawn_bulletin_disappears_from_every_future_manifest() -> None:
    before = compile_small()
    base = small_snapshot()
    withdrawn = dataclasses.replace(
        base,
        programmes=tuple(
            dataclasses.replace(p, running_order=tuple(e for e in p.running_order if e.bulletin_id != "n2"))
            for p in base.programmes
        ),
    )
    after = recompile(before, withdrawn, generated_at=GENERATED + timedelta(minutes=1), signing_key=KEY)
    assert after.changed == {"loa-001", "loa-002", "loa-003"}
    for device_id, compiled in after.manifests.items():
        assert "n2" not in {i.bulletin_id for i in compiled.manifest.items}
        assert compiled.manifest_version == 2
        diff = diff_manifests(before.manifests[device_id].manifest, compiled.manifest)
        assert [i.bulletin_id for i in diff.removed] == ["n2", "n2"]
        assert all(c.fields == ("start_at",) for c in diff.changed)  # the notice moves up 4 minutes


def test_only_devices_reached_by_a_change_get_a_new_version() -> None:
    base = small_snapshot()
    before = compile_small(base)
    late = announcement(
        "water", utc(2023, 1, 16, 4, 0), targets=(village("v2"),), priority=Priority.SCHEDULED
    )
    changed = dataclasses.replace(base, announcements=(*base.announcements, late))
    after = recompile(before, changed, generated_at=GENERATED + timedelta(minutes=1), signing_key=KEY)
    assert after.changed == {"loa-003"} and set(after.manifests) == {"loa-003"}
    assert after.states["loa-001"] == before.states["loa-001"]
    assert after.states["loa-003"].manifest_version == 2
    # nothing changed at all → nothing re-sent
    again = recompile(after, changed, generated_at=GENERATED + timedelta(minutes=2), signing_key=KEY)
    assert not again.changed and not again.manifests and again.states == after.states


def test_identical_content_keeps_its_version_across_full_compilations() -> None:
    first = compile_small()
    second = compile_small(previous=first.states)
    assert not second.manifests and second.states == first.states
    moved = Window.starting(WINDOW.start_at + timedelta(hours=30))
    third = compile_manifests(small_snapshot(), window=moved, generated_at=GENERATED, previous=first.states)
    assert third.renewed == set() and third.changed == {"loa-001", "loa-002", "loa-003"}  # new days in view
    stale = {
        d: DeviceState(s.manifest_version, s.content_hash, WINDOW.start_at + timedelta(hours=10))
        for d, s in first.states.items()
    }
    renewed = compile_small(previous=stale)
    assert renewed.renewed == {"loa-001", "loa-002", "loa-003"} and not renewed.changed
    assert renewed.manifests["loa-001"].manifest_version == 2


def test_removed_devices_are_reported() -> None:
    before = compile_small()
    fewer = dataclasses.replace(small_snapshot(), devices=small_snapshot().devices[:2])
    after = recompile(before, fewer, generated_at=GENERATED, signing_key=KEY)
    assert after.removed == {"loa-003"} and "loa-003" not in after.states


def test_incremental_equals_full_after_random_changes() -> None:
    rnd = random.Random(42)
    snapshot = small_snapshot()
    compiled = compile_small(snapshot)
    for step in range(12):
        snapshot = _random_change(snapshot, rnd, step)
        compiled = recompile(compiled, snapshot, generated_at=GENERATED, signing_key=KEY)
        full = compile_small(snapshot)
        assert {d: s.content_hash for d, s in compiled.states.items()} == {
            d: s.content_hash for d, s in full.states.items()
        }, step


def _random_change(snapshot: Snapshot, rnd: random.Random, step: int) -> Snapshot:
    choice = rnd.randrange(4)
    if choice == 0:
        d = device(
            f"new-{step}", rnd.choice(["v1", "v2", "v3"]), *rnd.sample(["g-a", "g-b"], rnd.randrange(3))
        )
        return dataclasses.replace(snapshot, devices=(*snapshot.devices, d))
    if choice == 1 and len(snapshot.devices) > 1:
        moved = dataclasses.replace(snapshot.devices[0], village=rnd.choice(["v1", "v2"]), groups=("g-b",))
        return dataclasses.replace(snapshot, devices=(*snapshot.devices[1:], moved))
    if choice == 2:
        a = announcement(
            f"a{step}",
            utc(2023, 1, 16, rnd.randrange(24), 0),
            targets=(rnd.choice([group("g-a"), village("v2"), BA_TO]),),
        )
        return dataclasses.replace(snapshot, announcements=(*snapshot.announcements, a))
    programmes = list(snapshot.programmes)
    p = programmes[0]
    programmes[0] = dataclasses.replace(
        p, running_order=(*p.running_order, entry(f"x{step}", 30, village("v1")))
    )
    return dataclasses.replace(snapshot, programmes=tuple(programmes))


def test_episode_running_order_replaces_the_default_for_one_airing() -> None:
    base = small_snapshot()
    episode = Episode("cchc", datetime(2023, 1, 16, 7, 0), (entry("cchc-jan", 1200),))
    c = compile_small(dataclasses.replace(base, episodes=(episode,)))
    assert [i.bulletin_id for i in c.manifests["loa-001"].manifest.items if i.source_id == "cchc"] == [
        "cchc-jan"
    ]
    changes = diff_snapshots(base, dataclasses.replace(base, episodes=(episode,)))
    assert changes == ChangeSet(programmes=frozenset({"cchc"}))


def test_overfull_slot_is_a_warning_with_the_overrun_in_minutes() -> None:
    news = morning_news(entry("long-1", 1500), entry("long-2", 1500), entry("late", 600), minutes=30)
    c = compile_small(Snapshot(programmes=(news,), devices=(device("loa-001"), device("loa-002"))))
    assert len(c.overfull) == 2  # one per airing in the 48 hours
    w = c.overfull[0]
    assert w.overrun_minutes == 30 and w.devices == ("loa-001", "loa-002")
    assert w.cut == ("Tin long-2",) and w.dropped == ("Tin late",)
    assert w.message.startswith("Khung giờ «Bản tin sáng» lúc 06:00 ngày 16/01/2023 dài 30 phút")
    assert "vượt 30 phút" in w.message and "Sẽ không được phát: «Tin late»" in w.message
    items = c.manifests["loa-001"].manifest.items
    assert [i.bulletin_id for i in items][:2] == ["long-1", "long-2"] and "late" not in {
        i.bulletin_id for i in items
    }
    assert items[1].not_after_at == utc(2023, 1, 15, 23, 30)  # the device cuts it at the slot end


def test_same_priority_overlap_is_a_conflict_with_a_proposal() -> None:
    base = small_snapshot()
    clash = Programme(
        id="health",
        title="Chuyên mục Y tế",
        recurrence=dataclasses.replace(base.programmes[0].recurrence, start_local=datetime(2023, 1, 1, 6, 5)),
        slot_duration_ms=15 * 60_000,
        targets=(group("g-a"),),
        running_order=(entry("h1", 300),),
    )
    c = compile_small(dataclasses.replace(base, programmes=(*base.programmes, clash)))
    assert len(c.conflicts) == 2  # two mornings
    first = c.conflicts[0]
    assert [b.title for b in first.items] == ["Bản tin sáng", "Chuyên mục Y tế"]
    assert first.devices == ("loa-001", "loa-002")
    assert first.proposed_resolution.new_start_at == utc(2023, 1, 15, 23, 10)  # after 06:10 local
    assert "cùng mức Thông thường bị trùng giờ 5 phút" in first.message
    assert "Đề xuất: dời «Chuyên mục Y tế» sang 06:10 ngày 16/01/2023" in first.message


def test_notices_for_targets_without_devices_and_unmatched_episodes() -> None:
    base = small_snapshot()
    lonely = announcement("far", utc(2023, 1, 16, 3, 0), targets=(village("v9"),))
    stray = Episode("cchc", datetime(2023, 1, 17, 7, 0), (entry("x", 60),))
    c = compile_small(dataclasses.replace(base, announcements=(lonely,), episodes=(stray,)))
    codes = {n.code: n.message for n in c.notices}
    assert (
        codes["target_no_device"]
        == "Thông báo «Thông báo far» chưa có thiết bị nào nhận (nơi phát: Thôn, tổ dân phố v9)."
    )
    assert "không khớp với lịch lặp lại" in codes["episode_unmatched"]


def test_an_invalid_snapshot_is_refused_whole_with_every_problem_listed() -> None:
    base = small_snapshot()
    never = dataclasses.replace(
        base.programmes[0],
        recurrence=dataclasses.replace(
            base.programmes[0].recurrence, rule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"
        ),
    )
    naive = dataclasses.replace(base.announcements[0], start_at=datetime(2023, 1, 16, 9, 0))
    bad = dataclasses.replace(base, programmes=(never, base.programmes[1]), announcements=(naive,))
    with pytest.raises(InvalidInput) as err:
        compile_small(bad)
    assert err.value.code == "schedule_invalid"
    assert err.value.message == "Không thể lập lịch phát: có 2 lỗi trong dữ liệu lịch."
    details: list[str] = err.value.details or []
    assert any("không bao giờ tạo ra lần phát nào" in p for p in details)
    assert any("giờ phát phải có múi giờ" in p for p in details)


def test_unknown_timezone_and_bad_windows() -> None:
    base = small_snapshot()
    with pytest.raises(InvalidInput) as err:
        compile_small(dataclasses.replace(base, timezone="Mars/Olympus"))
    assert err.value.code == "timezone_unknown"
    with pytest.raises(InvalidInput, match="tối đa 14 ngày"):
        Window(WINDOW.start_at, WINDOW.start_at + timedelta(days=30))
    with pytest.raises(InvalidInput, match="phải sau"):
        Window(WINDOW.start_at, WINDOW.start_at)
