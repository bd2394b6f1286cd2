"""One table of device scenarios (inputs over time → receipts and command results) for the device core
and both of its adapters: ``tests/protocol/test_device_core.py`` runs it on the pure core with a
virtual clock, ``tests/agent/test_device_table.py`` through the real agent, and
``tests/sim/test_device_table.py`` through the simulator (both on the wall clock, without a broker:
what they publish is read back off the wire format).

Times are milliseconds from the scenario's start (``t0``); the device started a little before it.
Every "play now" plays audio of ``PLAY_NOW_MS`` (the simulator has no file to measure, it takes
``play_s`` for it); scheduled items last what their audio lasts.
"""

from __future__ import annotations

import hashlib
import io
import json
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loa.protocol import group
from loa.protocol import manifest as mf
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.device.core import CoreConfig, DeviceCore
from loa.protocol.device.items import at_ms, ms_of
from loa.protocol.priority import PreemptRule
from loa.protocol.topics import Channel, Topics

DEVICE, OTHER = "loa-d00000000001", "loa-d00000000002"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = mf.public_key_bytes(KEY)
TOPICS = Topics("tbl")
PLAY_NOW_MS = 300
RESEND_MS = 60_000  # longer than any scenario: every receipt is sent once
ADAPTERS = ("core", "agent", "sim")


def _wav(duration_ms: int, tone: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes((128 + (i * tone) % 64) for i in range(duration_ms * 8)))
    return buf.getvalue()


# name → (length in ms, WAV bytes): what the server measured is what the file holds
AUDIO: dict[str, tuple[int, bytes]] = {
    name: (ms, _wav(ms, tone))
    for name, ms, tone in (
        ("programme", 800, 3),
        ("long", 1000, 5),
        ("short", 300, 7),
        ("bulletin", PLAY_NOW_MS, 11),
        ("alert", PLAY_NOW_MS, 13),
    )
}
SHA = {name: hashlib.sha256(data).hexdigest() for name, (_ms, data) in AUDIO.items()}


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    id: str
    start: int
    audio: str = "programme"
    priority: int = 300
    rule: PreemptRule = PreemptRule.RESUME
    not_after: int | None = None
    volume_percent: int = 100


@dataclass(frozen=True)
class Schedule:
    """The signed manifest arrives (as from the server)."""

    at: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Cmd:
    """A command on the device's own ``cmd`` topic, or (``group``) a signed group command: ``()`` for
    the whole group, else the targets."""

    at: int
    id: str
    kind: str
    args: dict[str, object] = field(default_factory=dict)
    late: bool = False  # it reaches the device past its expiry (it was away when it was sent)
    group: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AckAll:
    """The server acknowledges every receipt sent so far, naming each id twice."""

    at: int


Step = Schedule | Cmd | AckAll


def play_now(at: int, cid: str, item: str, *, audio: str = "bulletin", **args: object) -> Cmd:
    return Cmd(at, cid, "play_now", {"audio_sha256": SHA[audio], "item_id": item, **args})


# --- expectations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class R:
    """A receipt: item, outcome, first and last sound (ms from ``t0``), detail."""

    item: str
    outcome: str
    start: int
    end: int
    detail: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    receipts: tuple[R, ...]
    until: int
    results: dict[str, str] = field(default_factory=dict)  # command id → "status" or "status:detail"
    adapters: tuple[str, ...] = ADAPTERS
    missing: tuple[str, ...] = ()  # audio not on the device
    pending_after: int | None = None  # receipts still unacknowledged at the end
    volume: int | None = None


@dataclass
class Observed:
    receipts: list[R]
    results: dict[str, str]
    pending: int
    volume: int


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "scheduled item plays on time",
        (Schedule(0, (Slot("tin-sang", 200),)),),
        (R("tin-sang", "played", 200, 1000),),
        until=1200,
    ),
    Scenario(
        "play now cuts a SKIP item for good",
        (Schedule(0, (Slot("ct-a", 200, "long", rule=PreemptRule.SKIP),)), play_now(500, "c1", "bt-1")),
        (R("ct-a", "preempted", 200, 500, "by:bt-1"), R("bt-1", "played", 500, 800)),
        until=1400,
        results={"c1": "done"},
    ),
    Scenario(
        "play now interrupts a RESUME item, which continues after it",
        (Schedule(0, (Slot("ct-b", 200),)), play_now(400, "c1", "bt-1")),
        (R("ct-b", "played", 200, 1300), R("bt-1", "played", 400, 700)),
        until=1500,
        results={"c1": "done"},
    ),
    Scenario(
        "a RESTART item starts again from the beginning after the interruption",
        (Schedule(0, (Slot("ct-c", 200, rule=PreemptRule.RESTART),)), play_now(400, "c1", "bt-1")),
        (R("ct-c", "played", 200, 1500), R("bt-1", "played", 400, 700)),
        until=1700,
        results={"c1": "done"},
    ),
    Scenario(
        "a higher scheduled item pre-empts a lower one",
        (Schedule(0, (Slot("ct-d", 200), Slot("ut-e", 400, "short", priority=500))),),
        (R("ct-d", "played", 200, 1300), R("ut-e", "played", 400, 700)),
        until=1500,
    ),
    Scenario(
        "an equal priority never interrupts: it waits its turn",
        (play_now(200, "c1", "bt-1"), play_now(300, "c2", "bt-2", audio="alert")),
        (R("bt-1", "played", 200, 500), R("bt-2", "played", 500, 800)),
        until=1000,
        results={"c1": "done", "c2": "done"},
    ),
    Scenario(
        "a repeated message comes round until the stop, which cuts the sounding round",
        (
            play_now(200, "c1", "lu", audio="alert", priority=900, repeat_gap_s=0),
            Cmd(1000, "c2", "stop"),
        ),
        (
            R("lu", "played", 200, 500),
            R("lu.r2", "played", 500, 800),
            R("lu.r3", "preempted", 800, 1000, "by:operator_stop"),
        ),
        until=1600,
        results={"c1": "done", "c2": "done"},
    ),
    Scenario(
        "rounds come a gap after each end; a stop in the gap ends the repetition",
        (
            play_now(200, "c1", "lu", audio="alert", priority=900, repeat_gap_s=1),
            # The stop lands mid-gap (500 ms from the second round's end and from the third's start), so
            # a wall-clock hiccup cannot make it a pre-emption; a third round would still be seen.
            Cmd(2300, "c2", "stop"),
        ),
        (R("lu", "played", 200, 500), R("lu.r2", "played", 1500, 1800)),
        until=3400,
        results={"c1": "done", "c2": "done"},
    ),
    Scenario(
        # An emergency alert comes both ways (loa.schedule.alertrounds): its rounds in the manifest
        # and the repeated "play now" naming the same first round. Each round sounds once (the
        # command's copy replaces the manifest's); the stop and the manifest without it end it.
        "an alert carried by the manifest and the command plays each round once",
        (
            Schedule(
                0,
                (
                    Slot("e.7", 500, "alert", priority=900, rule=PreemptRule.RESTART),
                    Slot("e.7.r2", 1800, "alert", priority=900, rule=PreemptRule.RESTART),
                    Slot("e.7.r3", 3100, "alert", priority=900, rule=PreemptRule.RESTART),
                ),
            ),
            play_now(200, "c1", "e.7", audio="alert", priority=900, repeat_gap_s=1),
            Cmd(2300, "c2", "stop"),
            Schedule(2500, ()),
        ),
        (R("e.7", "played", 200, 500), R("e.7.r2", "played", 1500, 1800)),
        until=3800,
        results={"c1": "done", "c2": "done"},
    ),
    Scenario(
        "a late stop still ends a repeated message",
        (
            play_now(200, "c1", "lu", audio="alert", priority=900, repeat_gap_s=0),
            Cmd(650, "c2", "stop", late=True),
        ),
        (R("lu", "played", 200, 500), R("lu.r2", "preempted", 500, 650, "by:operator_stop")),
        until=1300,
        results={"c1": "done", "c2": "expired"},
    ),
    Scenario(
        "a late stop cuts nothing else",
        (Schedule(0, (Slot("ct-f", 200),)), Cmd(400, "c1", "stop", late=True)),
        (R("ct-f", "played", 200, 1000),),
        until=1200,
        results={"c1": "expired"},
    ),
    Scenario(
        "a stop cuts the programme; what waited behind it starts at once",
        (Schedule(0, (Slot("ct-g", 200), Slot("ct-h", 400, "short"))), Cmd(600, "c1", "stop")),
        (R("ct-g", "preempted", 200, 600, "by:operator_stop"), R("ct-h", "played", 600, 900)),
        until=1200,
        results={"c1": "done"},
    ),
    Scenario(
        "a duplicated command is carried out once; an expired one not at all",
        (
            play_now(200, "c1", "bt-1"),
            play_now(300, "c1", "bt-1"),
            Cmd(400, "c2", "play_now", {"audio_sha256": SHA["alert"], "item_id": "bt-2"}, late=True),
        ),
        (R("bt-1", "played", 200, 500),),
        until=900,
        results={"c1": "done", "c2": "expired"},
    ),
    Scenario(
        "an item over before the device started is reported device_down",
        (Schedule(0, (Slot("old", -2500),)),),
        (R("old", "failed", -2500, -2500, "device_down"),),
        until=300,
        adapters=("core", "agent"),  # a simulator did not exist then: it reports nothing
    ),
    Scenario(
        "an item under way when the manifest arrives plays from where it is: partial",
        (Schedule(0, (Slot("late", -600, "long"),)),),
        (R("late", "failed", 0, 400, "partial:400ms"),),
        until=1000,
    ),
    Scenario(
        "an item is cut where its window closes",
        (Schedule(0, (Slot("ct-i", 200, not_after=500),)),),
        (R("ct-i", "failed", 200, 500, "window_closed"),),
        until=1000,
    ),
    Scenario(
        "an item whose audio is not on the device fails, nothing heard",
        (Schedule(0, (Slot("ct-j", 200),)),),
        (R("ct-j", "failed", 200, 200, "audio_missing"),),
        until=1200,
        adapters=("core", "agent"),  # a simulator has no files
        missing=("programme",),
    ),
    Scenario(
        "receipts are forgotten once acknowledged, an id acknowledged twice included",
        (play_now(200, "c1", "bt-1"), AckAll(700)),
        (R("bt-1", "played", 200, 500),),
        until=900,
        results={"c1": "done"},
        pending_after=0,
    ),
    Scenario(
        "group commands: only those addressed to the device (or to all) count",
        (
            Cmd(200, "c1", "volume", {"level": 40}, group=(OTHER,)),
            Cmd(300, "c2", "volume", {"level": 41}, group=(DEVICE, OTHER)),
            Cmd(400, "c3", "volume", {"level": 42}, group=()),
        ),
        (),
        until=600,
        results={"c2": "done", "c3": "done"},
        volume=42,
    ),
    Scenario(
        "an update without the release key's signature is refused before any download",
        (Cmd(200, "c1", "update", {"version": "2", "url": "https://x/y.whl", "sha256": "ab" * 32}),),
        (),
        until=400,
        results={"c1": "rejected:release_signature_invalid"},
        adapters=("agent",),  # the core hands it to the adapter (``InstallUpdate``)
    ),
    Scenario(
        "a simulated device refuses an update",
        (Cmd(200, "c1", "update", {"version": "2", "url": "https://x/y.whl", "sha256": "ab" * 32}),),
        (),
        until=400,
        results={"c1": "rejected:not_supported"},
        adapters=("sim",),
    ),
)


def scenarios_for(adapter: str) -> list[Scenario]:
    return [sc for sc in SCENARIOS if adapter in sc.adapters]


# --- the wire ------------------------------------------------------------------------------------


def manifest_bytes(schedule: Schedule, t0: int, version: int = 1) -> tuple[bytes, bytes]:
    """The signed manifest of ``schedule`` (``version``), times from ``t0``."""
    items = []
    for slot in schedule.slots:
        duration, _data = AUDIO[slot.audio]
        start = at_ms(t0 + slot.start)
        items.append(
            mf.ManifestItem(
                id=slot.id,
                title=f"Bản tin {slot.id}",
                source_id="table",
                start_at=start,
                start_local=start.isoformat(),
                duration_ms=duration,
                not_after_at=at_ms(t0 + slot.not_after) if slot.not_after is not None else None,
                priority=slot.priority,
                preempt_rule=slot.rule,
                volume_percent=slot.volume_percent,
                audio=mf.AudioSource(
                    url=f"/api/v1/devices/{DEVICE}/audio/{SHA[slot.audio]}",
                    sha256=SHA[slot.audio],
                    size_bytes=len(_data),
                ),
            )
        )
    manifest = mf.build_manifest(
        device_id=DEVICE,
        manifest_version=version,
        generated_at=at_ms(t0),
        valid_from=at_ms(t0 - 3_600_000),
        valid_until=at_ms(t0 + 3_600_000),
        items=items,
    )
    body = manifest.canonical_bytes()
    return body, mf.sign(body, KEY)


def command_wire(cmd: Cmd, now: int) -> tuple[str, bytes]:
    """(topic, payload) of a command sent at ``now``."""
    issued = at_ms(now - 3 * 3_600_000 if cmd.late else now)
    raw = {
        "v": 1,
        "type": "cmd",
        "id": cmd.id,
        "kind": cmd.kind,
        "issued_at": issued.isoformat(),
        "expires_at": (issued + timedelta(minutes=5)).isoformat(),
        "args": cmd.args,
    }
    body = json.dumps(raw).encode()
    if cmd.group is None:
        return TOPICS.device(DEVICE, Channel.CMD), body
    return TOPICS.group_cmd(), group.seal(body, list(cmd.group) or None, KEY)


def ack_wire(receipt_ids: Sequence[str]) -> tuple[str, bytes]:
    ack = m.ReceiptAck(receipt_ids=[*receipt_ids, *receipt_ids])
    return TOPICS.device(DEVICE, Channel.ACK), ack.to_bytes()


def observe_wire(published: Sequence[tuple[str, bytes]], t0: int) -> tuple[list[R], dict[str, str]]:
    """Receipts (each id once) and command results from what a device published."""
    receipts: dict[str, m.Receipt] = {}
    results: dict[str, str] = {}
    for topic, payload in published:
        parsed = TOPICS.parse(topic)
        if parsed is None:
            continue
        if parsed[1] is Channel.RECEIPTS:
            batch = m.parse_device_message(Channel.RECEIPTS, payload)
            assert isinstance(batch, m.ReceiptBatch)
            receipts.update((r.receipt_id, r) for r in batch.receipts)
        elif parsed[1] is Channel.RESULT:
            result = m.parse_device_message(Channel.RESULT, payload)
            assert isinstance(result, m.CommandResult)
            text = result.status.value + (f":{result.detail}" if result.detail else "")
            results[result.command_id] = text
    return [receipt_row(r, t0) for r in sorted(receipts.values(), key=lambda r: r.seq)], results


def receipt_row(r: m.Receipt, t0: int) -> R:
    return R(r.item_id, r.outcome.value, ms_of(r.started_at) - t0, ms_of(r.ended_at) - t0, r.detail)


# --- the pure core, on a virtual clock -----------------------------------------------------------

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BOOT_LEAD_MS = 300  # the device started this long before t0 (the adapters need that for setting up)


def run_core(sc: Scenario) -> Observed:
    core = DeviceCore(
        CoreConfig(DEVICE, (PUBLIC,), resend_receipts_after_ms=RESEND_MS),
        now_ms=T0 - BOOT_LEAD_MS,
        ready_audio=[SHA[name] for name in AUDIO if name not in sc.missing],
    )
    clock = [T0 - BOOT_LEAD_MS]
    published: list[tuple[str, bytes]] = []

    def feed(event: s.Event) -> None:
        for effect in core.handle(event, clock[0]):
            if isinstance(effect, s.SendReceipts):
                published.append((TOPICS.device(DEVICE, Channel.RECEIPTS), effect.batch.to_bytes()))
            elif isinstance(effect, s.SendResult):
                published.append((TOPICS.device(DEVICE, Channel.RESULT), effect.result.to_bytes()))
            elif isinstance(effect, s.FetchAudio):  # the downloader measures the file
                name = next(n for n, sha in SHA.items() if sha == effect.audio_sha256)
                feed(s.AudioReady(effect.audio_sha256, AUDIO[name][0]))

    def run_until(t: int) -> None:
        while core.next_wake_ms is not None and core.next_wake_ms <= t:
            clock[0] = core.next_wake_ms
            feed(s.TICK)
        clock[0] = t
        feed(s.TICK)

    feed(s.CONNECTED)
    for step in sorted(sc.steps, key=lambda st: st.at):
        run_until(T0 + step.at)
        for event in core_events(step, clock[0], published):
            feed(event)
    run_until(T0 + sc.until)
    receipts, results = observe_wire(published, T0)
    return Observed(receipts, results, len(core.pending_receipts()), core.volume)


def core_events(step: Step, now: int, published: Sequence[tuple[str, bytes]]) -> list[s.Event]:
    """What an adapter hands its core for ``step`` (it parses the same bytes)."""
    if isinstance(step, Schedule):
        return [s.ManifestFetched(*manifest_bytes(step, T0))]
    topic, payload = wire_of(step, now, published)
    if TOPICS.is_group_cmd(topic):
        return [s.GroupReceived(group.open_sealed(payload, PUBLIC))]
    parsed = TOPICS.parse(topic)
    assert parsed is not None
    return [s.Received(m.parse_server_message(parsed[1], payload))]


def wire_of(step: Cmd | AckAll, now: int, published: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    if isinstance(step, Cmd):
        return command_wire(step, now)
    sent = observe_ids(published)
    return ack_wire(sent)


def observe_ids(published: Sequence[tuple[str, bytes]]) -> list[str]:
    ids = []
    for topic, payload in published:
        parsed = TOPICS.parse(topic)
        if parsed is not None and parsed[1] is Channel.RECEIPTS:
            batch = m.parse_device_message(Channel.RECEIPTS, payload)
            assert isinstance(batch, m.ReceiptBatch)
            ids += [r.receipt_id for r in batch.receipts]
    return ids


# --- comparing -----------------------------------------------------------------------------------


def mismatches(sc: Scenario, seen: Observed, tolerance_ms: int) -> list[str]:
    """What differs between the table and what a device did (empty: it did what the table says)."""
    out: list[str] = []
    want = sorted(sc.receipts, key=lambda r: (r.start, r.item))
    got = sorted(seen.receipts, key=lambda r: (r.start, r.item))
    if [(r.item, r.outcome) for r in got] != [(r.item, r.outcome) for r in want]:
        out.append(f"receipts {got} != {want}")
    else:
        for g, w in zip(got, want, strict=True):
            close: Callable[[int, int], bool] = lambda a, b: abs(a - b) <= tolerance_ms  # noqa: E731
            if not (close(g.start, w.start) and close(g.end, w.end) and _same_detail(g, w, tolerance_ms)):
                out.append(f"receipt {g} != {w} (±{tolerance_ms} ms)")
    if seen.results != sc.results:
        out.append(f"results {seen.results} != {sc.results}")
    if sc.pending_after is not None and seen.pending != sc.pending_after:
        out.append(f"{seen.pending} receipts pending, expected {sc.pending_after}")
    if sc.volume is not None and seen.volume != sc.volume:
        out.append(f"volume {seen.volume} != {sc.volume}")
    return out


def _same_detail(got: R, want: R, tolerance_ms: int) -> bool:
    if (
        want.detail
        and want.detail.startswith("partial:")
        and got.detail
        and got.detail.startswith("partial:")
    ):
        return abs(int(got.detail[8:-2]) - int(want.detail[8:-2])) <= tolerance_ms
    return got.detail == want.detail
