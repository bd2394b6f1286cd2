"""One simulated loudspeaker: protocol v1 over ``mqtt_lite`` — birth and will, QoS 0 heartbeats,
commands answered (expired ones refused), "play now" with the priority ladder, receipts with sequence
numbers kept until the server acknowledges them. Plays nothing: an item only takes ``play_s``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from loa.protocol import group, itemids
from loa.protocol import messages as m
from loa.protocol.mqtt_lite import LiteClient, MqttLiteError, Will
from loa.protocol.topics import Channel, Topics

log = logging.getLogger(__name__)

FIRMWARE = "loa-sim/0.1"


@dataclass(frozen=True)
class SimIdentity:
    uid: str
    secret: str


@dataclass(frozen=True)
class SimConfig:
    host: str
    port: int
    topics: Topics
    heartbeat_s: float = 30.0
    play_s: float = 10.0
    resend_receipts_after_s: float = 20.0
    reconnect_max_s: float = 60.0
    # Benchmarks: a plain topic every device also subscribes to (at QoS 1: the publisher's QoS decides)
    fanout_topic: str | None = None
    anonymous: bool = False  # a broker without authentication (e.g. Mosquitto in CI)
    # The server's Ed25519 public key (raw 32 bytes): group commands are verified with it; without
    # it the simulator does not subscribe to group topics.
    server_public_key: bytes | None = None
    # A change (started, stopped, volume) is reported this long after it happens, several changes
    # in one status: the agent's ``status_coalesce_s`` default.
    change_status_delay_s: float = 1.0


@dataclass
class SimStats:
    connected: int = 0
    connects: int = 0
    connect_failures: int = 0
    commands: int = 0
    expired: int = 0
    receipts_sent: int = 0
    receipts_acked: int = 0
    fanout_latencies_s: list[float] = field(default_factory=list)
    group_refused: int = 0  # group commands with a bad signature or payload


@dataclass
class _Playing:
    item_id: str
    audio_sha256: str
    priority: int
    title: str | None
    started_at: datetime
    repeat_gap_s: int | None = None  # comes round again after each end, until a stop
    round: int = 1


class Ticker:
    """Timers for thousands of simulated devices: one event-loop timer per ``RESOLUTION_S`` slot
    instead of one per device (scheduling a ``TimerHandle`` per device was about a third of the
    time to answer a group command, under a profiler). Callbacks cannot be cancelled: they check
    whether they still apply."""

    RESOLUTION_S = 0.05

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots: dict[int, list[Callable[[], None]]] = {}

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Ticker:
        ticker = _tickers.get(loop)
        if ticker is None:
            ticker = _tickers[loop] = cls(loop)
        return ticker

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        slot = math.ceil((self.loop.time() + max(0.0, delay_s)) / self.RESOLUTION_S)
        calls = self.slots.get(slot)
        if calls is None:
            calls = self.slots[slot] = []
            self.loop.call_at(slot * self.RESOLUTION_S, self._fire, slot)
        calls.append(callback)

    def _fire(self, slot: int) -> None:
        for callback in self.slots.pop(slot, ()):
            try:
                callback()
            except Exception:
                log.exception("simulated device timer failed")


_tickers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Ticker] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=32)
def open_group_command(payload: bytes, public_key: bytes) -> group.GroupCommand | None:
    """Verify once per distinct payload: thousands of simulated devices in one process receive the
    same bytes (a real device verifies its one copy). None for a refused message."""
    try:
        return group.open_sealed(payload, public_key)
    except m.ProtocolError:
        return None


class SimDevice:
    def __init__(self, identity: SimIdentity, config: SimConfig, stats: SimStats) -> None:
        self.identity = identity
        self.config = config
        self.stats = stats
        self.client = LiteClient(identity.uid, on_message=self._on_message)
        self.volume = 70
        self.playing: _Playing | None = None
        self.queue: list[_Playing] = []
        self.pending: dict[str, tuple[float, m.Receipt]] = {}  # receipt id → (last sent, receipt)
        self.seq = 0
        self.seen_commands: set[str] = set()
        self.started = time.monotonic()
        self.boot_id = uuid.uuid4().hex[:16]
        self._change_pending = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups: set[str] = set()  # commune group codes learnt from ``state``
        self.repeating: _Playing | None = None  # the repeated "play now" still in force

    def topic(self, channel: Channel) -> str:
        return self.config.topics.device(self.identity.uid, channel)

    # --- the connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        cfg, uid = self.config, self.identity.uid
        await self.client.connect(
            cfg.host,
            cfg.port,
            username=uid,
            password=self.identity.secret,
            keepalive_s=int(cfg.heartbeat_s * 2 + 10),
            clean_session=False,
            will=Will(self.topic(Channel.LWT), m.Lwt().to_bytes(), qos=1),
        )
        filters = [(self.topic(c), 1) for c in (Channel.STATE, Channel.CMD, Channel.ACK)]
        if cfg.server_public_key is not None:
            filters += [(cfg.topics.group_cmd(code), 1) for code in ("", *sorted(self.groups))]
        if cfg.fanout_topic:
            filters.append((cfg.fanout_topic, 1))
        await self.client.subscribe(filters)
        birth = m.Birth(sent_at=m.now_utc(), boot_id=self.boot_id, firmware=FIRMWARE)
        await self.client.publish(self.topic(Channel.BIRTH), birth.to_bytes(), qos=1)
        self.stats.connects += 1

    async def run(self, connect_gate: asyncio.Semaphore | None = None) -> None:
        """Stay connected (reconnecting with backoff and jitter), heartbeat, resend receipts."""
        attempt = 0
        while True:
            try:
                if connect_gate is not None:
                    async with connect_gate:
                        await self.connect()
                else:
                    await self.connect()
            except (MqttLiteError, OSError, TimeoutError) as err:
                self.stats.connect_failures += 1
                log.debug("%s could not connect: %s", self.identity.uid, err)
                delay = min(self.config.reconnect_max_s, 2.0**attempt)
                await asyncio.sleep(delay * (0.5 + random.random()))
                attempt += 1
                continue
            attempt = 0
            self.stats.connected += 1
            try:
                await self._session()
            finally:
                self.stats.connected -= 1
            await asyncio.sleep(random.random() * 2)

    async def _session(self) -> None:
        # Spread the fleet's heartbeats over the period instead of all at once.
        wait = random.random() * self.config.heartbeat_s
        self._send_status(m.StatusReason.BOOT)
        self._resend_receipts(force=True)
        while self.client.connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.closed.wait(), timeout=wait)
            if not self.client.connected:
                return
            try:
                self._send_status(m.StatusReason.HEARTBEAT)
                self._resend_receipts()
            except MqttLiteError:
                return
            wait = self.config.heartbeat_s

    def _changed(self) -> None:
        """Report a change with a timer callback, not a waiting task per device."""
        if not self._change_pending:
            self._change_pending = True
            ticker = Ticker.of(asyncio.get_running_loop())
            ticker.call_later(self.config.change_status_delay_s, self._report_change)

    def _report_change(self) -> None:
        self._change_pending = False
        with contextlib.suppress(MqttLiteError):
            self._send_status(m.StatusReason.CHANGE)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.playing = None  # pending timers find nothing to finish
        await self.client.disconnect()

    # --- outbound ---------------------------------------------------------------------------------

    def _spawn(self, publish: Awaitable[None]) -> None:
        async def guarded() -> None:
            with contextlib.suppress(MqttLiteError, TimeoutError, OSError):
                await publish

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def status(self, reason: m.StatusReason) -> m.Status:
        p = self.playing
        return m.Status(
            sent_at=m.now_utc(),
            reason=reason,
            heartbeat_s=max(1, int(self.config.heartbeat_s)),
            firmware=FIRMWARE,
            uptime_s=int(time.monotonic() - self.started),
            volume=self.volume,
            network=m.NetworkInfo(kind="4g", signal_dbm=-70.0 - random.random() * 30),
            playing=m.PlayingInfo(
                item_id=p.item_id,
                audio_sha256=p.audio_sha256,
                priority=p.priority,
                started_at=p.started_at,
                title=p.title,
            )
            if p
            else None,
            pending_receipts=len(self.pending),
        )

    def _send_status(self, reason: m.StatusReason) -> None:
        if self.client.connected:
            self.client.publish_nowait(self.topic(Channel.STATUS), self.status(reason).to_bytes())

    def _resend_receipts(self, *, force: bool = False) -> None:
        now = time.monotonic()
        due = [
            r
            for sent, r in self.pending.values()
            if force or now - sent >= self.config.resend_receipts_after_s
        ]
        for start in range(0, len(due), m.MAX_RECEIPTS_PER_BATCH):
            batch = due[start : start + m.MAX_RECEIPTS_PER_BATCH]
            for r in batch:
                self.pending[r.receipt_id] = (now, r)
            payload = m.ReceiptBatch(sent_at=m.now_utc(), receipts=batch).to_bytes()
            self.stats.receipts_sent += len(batch)
            self._spawn(self.client.publish(self.topic(Channel.RECEIPTS), payload, qos=1))

    def _result(self, command_id: str, status: m.CommandStatus, detail: str | None = None) -> None:
        payload = m.CommandResult(
            command_id=command_id, status=status, at=m.now_utc(), detail=detail
        ).to_bytes()
        # Not retried: a result lost with the connection leaves the command "Chưa phản hồi" on the server.
        if self.client.connected:
            self.client.publish_nowait(self.topic(Channel.RESULT), payload, qos=1)

    # --- inbound ----------------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == self.config.fanout_topic:
            if payload.startswith(b"echo"):  # benchmarks: the broker's own round trip, no Loa in it
                self.client.publish_nowait(f"{topic}/echo/{self.identity.uid}", payload, qos=1)
                return
            try:
                sent = float(payload)
            except ValueError:
                return
            self.stats.fanout_latencies_s.append(time.time() - sent)
            return
        if self.config.topics.is_group_cmd(topic):
            self._on_group_command(payload)
            return
        parsed = self.config.topics.parse(topic)
        if parsed is None or parsed[0] != self.identity.uid:
            return
        try:
            message = m.parse_server_message(parsed[1], payload)
        except m.ProtocolError:
            return
        if isinstance(message, m.ReceiptAck):
            for rid in message.receipt_ids:
                if self.pending.pop(rid, None) is not None:
                    self.stats.receipts_acked += 1
        elif isinstance(message, m.StateRef):
            # A real agent fetches the manifest; the simulator plays only what it is told.
            self._join_groups(message.groups)
        elif not isinstance(message, m.StateRef | m.ReceiptAck):
            self._on_command(message)

    def _join_groups(self, groups: list[str] | None) -> None:
        if groups is None or self.config.server_public_key is None:
            return
        new = set(groups) - self.groups
        self.groups |= new
        if new:
            filters = [(self.config.topics.group_cmd(code), 1) for code in sorted(new)]
            self._spawn(self._subscribe(filters))

    async def _subscribe(self, filters: list[tuple[str, int]]) -> None:
        await self.client.subscribe(filters)

    def _on_group_command(self, payload: bytes) -> None:
        key = self.config.server_public_key
        if key is None:
            return
        opened = open_group_command(bytes(payload), key)
        if opened is None:
            self.stats.group_refused += 1
        elif opened.addresses(self.identity.uid):
            self._on_command(opened.command)

    def _on_command(self, command: m.PlayNow | m.Stop | m.SetVolume | m.Sync | m.Reboot | m.Update) -> None:
        if command.id in self.seen_commands:
            return
        self.seen_commands.add(command.id)
        self.stats.commands += 1
        if command.expired():
            self.stats.expired += 1
            if isinstance(command, m.Stop) and self.repeating is not None:
                # However late, a stop ends a repeated message (and only that), as the agent does.
                repeating, self.repeating = self.repeating, None
                if self.playing is repeating:
                    self._finish(m.Outcome.PREEMPTED, "by:operator_stop")
            self._result(command.id, m.CommandStatus.EXPIRED)
            return
        if isinstance(command, m.PlayNow):
            args = command.args
            self._enqueue(
                _Playing(
                    item_id=args.item_id or itemids.command_item(command.id),
                    audio_sha256=args.audio_sha256,
                    priority=args.priority,
                    title=args.title,
                    started_at=datetime.now(UTC),
                    repeat_gap_s=args.repeat_gap_s,
                )
            )
        elif isinstance(command, m.Stop):
            self.repeating = None
            if self.playing is not None:
                self._finish(m.Outcome.PREEMPTED, "by:operator_stop")
        elif isinstance(command, m.SetVolume):
            self.volume = command.args.level
            self._changed()
        elif isinstance(command, m.Reboot | m.Update):
            self._result(command.id, m.CommandStatus.REJECTED, "simulator")
            return
        self._result(command.id, m.CommandStatus.DONE)

    # --- the "player" -----------------------------------------------------------------------------

    def _enqueue(self, item: _Playing) -> None:
        current = self.playing
        if current is not None and item.priority <= current.priority:
            self.queue.append(item)  # equal never interrupts; waits its turn
            self.queue.sort(key=lambda i: -i.priority)
            return
        if current is not None:
            self._finish(m.Outcome.PREEMPTED, f"by:{item.item_id}", start_next=False)
        self._start(item)

    def _start(self, item: _Playing) -> None:
        if item.repeat_gap_s is not None:
            self.repeating = item
        item.started_at = datetime.now(UTC)
        Ticker.of(asyncio.get_running_loop()).call_later(self.config.play_s, lambda: self._play_ended(item))
        self.playing = item
        self._changed()

    def _play_ended(self, item: _Playing) -> None:
        if self.playing is item:  # not pre-empted or stopped in the meantime
            self._finish(m.Outcome.PLAYED)
            if item.repeat_gap_s is not None and self.repeating is item:
                gap = float(item.repeat_gap_s)
                Ticker.of(asyncio.get_running_loop()).call_later(gap, lambda: self._come_round(item))

    def _come_round(self, item: _Playing) -> None:
        if self.repeating is not item:  # stopped in the gap
            return
        base = itemids.split_round(item.item_id)[0]
        again = _Playing(
            item_id=itemids.round_item(base, item.round + 1),
            audio_sha256=item.audio_sha256,
            priority=item.priority,
            title=item.title,
            started_at=datetime.now(UTC),
            repeat_gap_s=item.repeat_gap_s,
            round=item.round + 1,
        )
        self._enqueue(again)

    def _finish(self, outcome: m.Outcome, detail: str | None = None, *, start_next: bool = True) -> None:
        item = self.playing
        if item is None:
            return
        self.playing = None
        receipt = m.Receipt(
            receipt_id=uuid.uuid4().hex,
            seq=self.seq,
            item_id=item.item_id,
            audio_sha256=item.audio_sha256,
            started_at=item.started_at,
            ended_at=datetime.now(UTC),
            outcome=outcome,
            detail=detail,
        )
        self.seq += 1
        self.pending[receipt.receipt_id] = (0.0, receipt)
        if self.client.connected:
            self._resend_receipts()
        if start_next and self.queue:
            self._start(self.queue.pop(0))
        self._changed()
