"""One simulated loudspeaker: protocol v1 over ``mqtt_lite`` around the device core the agent runs
(``loa.protocol.device``), so it follows the agent's rules for commands, repeats, pre-emption and
receipts. Birth and will, QoS 0 heartbeats, command results, receipts kept until acknowledged.

It plays no sound and downloads no audio: an item "sounds" for its length on the simulated clock.
With ``SimConfig.server_url`` it fetches its signed manifest like the agent (``GET
/api/v1/devices/{uid}/manifest`` with its own credentials, verified with the server key) and plays
the items at their times for the ``duration_ms`` the server measured, sending real receipts; an item
naming a stream (a live broadcast, a relay) is "played" by reading the stream's bytes from its URL
for as long as it sounds, without decoding them, so a stream server counts it as a real listener
(drops and reconnections as on the agent: ``StreamDown``/``StreamUp``, retried with backoff). Without
a server (load benchmarks) it plays only what commands ask. A "play now" lasts what the manifest
says of that audio, else ``play_s``.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, KeysView
from typing import Any

import httpx

from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.device.core import CoreConfig, DeviceCore
from loa.protocol.device.items import PlayItem
from loa.protocol.mqtt_lite import LiteClient, MqttLiteError, Will
from loa.protocol.topics import Channel
from loa.sim.config import SimConfig, SimIdentity, SimStats
from loa.sim.shared import Ticker, open_group_command

__all__ = ["SimConfig", "SimDevice", "SimIdentity", "SimStats", "Ticker", "now_ms"]

log = logging.getLogger(__name__)

FIRMWARE = "loa-sim/0.2"
SIGNATURE_HEADER = "X-Loa-Signature"
RECEIPTS_KEPT = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


class SimDevice:
    def __init__(
        self,
        identity: SimIdentity,
        config: SimConfig,
        stats: SimStats,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.identity = identity
        self.config = config
        self.stats = stats
        self.http = http if config.server_url else None
        key = config.server_public_key
        self.core = DeviceCore(
            CoreConfig(
                device_id=identity.uid,
                server_keys=(key,) if key is not None else (),
                resend_receipts_after_ms=int(config.resend_receipts_after_s * 1000),
                can_restart=False,
                assume_audio=True,
                play_now_ms=int(config.play_s * 1000),
            ),
            now_ms=now_ms(),
        )
        self.client = LiteClient(identity.uid, on_message=self._on_message)
        self.started = time.monotonic()
        self.boot_id = uuid.uuid4().hex[:16]
        # The latest receipts made, in order (tests and the demo compare them with the server's).
        self.receipts: collections.deque[m.Receipt] = collections.deque(maxlen=RECEIPTS_KEPT)
        self._change_pending = False
        self._wake_at: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._etag: str | None = None
        self._topics: dict[Channel, str] = {}
        self._fetching = False
        self._fetch_again = False
        self._stream: tuple[str, asyncio.Task[None]] | None = None  # item id, its reader

    def topic(self, channel: Channel) -> str:
        topic = self._topics.get(channel)
        if topic is None:  # built once per channel: checking the id costs as much as a publish
            topic = self._topics[channel] = self.config.topics.device(self.identity.uid, channel)
        return topic

    # --- what tests and the benchmarks read -------------------------------------------------------

    @property
    def playing(self) -> PlayItem | None:
        return self.core.playing

    @property
    def seen_commands(self) -> KeysView[str]:
        return self.core.seen_commands.keys()

    @property
    def groups(self) -> set[str]:
        return self.core.groups

    @property
    def volume(self) -> int:
        return self.core.volume

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
            filters += [(cfg.topics.group_cmd(code), 1) for code in ("", *sorted(self.core.groups))]
        if cfg.fanout_topic:
            filters.append((cfg.fanout_topic, 1))
        await self.client.subscribe(filters)
        birth = m.Birth(
            sent_at=m.now_utc(),
            boot_id=self.boot_id,
            firmware=FIRMWARE,
            manifest_version=self.core.manifest_version,
        )
        await self.client.publish(self.topic(Channel.BIRTH), birth.to_bytes(), qos=1)
        self.stats.connects += 1

    async def run(self, connect_gate: asyncio.Semaphore | None = None) -> None:
        """Stay connected (reconnecting with backoff and jitter) and heartbeat."""
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
                self.feed(s.DISCONNECTED)
            await asyncio.sleep(random.random() * 2)

    async def _session(self) -> None:
        # Spread the fleet's heartbeats over the period instead of all at once.
        wait = random.random() * self.config.heartbeat_s
        self._send_status(m.StatusReason.BOOT)
        self.feed(s.CONNECTED)  # pending receipts go out now
        while self.client.connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.closed.wait(), timeout=wait)
            if not self.client.connected:
                return
            try:
                self._send_status(m.StatusReason.HEARTBEAT)
            except MqttLiteError:
                return
            wait = self.config.heartbeat_s

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._wake_at = None  # pending timers find nothing to do
        await self.client.disconnect()

    # --- the core: events in, effects out ---------------------------------------------------------

    def feed(self, event: s.Event) -> None:
        for effect in self.core.handle(event, now_ms()):
            handler = _EFFECTS.get(type(effect))
            if handler is not None:
                handler(self, effect)
        self._schedule_wake()

    def _schedule_wake(self) -> None:
        """One timer callback at the core's next wake-up (earlier ones win; stale ones do nothing)."""
        wake = self.core.next_wake_ms
        if wake is None or (self._wake_at is not None and self._wake_at <= wake):
            return
        self._wake_at = wake
        loop = asyncio.get_running_loop()
        Ticker.of(loop).call_later((wake - now_ms()) / 1000, lambda: self._woken(wake))

    def _woken(self, at: int) -> None:
        if self._wake_at == at:
            self._wake_at = None
            self.feed(s.TICK)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            with contextlib.suppress(MqttLiteError, TimeoutError, OSError):
                await work

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _do_send_receipts(self, effect: s.SendReceipts) -> None:
        if self.client.connected:
            self.stats.receipts_sent += len(effect.batch.receipts)
            self._spawn(self.client.publish(self.topic(Channel.RECEIPTS), effect.batch.to_bytes(), qos=1))

    def _do_record(self, effect: s.RecordReceipt) -> None:
        self.receipts.append(effect.receipt)

    def _do_forget(self, effect: s.ForgetReceipts) -> None:
        self.stats.receipts_acked += len(effect.receipt_ids)

    def _do_result(self, effect: s.SendResult) -> None:
        # Not retried: a result lost with the connection leaves the command "Chưa phản hồi" on the server.
        if effect.result.status is m.CommandStatus.EXPIRED:
            self.stats.expired += 1
        if self.client.connected:
            self.client.publish_nowait(self.topic(Channel.RESULT), effect.result.to_bytes(), qos=1)

    def _do_status(self, effect: s.StatusChanged) -> None:
        """Report a change with a timer callback, not a waiting task per device."""
        if not self._change_pending:
            self._change_pending = True
            ticker = Ticker.of(asyncio.get_running_loop())
            ticker.call_later(self.config.change_status_delay_s, self._report_change)

    def _do_fetch_manifest(self, effect: s.FetchManifest) -> None:
        if self.http is not None:
            self._spawn(self._fetch_manifest())

    def _do_join(self, effect: s.JoinGroups) -> None:
        if self.config.server_public_key is not None:
            filters = [(self.config.topics.group_cmd(code), 1) for code in effect.codes]
            self._spawn(self._subscribe(filters))

    def _do_sound(self, effect: s.Sound) -> None:
        self._end_stream()
        url = effect.item.stream_url
        if url is not None:
            task = asyncio.ensure_future(self._listen(effect.item.id, url))
            self._stream = (effect.item.id, task)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _do_silence(self, effect: s.Silence) -> None:
        if self._stream is not None and self._stream[0] == effect.item_id:
            self._end_stream()

    def _end_stream(self) -> None:
        if self._stream is not None:
            self._stream[1].cancel()
            self._stream = None

    async def _listen(self, item_id: str, url: str) -> None:
        """Read the stream as a loudspeaker would (at the pace the server sends it), until cancelled;
        a drop or a dead URL is reported and retried with backoff and jitter."""
        cfg = self.config
        timeout = httpx.Timeout(cfg.stream_connect_timeout_s, read=cfg.stream_stall_s)
        failures = 0  # in a row, since it last brought audio
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                detail = "ended"
                try:
                    async with client.stream("GET", url) as response:
                        if response.status_code != 200:
                            detail = f"http {response.status_code}"
                        else:
                            self.stats.stream_connects += 1
                            up = False
                            async for chunk in response.aiter_raw():
                                if not up:
                                    up, failures = True, 0
                                    self.feed(s.StreamUp(item_id))
                                self.stats.stream_bytes += len(chunk)
                except httpx.HTTPError as err:
                    detail = type(err).__name__
                self.stats.stream_drops += 1
                self.feed(s.StreamDown(item_id, detail))
                delay = min(cfg.stream_retry_max_s, 0.5 * 2**failures)
                failures += 1
                await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))

    def _do_note(self, effect: s.Note) -> None:
        log.debug("%s: %s", self.identity.uid, effect.text)

    # --- outbound ---------------------------------------------------------------------------------

    def _report_change(self) -> None:
        self._change_pending = False
        with contextlib.suppress(MqttLiteError):
            self._send_status(m.StatusReason.CHANGE)

    def status(self, reason: m.StatusReason) -> m.Status:
        return m.Status(
            sent_at=m.now_utc(),
            reason=reason,
            heartbeat_s=max(1, int(self.config.heartbeat_s)),
            firmware=FIRMWARE,
            uptime_s=int(time.monotonic() - self.started),
            network=m.NetworkInfo(kind="4g", signal_dbm=-70.0 - random.random() * 30),
            **self.core.status_fields(now_ms()),
        )

    def _send_status(self, reason: m.StatusReason) -> None:
        if self.client.connected:
            self.client.publish_nowait(self.topic(Channel.STATUS), self.status(reason).to_bytes())

    async def _subscribe(self, filters: list[tuple[str, int]]) -> None:
        await self.client.subscribe(filters)

    async def _fetch_manifest(self) -> None:
        """Fetch the signed manifest like the agent (ETag; backoff with jitter until it works, e.g.
        while the demo's web server starts): one fetch at a time, and one more if asked meanwhile."""
        if self._fetching:
            self._fetch_again = True
            return
        self._fetching = True
        try:
            attempt = 0
            while True:
                self._fetch_again = False
                if await self._fetch_manifest_once():
                    attempt = 0
                    if not self._fetch_again:
                        return
                    continue
                delay = min(self.config.reconnect_max_s, 2.0**attempt)
                await asyncio.sleep(delay * (0.5 + random.random()))
                attempt += 1
        finally:
            self._fetching = False

    async def _fetch_manifest_once(self) -> bool:
        assert self.http is not None and self.config.server_url is not None
        uid = self.identity.uid
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            response = await self.http.get(
                f"{self.config.server_url.rstrip('/')}/api/v1/devices/{uid}/manifest",
                auth=(uid, self.identity.secret),
                headers=headers,
            )
        except httpx.HTTPError as err:
            log.debug("%s: manifest fetch failed: %s", uid, err)
            return False
        if response.status_code in (304, 404):  # not modified; no schedule yet
            return True
        if response.status_code != 200:
            return False
        try:
            signature = base64.b64decode(response.headers.get(SIGNATURE_HEADER, ""), validate=True)
        except ValueError:
            signature = b""
        self.feed(s.ManifestFetched(response.content, signature))
        if self.core.manifest_error is None:  # accepted
            self._etag = response.headers.get("etag")
            self.stats.manifests += 1
        return True

    # --- inbound ----------------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == self.config.fanout_topic:
            self._on_fanout(topic, payload)
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
        if not isinstance(message, m.StateRef | m.ReceiptAck):
            self._count(message)
        self.feed(s.Received(message))

    def _on_fanout(self, topic: str, payload: bytes) -> None:
        if payload.startswith(b"echo"):  # benchmarks: the broker's own round trip, no Loa in it
            self.client.publish_nowait(f"{topic}/echo/{self.identity.uid}", payload, qos=1)
            return
        try:
            sent = float(payload)
        except ValueError:
            return
        self.stats.fanout_latencies_s.append(time.time() - sent)

    def _on_group_command(self, payload: bytes) -> None:
        key = self.config.server_public_key
        if key is None:
            return
        opened = open_group_command(bytes(payload), key)
        if opened is None:
            self.stats.group_refused += 1
        elif opened.addresses(self.identity.uid):
            self._count(opened.command)
            self.feed(s.GroupReceived(opened))

    def _count(self, command: m.ServerMessage) -> None:
        if not isinstance(command, m.StateRef | m.ReceiptAck) and command.id not in self.core.seen_commands:
            self.stats.commands += 1


_EFFECTS: dict[type, Callable[[SimDevice, Any], None]] = {
    s.SendReceipts: SimDevice._do_send_receipts,
    s.RecordReceipt: SimDevice._do_record,
    s.ForgetReceipts: SimDevice._do_forget,
    s.SendResult: SimDevice._do_result,
    s.StatusChanged: SimDevice._do_status,
    s.FetchManifest: SimDevice._do_fetch_manifest,
    s.JoinGroups: SimDevice._do_join,
    s.Note: SimDevice._do_note,
    s.Sound: SimDevice._do_sound,  # a stream is read (a file sounds on the simulated clock only)
    s.Silence: SimDevice._do_silence,
    # SaveManifest, SaveDone: nothing is kept on disk; FetchAudio,
    # AudioWanted: never asked (``assume_audio``); Restart: refused by the core (``can_restart``).
}
