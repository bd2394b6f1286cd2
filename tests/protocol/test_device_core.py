"""The device core on a virtual clock: the shared scenario table (tests/support/device_table.py),
exactly; and the rules the table cannot show (journal restart, tolerance of odd input, a small plan)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.device.core import BAD_AUDIO_RETRY_MS, CoreConfig, DeviceCore
from loa.protocol.device.items import at_ms
from loa.protocol.priority import PreemptRule
from tests.support.device_table import (
    DEVICE,
    PUBLIC,
    SHA,
    T0,
    Cmd,
    Scenario,
    Schedule,
    Slot,
    command_wire,
    manifest_bytes,
    mismatches,
    play_now,
    run_core,
    scenarios_for,
)


@pytest.mark.parametrize("scenario", scenarios_for("core"), ids=lambda sc: sc.name)
def test_scenario(scenario: Scenario) -> None:
    assert mismatches(scenario, run_core(scenario), tolerance_ms=0) == []


def core(**extra: object) -> DeviceCore:
    return DeviceCore(CoreConfig(DEVICE, (PUBLIC,)), now_ms=T0, ready_audio=SHA.values(), **extra)  # type: ignore[arg-type]


def command(cid: str, now: int, **args: object) -> s.Received:
    _topic, payload = command_wire(play_now(0, cid, f"item-{cid}", **args), now)
    return s.Received(m.parse_server_message(m.Channel.CMD, payload))


def test_receipts_survive_a_restart_and_a_duplicated_ack_is_harmless() -> None:
    first = core()
    first.handle(s.CONNECTED, T0)
    effects = first.handle(command("c1", T0), T0)
    fetch = [e for e in effects if isinstance(e, s.FetchAudio)]
    assert fetch and fetch[0].audio_sha256 == SHA["bulletin"]
    first.handle(s.AudioReady(SHA["bulletin"], 300), T0)
    effects = first.handle(s.TICK, T0 + 300)
    (recorded,) = [e.receipt for e in effects if isinstance(e, s.RecordReceipt)]
    assert recorded.seq == 0 and recorded.outcome is m.Outcome.PLAYED
    # The device restarts before the server acknowledged: the journal hands the receipt back.
    again = core(pending_receipts=[recorded], next_seq=1)
    sent = [e for e in again.handle(s.CONNECTED, T0 + 1000) if isinstance(e, s.SendReceipts)]
    assert [r.receipt_id for e in sent for r in e.batch.receipts] == [recorded.receipt_id]
    ack = m.ReceiptAck(receipt_ids=[recorded.receipt_id, recorded.receipt_id, "unknown"])
    forgotten = [e for e in again.handle(s.Received(ack), T0 + 1100) if isinstance(e, s.ForgetReceipts)]
    assert forgotten == [s.ForgetReceipts((recorded.receipt_id,))]
    assert again.handle(s.Received(ack), T0 + 1200) is not None and again.pending_receipts() == []
    # The next receipt continues the sequence; the item already reported is not reported again.
    assert "item-c1" in again.playout.done_ids and again.outbox.next_seq == 1


def test_unacknowledged_receipts_are_resent_only_when_connected() -> None:
    device = DeviceCore(CoreConfig(DEVICE, (PUBLIC,), resend_receipts_after_ms=1000), now_ms=T0)
    device.handle(command("c1", T0), T0)
    device.handle(s.AudioReady(SHA["bulletin"], 300), T0)
    offline = device.handle(s.TICK, T0 + 300)
    assert any(isinstance(e, s.RecordReceipt) for e in offline)
    assert not any(isinstance(e, s.SendReceipts) for e in offline)  # offline: kept
    assert any(isinstance(e, s.SendReceipts) for e in device.handle(s.CONNECTED, T0 + 400))
    assert device.next_wake_ms == T0 + 1400  # resent a resend period later
    assert not any(isinstance(e, s.SendReceipts) for e in device.handle(s.TICK, T0 + 1399))
    assert any(isinstance(e, s.SendReceipts) for e in device.handle(s.TICK, T0 + 1400))


def test_a_refused_manifest_is_reported_and_the_old_one_kept() -> None:
    device = core()
    body, signature = manifest_bytes(Schedule(0, (Slot("tin", 60_000),)), T0)
    device.handle(s.ManifestFetched(body, signature), T0)
    assert device.manifest_version == 1 and device.manifest_error is None
    effects = device.handle(s.ManifestFetched(body.replace(b"tin", b"tim"), signature), T0)
    assert device.manifest_error == "signature_invalid" and device.manifest_version == 1
    assert any(isinstance(e, s.Note) and e.warning for e in effects)
    assert list(device.items()) == ["tin"]
    other = DeviceCore(CoreConfig("loa-d00000000009", (PUBLIC,)), now_ms=T0)
    other.handle(s.ManifestFetched(body, signature), T0)
    assert other.manifest_error == "wrong_device" and other.manifest is None


def test_an_item_over_before_the_device_started_was_not_heard() -> None:
    """Issue 21.6: a ``device_down`` receipt says nothing was heard: it ends where it starts (the
    item's start), not at the restart, however late the device came back."""
    body, signature = manifest_bytes(Schedule(0, (Slot("tin", -69_000),)), T0)
    device = core()
    effects = device.handle(s.ManifestFetched(body, signature, saved=True), T0)
    (receipt,) = [e.receipt for e in effects if isinstance(e, s.RecordReceipt)]
    assert receipt.outcome is m.Outcome.FAILED and receipt.detail == "device_down"
    assert receipt.started_at == receipt.ended_at == at_ms(T0 - 69_000)


def test_audio_that_failed_its_hash_is_tried_again_after_a_backoff_or_a_new_manifest() -> None:
    """Issue 21.5: a file that once failed its hash check is not refused for ever (the server's copy
    may be fixed): it is wanted again after a growing backoff, and at once when a new manifest
    comes; once it arrives whole, the error is no longer reported."""
    device = DeviceCore(CoreConfig(DEVICE, (PUBLIC,)), now_ms=T0)
    body, signature = manifest_bytes(Schedule(0, (Slot("tin", 7_200_000),)), T0)
    device.handle(s.ManifestFetched(body, signature), T0)
    wanted = lambda at: [i.id for i in device.needed_audio(at)]  # noqa: E731
    assert wanted(T0) == ["tin"]
    device.handle(s.AudioFailed(SHA["programme"], "hash_mismatch"), T0)
    assert device.manifest_error == "audio_hash_mismatch" and wanted(T0 + 1000) == []
    assert wanted(T0 + BAD_AUDIO_RETRY_MS) == ["tin"]  # the backoff is over
    device.handle(s.AudioFailed(SHA["programme"], "hash_mismatch"), T0 + BAD_AUDIO_RETRY_MS)
    assert wanted(T0 + 2 * BAD_AUDIO_RETRY_MS) == []  # it grows
    assert wanted(T0 + 3 * BAD_AUDIO_RETRY_MS) == ["tin"]
    device.handle(s.AudioFailed(SHA["programme"], "hash_mismatch"), T0 + 3 * BAD_AUDIO_RETRY_MS)
    newer, newer_signature = manifest_bytes(Schedule(0, (Slot("tin", 7_200_000),)), T0, version=2)
    device.handle(s.ManifestFetched(newer, newer_signature), T0 + 3 * BAD_AUDIO_RETRY_MS + 1)
    assert wanted(T0 + 3 * BAD_AUDIO_RETRY_MS + 2) == ["tin"]  # a new manifest: wanted at once
    device.handle(s.AudioFailed(SHA["programme"], "hash_mismatch"), T0 + 3 * BAD_AUDIO_RETRY_MS + 3)
    assert device.manifest_error == "audio_hash_mismatch"
    device.handle(s.AudioReady(SHA["programme"]), T0 + 4 * BAD_AUDIO_RETRY_MS)
    assert device.manifest_error is None and device.status_fields(T0)["items_ready"] == 1


def test_a_refused_manifest_is_reported_once_not_at_every_fetch() -> None:
    """Issue 21.5: the same refused manifest offered again is no new event (no new warning)."""
    device = core()
    newer, newer_signature = manifest_bytes(Schedule(0, (Slot("tin", 60_000),)), T0, version=2)
    device.handle(s.ManifestFetched(newer, newer_signature), T0)
    older, older_signature = manifest_bytes(Schedule(0, (Slot("tin", 60_000),)), T0, version=1)
    notes = []
    for k in range(3):
        effects = device.handle(s.ManifestFetched(older, older_signature), T0 + k)
        notes += [e for e in effects if isinstance(e, s.Note) and e.warning]
        assert device.manifest_error == "manifest_rollback" and device.manifest_version == 2
    assert len(notes) == 1


def test_a_long_repetition_keeps_the_plan_small() -> None:
    """Hundreds of rounds: the rounds already over are dropped from the plan (it is replanned at every
    round, so a growing plan would slow a device down over a long alert)."""
    device = core()
    device.handle(s.CONNECTED, T0)
    device.handle(command("c1", T0, priority=900, repeat_gap_s=0), T0)
    device.handle(s.AudioReady(SHA["bulletin"], 300), T0)
    receipts = 0
    while device.next_wake_ms is not None and device.next_wake_ms <= T0 + 300 * 400:
        effects = device.handle(s.TICK, device.next_wake_ms)
        receipts += sum(isinstance(e, s.RecordReceipt) for e in effects)
    assert receipts == 400
    assert len(device.items()) <= 2 and device.playing is not None


# --- lazy planning: a "play now" queued behind what sounds is not replanned until that ends --------

Event = tuple[int, str, int, int, int | None]  # (at, kind, priority, audio, repeat gap)
LENGTHS = {"bulletin": 300, "programme": 800, "long": 1000}  # as the table's audio


def _drive(lazy: bool, slots: list[tuple[int, str, int, PreemptRule]], events: list[Event]) -> list[object]:
    """Every effect, with its instant, of a core given ``slots`` (the manifest) and ``events``."""
    ids = itertools.count()
    device = DeviceCore(
        CoreConfig(DEVICE, (PUBLIC,), resend_receipts_after_ms=60_000),
        now_ms=T0,
        ready_audio=SHA.values(),
        new_id=lambda: f"r{next(ids)}",
    )
    device.playout.lazy = lazy
    seen: list[object] = []
    clock = [T0]

    def feed(event: s.Event) -> None:
        for effect in device.handle(event, clock[0]):
            seen.append((clock[0] - T0, effect))
            if isinstance(effect, s.FetchAudio):
                name = next(n for n, sha in SHA.items() if sha == effect.audio_sha256)
                feed(s.AudioReady(effect.audio_sha256, LENGTHS.get(name, 300)))

    def until(t: int) -> None:
        while device.next_wake_ms is not None and device.next_wake_ms <= t:
            clock[0] = device.next_wake_ms
            feed(s.TICK)
        clock[0] = t

    feed(s.CONNECTED)
    schedule = Schedule(
        0, tuple(Slot(f"m{i}", at, audio, prio, rule) for i, (at, audio, prio, rule) in enumerate(slots))
    )
    feed(s.ManifestFetched(*manifest_bytes(schedule, T0)))
    for n, (at, kind, priority, audio, gap) in enumerate(sorted(events, key=lambda e: e[0])):
        until(T0 + at)
        if kind == "stop":
            cmd = Cmd(at, f"s{n}", "stop", late=False)
        elif kind == "late_stop":
            cmd = Cmd(at, f"s{n}", "stop", late=True)
        else:
            name = list(LENGTHS)[audio]
            args: dict[str, object] = {"audio_sha256": SHA[name], "priority": priority}
            if gap is not None:
                args["repeat_gap_s"] = gap
            cmd = Cmd(at, f"c{n}", "play_now", args)
        _topic, payload = command_wire(cmd, clock[0])
        feed(s.Received(m.parse_server_message(m.Channel.CMD, payload)))
    until(T0 + 8000)
    return seen


@settings(max_examples=150, deadline=None)
@given(
    slots=st.lists(
        st.tuples(
            st.integers(0, 3000),
            st.sampled_from(sorted(LENGTHS)),
            st.sampled_from([100, 300, 500]),
            st.sampled_from(list(PreemptRule)),
        ),
        max_size=4,
    ),
    events=st.lists(
        st.tuples(
            st.integers(0, 4000),
            st.sampled_from(["play", "play", "play", "stop", "late_stop"]),
            st.sampled_from([100, 300, 500, 900]),
            st.integers(0, 2),
            st.one_of(st.none(), st.integers(0, 1)),
        ),
        max_size=8,
    ),
)
def test_lazy_planning_changes_nothing(
    slots: list[tuple[int, str, int, PreemptRule]], events: list[Event]
) -> None:
    assert _drive(True, slots, events) == _drive(False, slots, events)
