"""Stream items (live broadcasts, relays; issue 14) in the device core, on a virtual clock: the same
rules for the agent and the simulator. A stream plays only from its signed manifest, takes the
loudspeaker by the ladder and gives it back; it is heard from its first audio, minus the time it was
down; its receipt says so (``kind: stream``, ``heard_ms``, ``interruptions``)."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.device.core import CoreConfig, DeviceCore
from loa.protocol.device.items import at_ms
from loa.protocol.topics import Channel
from tests.support.device_table import DEVICE, PUBLIC, SHA, T0, command_wire, play_now
from tests.support.streams import StreamSlot, signed_manifest

URL = "https://live.loa.example/xa-ba-to.ogg?token=abc"


class Device:
    """A core on a virtual clock, collecting what it does."""

    def __init__(self) -> None:
        self.core = DeviceCore(
            CoreConfig(DEVICE, (PUBLIC,), resend_receipts_after_ms=600_000),
            now_ms=T0,
            ready_audio=SHA.values(),
        )
        self.now = T0
        self.effects: list[s.Effect] = []
        self.feed(s.CONNECTED)

    def feed(self, event: s.Event, at: int | None = None) -> list[s.Effect]:
        if at is not None:
            self.until(at)
        out = self.core.handle(event, self.now)
        self.effects += out
        return out

    def until(self, t: int) -> None:
        while self.core.next_wake_ms is not None and self.core.next_wake_ms <= T0 + t:
            self.now = max(self.now, self.core.next_wake_ms)
            self.effects += self.core.handle(s.TICK, self.now)
        self.now = T0 + t
        self.effects += self.core.handle(s.TICK, self.now)

    def manifest(self, slots: list[StreamSlot], at: int, version: int = 1) -> None:
        self.feed(s.ManifestFetched(*signed_manifest(slots, T0, version)), at)

    def sounds(self) -> list[tuple[str, int, str | None]]:
        """(item, offset into it, its URL) of every ``Sound``, in order."""
        return [(e.item.id, e.offset_ms, e.item.stream_url) for e in self.effects if isinstance(e, s.Sound)]

    def receipts(self) -> dict[str, m.Receipt]:
        return {e.receipt.item_id: e.receipt for e in self.effects if isinstance(e, s.RecordReceipt)}


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000) - T0


def test_a_stream_item_sounds_from_its_url_and_is_heard_from_its_first_audio() -> None:
    d = Device()
    d.manifest([StreamSlot("live.1", start=1000, duration=5000, url=URL)], at=0)
    d.until(1000)
    assert d.sounds() == [("live.1", 0, URL)]
    assert d.core.needed_audio(d.now) == []  # nothing to fetch: no fallback clip named
    d.feed(s.StreamUp("live.1"), at=1400)
    d.until(6500)
    r = d.receipts()["live.1"]
    assert r.kind is m.ReceiptKind.STREAM and r.audio_sha256 is None
    assert (r.outcome, r.heard_ms, r.interruptions) == (m.Outcome.PLAYED, 4600, 0)
    assert (ms(r.started_at), ms(r.ended_at)) == (1000, 6000)
    assert m.Receipt.model_validate_json(r.model_dump_json(exclude_none=True)) == r


def test_a_drop_is_one_interruption_however_many_retries_and_its_time_is_not_heard() -> None:
    d = Device()
    d.manifest(
        [StreamSlot("relay.1", start=0, duration=10_000, priority=400, url=URL, sha256=SHA["long"], size=1)],
        0,
    )
    assert [i.id for i in d.core.needed_audio(d.now)] == ["relay.1"]  # its fallback clip is fetched ahead
    d.feed(s.StreamUp("relay.1"), at=500)
    d.feed(s.StreamDown("relay.1", "ended"), at=3000)
    status = d.core.status_fields(d.now)["playing"]
    assert status.stream and status.stream_down
    d.feed(s.StreamDown("relay.1", "refused"), at=4000)  # a retry that failed: the same interruption
    d.feed(s.StreamUp("relay.1"), at=5000)
    d.feed(s.StreamDown("relay.1", "stalled"), at=8000)
    d.feed(s.StreamUp("relay.1"), at=8500)
    d.until(11_000)
    r = d.receipts()["relay.1"]
    assert (r.outcome, r.interruptions, r.heard_ms) == (m.Outcome.PLAYED, 2, 10_000 - 500 - 2000 - 500)
    assert d.sounds() == [("relay.1", 0, URL)]  # it kept the loudspeaker all along


def test_a_stream_never_reached_fails() -> None:
    d = Device()
    d.manifest([StreamSlot("relay.dead", start=0, duration=3000, priority=400, url=URL)], 0)
    d.feed(s.StreamDown("relay.dead", "refused"), at=100)
    d.feed(s.StreamDown("relay.dead", "refused"), at=1100)
    d.until(3500)
    r = d.receipts()["relay.dead"]
    assert (r.outcome, r.detail, r.heard_ms, r.interruptions) == (
        m.Outcome.FAILED,
        "stream_unavailable",
        0,
        1,
    )


def test_a_live_item_preempts_the_programme_which_resumes_after_the_server_withdraws_it() -> None:
    d = Device()
    programme = StreamSlot("p.1", start=0, duration=800, priority=300, sha256=SHA["programme"], size=1)
    live = StreamSlot("live.2", start=300, duration=3_600_000, url=URL)
    d.manifest([programme, live], at=0)
    d.feed(s.StreamUp("live.2"), at=500)
    d.manifest([programme], at=2000, version=2)  # the broadcast ends: withdrawn
    cut = [e for e in d.effects if isinstance(e, s.Silence) and e.item_id == "live.2"]
    assert cut == [s.Silence("live.2", cut=True)]
    d.until(3000)
    assert d.sounds() == [("p.1", 0, None), ("live.2", 0, URL), ("p.1", 300, None)]
    live_r, prog = d.receipts()["live.2"], d.receipts()["p.1"]
    assert (live_r.outcome, live_r.heard_ms, ms(live_r.ended_at)) == (m.Outcome.PLAYED, 1500, 2000)
    assert live_r.manifest_version == 2
    assert prog.outcome is m.Outcome.PLAYED and ms(prog.ended_at) == 2500


def test_an_emergency_preempts_a_relay_which_reconnects_after_it() -> None:
    d = Device()
    d.manifest([StreamSlot("relay.3", start=0, duration=5000, priority=400, url=URL)], 0)
    d.feed(s.StreamUp("relay.3"), at=200)
    _topic, payload = command_wire(play_now(0, "alert", "alert-1", audio="alert", priority=900), d.now)
    d.feed(s.Received(m.parse_server_message(Channel.CMD, payload)), at=1000)
    d.feed(s.AudioReady(SHA["alert"], 300))
    d.until(1300)
    d.feed(s.StreamUp("relay.3"), at=1500)  # the relay's second start: connecting again
    d.until(6000)
    assert [x[0] for x in d.sounds()] == ["relay.3", "alert-1", "relay.3"]
    r = d.receipts()["relay.3"]
    assert r.outcome is m.Outcome.PLAYED and r.interruptions == 0
    assert r.heard_ms == (1000 - 200) + (5300 - 1500)  # its window moved by the alert (resume)


def test_a_command_never_makes_a_stream() -> None:
    d = Device()
    args = {"url": URL, "stream_url": URL}
    _topic, payload = command_wire(play_now(0, "c1", "cmd-1", **args), d.now)
    d.feed(s.Received(m.parse_server_message(Channel.CMD, payload)), at=0)
    d.feed(s.AudioReady(SHA["bulletin"], 300))
    d.until(1000)
    assert d.sounds() == [("cmd-1", 0, None)]
    assert d.receipts()["cmd-1"].kind is m.ReceiptKind.FILE


def test_a_stream_receipt_and_an_older_file_receipt_are_told_apart() -> None:
    base = {"receipt_id": "r1", "seq": 0, "item_id": "x", "started_at": at_ms(T0), "ended_at": at_ms(T0 + 1)}
    older = m.Receipt.model_validate({**base, "audio_sha256": SHA["programme"], "outcome": "played"})
    assert older.kind is m.ReceiptKind.FILE and older.heard_ms is None
    with pytest.raises(ValidationError):
        m.Receipt.model_validate({**base, "outcome": "played"})  # a file receipt names its audio
    with pytest.raises(ValidationError):
        m.Receipt.model_validate({**base, "outcome": "played", "kind": "stream"})  # and a stream its time
    stream = m.Receipt.model_validate(
        {**base, "outcome": "played", "kind": "stream", "heard_ms": 1, "interruptions": 0}
    )
    assert stream.audio_sha256 is None
