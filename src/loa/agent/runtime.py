"""The agent: enrol once, then keep the schedule, play it, report, and never lose a receipt.

Tasks (all restartable, none may stop the others): the player; the MQTT session (reconnects with
backoff and jitter; birth + will; commands; acks); the heartbeat; the manifest sync (on ``state``, on
every reconnect and every ``sync_interval_s``, with ETag); the downloader (most urgent first, backoff,
daily budget); the receipt sender (resends until acknowledged).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import logging
import ssl
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import httpx

from loa.agent import sysinfo
from loa.agent.config import AgentConfig, Identity
from loa.agent.fetch import DataBudget, FetchError, ServerClient, backoff_delay
from loa.agent.journal import ReceiptJournal
from loa.agent.player import Finished, Player, PlayItem, now_ms
from loa.agent.sinks import Sink, make_sink
from loa.agent.storage import AudioCache, atomic_write, read_json, write_json
from loa.protocol import group, itemids
from loa.protocol import manifest as mf
from loa.protocol import messages as m
from loa.protocol.priority import Priority
from loa.protocol.topics import CHANNELS, Channel, Topics

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Loa-Signature"
URGENT_PRIORITY = int(Priority.PRIORITY_BULLETIN)
IMMINENT_MS = 15 * 60 * 1000


RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: "run me again" for the supervisor (see docs/agent.md)


class RestartRequested(Exception):
    """The operator sent ``reboot``: the process exits with ``RESTART_EXIT_CODE``."""


class EnrolmentError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


async def enrol(config: AgentConfig) -> Identity:
    if not config.enrol_code:
        raise EnrolmentError("chưa đăng ký: cần enrol_code trong tệp cấu hình", permanent=True)
    try:
        async with httpx.AsyncClient(base_url=config.server_url, timeout=30) as client:
            response = await client.post("/api/v1/devices/enrol", json={"code": config.enrol_code})
    except httpx.HTTPError as err:
        raise EnrolmentError(f"không kết nối được máy chủ: {err}") from err
    if response.status_code != 200:
        raise EnrolmentError(
            f"đăng ký thất bại ({response.status_code}): {response.text[:200]}",
            permanent=400 <= response.status_code < 500,
        )
    body = response.json()
    mqtt = body["mqtt"]
    host = mqtt["host"]
    if host in ("127.0.0.1", "0.0.0.0", "localhost", "::1"):
        host = urlsplit(config.server_url).hostname or host
    return Identity(
        device_id=body["device_id"],
        device_name=body.get("device_name", ""),
        secret=body["secret"],
        mqtt_host=host,
        mqtt_port=mqtt["port"],
        mqtt_tls=bool(mqtt.get("tls", False)),
        topic_prefix=mqtt["topic_prefix"],
        manifest_public_key=body["manifest_public_key"],
    )


@dataclasses.dataclass
class _Repeat:
    """A "play now" that comes round again until a stop (emergency messages)."""

    first: PlayItem
    gap_s: int
    rounds: int = 1
    current_id: str | None = None
    next_id: str | None = None


def mqtt_tls_context(config: AgentConfig, ident: Identity) -> ssl.SSLContext | None:
    """TLS to the broker when enrolment or the configuration asks for it: the broker's certificate
    is verified (host name included) against ``mqtt_ca_file`` or the system's trusted CAs."""
    use_tls = ident.mqtt_tls if config.mqtt_tls is None else config.mqtt_tls
    if not use_tls:
        return None
    context = ssl.create_default_context(cafile=str(config.mqtt_ca_file) if config.mqtt_ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def items_from_manifest(manifest: mf.Manifest) -> list[PlayItem]:
    items = []
    for it in manifest.items:
        if it.audio.kind is not mf.AudioKind.FILE or it.audio.sha256 is None:
            continue  # live relays are not played from the cache
        url = it.audio.url if it.audio.url.startswith(("http://", "https://")) else None
        items.append(
            PlayItem(
                id=it.id,
                audio_sha256=it.audio.sha256,
                start_ms=int(it.start_at.timestamp() * 1000),
                duration_ms=it.duration_ms,
                priority=it.priority,
                preempt_rule=it.preempt_rule,
                not_after_ms=int(it.not_after_at.timestamp() * 1000) if it.not_after_at else None,
                title=it.title,
                url=url,
            )
        )
    return items


class Agent:
    def __init__(self, config: AgentConfig, *, sink: Sink | None = None) -> None:
        self.config = config
        self.data = config.data_dir
        self.data.mkdir(parents=True, exist_ok=True)
        self.sink = sink or make_sink(config.sink, config.sink_dir, config.alsa_device)
        self.identity: Identity | None = None
        self.cache = AudioCache(self.data / "audio")
        self.journal = ReceiptJournal(self.data / "receipts.jsonl")
        budget = config.daily_data_budget_mb
        self.budget = DataBudget(self.data / "budget.json", int(budget * 1e6) if budget is not None else None)
        done = read_json(self.data / "done.json")
        done_ids = set(done) if isinstance(done, list) else set()
        done_ids |= {r.item_id for r in self.journal.pending()}
        self.player = Player(
            sink=self.sink,
            cache=self.cache,
            on_finished=self._on_finished,
            on_playing=lambda _item: self._status_changed.set(),
            done_ids=done_ids,
        )
        self.manifest: mf.Manifest | None = None
        self.manifest_etag: str | None = None
        self.manifest_error: str | None = None
        self.audio_errors = 0
        self.bad_audio: set[str] = set()
        self.boot_id = uuid.uuid4().hex[:16]
        self.started = time.monotonic()
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self._status_changed = asyncio.Event()
        self.restart_requested = asyncio.Event()
        self._sync_now = asyncio.Event()
        self._download_now = asyncio.Event()
        self._receipts_now = asyncio.Event()
        self._seen_commands: dict[str, float] = {}
        self._repeats: dict[str, _Repeat] = {}  # first item id → its repetition
        self._groups: set[str] = set()  # commune group codes learnt from ``state``
        self._command_tasks: set[asyncio.Task[None]] = set()
        self.server: ServerClient | None = None
        self.topics = Topics()

    # --- start-up ------------------------------------------------------------------------------

    async def prepare(self) -> None:
        identity_path = self.data / "identity.json"
        raw = read_json(identity_path)
        if isinstance(raw, dict):
            self.identity = Identity.model_validate(raw)
        else:
            self.identity = await self._enrol_with_retry()
            write_json(identity_path, self.identity.model_dump())
            log.info("enrolled as %s", self.identity.device_id)
        ident = self.identity
        self.topics = Topics(ident.topic_prefix)
        self.server = ServerClient(self.config.server_url, ident.device_id, ident.secret)
        bad = await asyncio.to_thread(self.cache.verify_all)
        if bad:
            log.warning("removed %d corrupt cached files", len(bad))
        self._load_saved_manifest()

    async def _enrol_with_retry(self) -> Identity:
        attempt = 0
        while True:
            try:
                return await enrol(self.config)
            except EnrolmentError as err:
                if err.permanent:
                    raise
                log.warning("%s; thử lại sau", err)
                await asyncio.sleep(backoff_delay(attempt, cap_s=self.config.reconnect_max_s))
                attempt += 1

    def _load_saved_manifest(self) -> None:
        body_path, sig_path = self.data / "manifest.json", self.data / "manifest.sig"
        if not body_path.exists() or not sig_path.exists():
            return
        try:
            manifest = self._open(body_path.read_bytes(), sig_path.read_bytes())
        except mf.ManifestError as err:
            log.warning("saved manifest refused: %s", err.code)
            return
        self._apply(manifest, etag=None)

    def _open(self, body: bytes, signature: bytes) -> mf.Manifest:
        assert self.identity is not None
        key = base64.b64decode(self.identity.manifest_public_key)
        manifest = mf.open_signed(body, signature, [key])
        if manifest.device_id != self.identity.device_id:
            raise mf.ManifestError("Lịch phát của thiết bị khác.", code="wrong_device")
        return manifest

    def _apply(self, manifest: mf.Manifest, etag: str | None) -> None:
        self.manifest = manifest
        self.manifest_etag = etag
        self.player.set_manifest_items(items_from_manifest(manifest))
        self._download_now.set()
        self._status_changed.set()

    async def run(self) -> None:
        await self.prepare()
        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(self.player.run(), name="player"),
            asyncio.create_task(self._mqtt_loop(), name="mqtt"),
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(self._sync_loop(), name="sync"),
            asyncio.create_task(self._download_loop(), name="download"),
            asyncio.create_task(self._receipt_loop(), name="receipts"),
        ]
        restart = asyncio.create_task(self.restart_requested.wait(), name="restart")
        tasks.append(restart)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if restart in done:
                log.info("restarting on the operator's command")
                raise RestartRequested
            for task in done:
                task.result()  # a loop that ended: surface its error
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.server is not None:
                await self.server.aclose()
            self.journal.close()

    # --- receipts ------------------------------------------------------------------------------

    def _on_finished(self, finished: Finished) -> None:
        receipt = m.Receipt(
            receipt_id=uuid.uuid4().hex,
            seq=self.journal.next_seq(),
            item_id=finished.item.id,
            audio_sha256=finished.item.audio_sha256,
            started_at=finished.started_at,
            ended_at=finished.ended_at,
            outcome=finished.outcome,
            manifest_version=self.manifest.manifest_version if self.manifest else None,
            detail=finished.detail,
        )
        self.journal.add(receipt)  # fsync'd before anything else learns of it
        self._repeat_after(finished)
        known = set(self.player.items())
        write_json(self.data / "done.json", sorted(i for i in self.player.done_ids if i in known))
        log.info("%s %s", finished.item.id, finished.outcome.value)
        self._receipts_now.set()
        self._status_changed.set()

    def _end_repeats(self, *, stop_sounding: bool) -> None:
        """No repeated message comes round again; the sounding item is cut if ``stop_sounding``, or
        if it is itself a round of a repeated message."""
        rounds = {i for k, r in self._repeats.items() for i in (k, r.current_id, r.next_id) if i}
        self.player.cancel_pending(rounds)
        self._repeats.clear()
        playing = self.player.playing
        if stop_sounding or (playing is not None and playing.id in rounds):
            self.player.stop_current()

    def _repeat_after(self, finished: Finished) -> None:
        """A repeated "play now" (``repeat_gap_s``) comes round again ``gap`` seconds after each end,
        as a new item with its own receipt, until a ``stop``; one the operator stopped does not."""
        base = next((k for k, r in self._repeats.items() if finished.item.id in (k, r.current_id)), None)
        if base is None:
            return
        if finished.detail == "by:operator_stop":
            self._repeats.pop(base, None)
            return
        repeat = self._repeats[base]
        repeat.rounds += 1
        start = now_ms() + repeat.gap_s * 1000
        template = repeat.first
        item = dataclasses.replace(
            template,
            id=itemids.round_item(base, repeat.rounds),
            start_ms=start,
            not_after_ms=None,
        )
        repeat.current_id = repeat.next_id = item.id
        self.player.add_item(item)

    async def _receipt_loop(self) -> None:
        while True:
            await self.connected.wait()
            pending = self.journal.pending()
            client = self._client
            if pending and client is not None and self.identity is not None:
                topic = self.topics.device(self.identity.device_id, Channel.RECEIPTS)
                try:
                    for start in range(0, len(pending), m.MAX_RECEIPTS_PER_BATCH):
                        batch = m.ReceiptBatch(
                            sent_at=m.now_utc(), receipts=pending[start : start + m.MAX_RECEIPTS_PER_BATCH]
                        )
                        await client.publish(topic, batch.to_bytes(), qos=1)
                except aiomqtt.MqttError:
                    await asyncio.sleep(1)
                    continue
            self._receipts_now.clear()
            timeout = self.config.resend_receipts_after_s if pending else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._receipts_now.wait(), timeout=timeout)

    # --- MQTT ----------------------------------------------------------------------------------

    async def _mqtt_loop(self) -> None:
        assert self.identity is not None
        ident = self.identity
        attempt = 0
        will = aiomqtt.Will(
            self.topics.device(ident.device_id, Channel.LWT), m.Lwt().to_bytes(), qos=1, retain=False
        )
        while True:
            try:
                async with aiomqtt.Client(
                    self.config.mqtt_host or ident.mqtt_host,
                    self.config.mqtt_port or ident.mqtt_port,
                    username=ident.device_id,
                    password=ident.secret,
                    identifier=ident.device_id,
                    clean_session=False,
                    keepalive=self.config.mqtt_keepalive_s,
                    will=will,
                    timeout=15,
                    tls_context=mqtt_tls_context(self.config, ident),
                ) as client:
                    for channel in (Channel.STATE, Channel.CMD, Channel.ACK):
                        await client.subscribe(self.topics.device(ident.device_id, channel), qos=1)
                    for code in ("", *sorted(self._groups)):  # "": the fleet-wide group
                        await client.subscribe(self.topics.group_cmd(code), qos=1)
                    self._client = client
                    attempt = 0
                    birth = m.Birth(
                        sent_at=m.now_utc(),
                        boot_id=self.boot_id,
                        firmware=self.config.firmware,
                        manifest_version=self.manifest.manifest_version if self.manifest else None,
                    )
                    await client.publish(
                        self.topics.device(ident.device_id, Channel.BIRTH), birth.to_bytes(), qos=1
                    )
                    self.connected.set()
                    self._status_changed.set()
                    self._sync_now.set()
                    self._receipts_now.set()
                    async for message in client.messages:
                        await self._on_message(str(message.topic), message.payload)
            except aiomqtt.MqttError as err:
                if self.connected.is_set():
                    log.warning("lost MQTT: %s", err)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(backoff_delay(attempt, base_s=1.0, cap_s=self.config.reconnect_max_s))
            attempt += 1

    async def _on_message(self, topic: str, payload: object) -> None:
        if self.topics.is_group_cmd(topic) and isinstance(payload, bytes | bytearray):
            self._on_group_message(payload)
            return
        parsed = self.topics.parse(topic)
        if parsed is None or not isinstance(payload, bytes | bytearray) or self.identity is None:
            return
        uid, channel = parsed
        if uid != self.identity.device_id:
            return  # someone else's retained message (amqtt 0.12): ignore it
        try:
            message = m.parse_server_message(channel, payload)
        except m.ProtocolError as err:
            log.warning("ignored %s message: %s", channel.value, err.code)
            return
        if isinstance(message, m.StateRef):
            await self._join_groups(message.groups)
            current = self.manifest.manifest_version if self.manifest else -1
            if message.manifest_version > current:
                self._sync_now.set()
        elif isinstance(message, m.ReceiptAck):
            if self.journal.ack(list(message.receipt_ids)):
                self._status_changed.set()
        else:
            task = asyncio.create_task(self._on_command(message))  # a play_now may download first
            self._command_tasks.add(task)
            task.add_done_callback(self._command_tasks.discard)

    def _on_group_message(self, payload: bytes | bytearray) -> None:
        """A command on a shared group topic: only the server's signature makes it trustworthy."""
        if self.identity is None:
            return
        try:
            opened = group.open_sealed(payload, base64.b64decode(self.identity.manifest_public_key))
        except m.ProtocolError as err:
            log.warning("ignored group command: %s", err.code)
            return
        if opened.addresses(self.identity.device_id):
            task = asyncio.create_task(self._on_command(opened.command))
            self._command_tasks.add(task)
            task.add_done_callback(self._command_tasks.discard)

    async def _join_groups(self, groups: list[str] | None) -> None:
        """Subscribe to the commune groups the server names in ``state`` (kept while connected;
        the retained ``state`` arrives again on every connect)."""
        if groups is None:
            return
        new = set(groups) - self._groups
        self._groups |= new
        client = self._client
        if client is not None:
            for code in sorted(new):
                await client.subscribe(self.topics.group_cmd(code), qos=1)

    async def _on_command(self, command: m.ServerMessage) -> None:
        if not isinstance(command, m.PlayNow | m.Stop | m.SetVolume | m.Sync | m.Reboot | m.Update):
            return
        if command.id in self._seen_commands:
            return  # a QoS 1 duplicate
        self._seen_commands[command.id] = time.monotonic()
        if len(self._seen_commands) > 1000:
            oldest = sorted(self._seen_commands, key=self._seen_commands.__getitem__)[:500]
            for key in oldest:
                del self._seen_commands[key]
        if command.expired():
            if isinstance(command, m.Stop):
                # However late, a stop still ends a repeated message (and only that): a loudspeaker
                # away when it was sent would otherwise repeat the alert for ever.
                self._end_repeats(stop_sounding=False)
            await self._result(command.id, m.CommandStatus.EXPIRED)
            return
        status, detail = m.CommandStatus.DONE, None
        if isinstance(command, m.PlayNow):
            args = command.args
            item = PlayItem(
                id=args.item_id or itemids.command_item(command.id),
                audio_sha256=args.audio_sha256,
                start_ms=now_ms(),
                duration_ms=1,
                priority=args.priority,
                title=args.title,
                url=args.url,
            )
            try:
                path = await self._download(item, urgent=True)
                duration = await asyncio.to_thread(audio_duration_ms, path)
                first = _with_duration(item, duration, now_ms())
                self.player.add_item(first)
                if args.repeat_gap_s is not None:
                    self._repeats[first.id] = _Repeat(first, args.repeat_gap_s)
            except FetchError as err:
                status, detail = m.CommandStatus.FAILED, err.code
        elif isinstance(command, m.Stop):
            self._end_repeats(stop_sounding=True)  # what sounds, and every repeated message
        elif isinstance(command, m.SetVolume):
            self.player.set_volume(command.args.level)
            self._status_changed.set()
        elif isinstance(command, m.Sync):
            self._sync_now.set()
        elif isinstance(command, m.Reboot):
            # Answer first (the result is QoS 1), then leave with RESTART_EXIT_CODE: the supervisor
            # (systemd Restart=always) starts the agent again. Receipts are already on disk.
            await self._result(command.id, m.CommandStatus.DONE, "restarting")
            self.restart_requested.set()
            return
        else:
            status, detail = m.CommandStatus.REJECTED, "not_supported_yet"
        await self._result(command.id, status, detail)

    async def _result(self, command_id: str, status: m.CommandStatus, detail: str | None = None) -> None:
        client = self._client
        if client is None or self.identity is None:
            return
        result = m.CommandResult(command_id=command_id, status=status, at=m.now_utc(), detail=detail)
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(
                self.topics.device(self.identity.device_id, Channel.RESULT), result.to_bytes(), qos=1
            )

    # --- status --------------------------------------------------------------------------------

    def status(self, reason: m.StatusReason) -> m.Status:
        free, total = sysinfo.storage(self.data)
        playing = self.player.playing
        needed = self.player.needed_audio()
        missing = sum(1 for i in needed if not self.cache.has(i.audio_sha256))
        return m.Status(
            sent_at=m.now_utc(),
            reason=reason,
            heartbeat_s=self.config.heartbeat_s,
            firmware=self.config.firmware,
            uptime_s=int(time.monotonic() - self.started),
            volume=self.player.volume,
            storage_free_bytes=free,
            storage_total_bytes=total,
            temperature_c=sysinfo.temperature_c(),
            network=sysinfo.network(),
            playing=m.PlayingInfo(
                item_id=playing.id,
                audio_sha256=playing.audio_sha256,
                priority=playing.priority,
                started_at=m.now_utc(),
                title=playing.title,
            )
            if playing
            else None,
            manifest_version=self.manifest.manifest_version if self.manifest else None,
            manifest_error=self.manifest_error,
            audio_errors=self.audio_errors,
            items_ready=len(needed) - missing,
            items_missing=missing,
            pending_receipts=len(self.journal.pending()),
            data_used_today_bytes=self.budget.used,
        )

    async def _heartbeat_loop(self) -> None:
        reason = m.StatusReason.BOOT
        while True:
            await self.connected.wait()
            client = self._client
            if client is not None and self.identity is not None:
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.publish(
                        self.topics.device(self.identity.device_id, Channel.STATUS),
                        self.status(reason).to_bytes(),
                        qos=CHANNELS[Channel.STATUS].qos,
                    )
            self._status_changed.clear()
            try:
                await asyncio.wait_for(self._status_changed.wait(), timeout=self.config.heartbeat_s)
                reason = m.StatusReason.CHANGE
                await asyncio.sleep(self.config.status_coalesce_s)  # a burst of changes: one message
            except TimeoutError:
                reason = m.StatusReason.HEARTBEAT

    # --- manifest and audio --------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        attempt = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sync_now.wait(), timeout=self.config.sync_interval_s)
            self._sync_now.clear()
            try:
                await self.sync_manifest()
                attempt = 0
            except FetchError as err:
                log.warning("manifest fetch failed: %s", err.code)
                await asyncio.sleep(backoff_delay(attempt, cap_s=self.config.reconnect_max_s))
                attempt += 1
                self._sync_now.set()

    async def sync_manifest(self) -> None:
        assert self.server is not None and self.identity is not None
        url = f"/api/v1/devices/{self.identity.device_id}/manifest"
        try:
            response = await self.server.fetch_manifest_signed(url, self.manifest_etag)
        except FetchError as err:
            if err.code == "http_404":
                return  # no schedule yet
            raise
        if response is None:
            return  # not modified
        body, signature, etag = response
        try:
            manifest = self._open(body, signature)
            current = self.manifest.manifest_version if self.manifest else 0
            if manifest.manifest_version < current:
                raise mf.ManifestError("Lịch phát cũ hơn lịch đang dùng.", code="manifest_rollback")
        except mf.ManifestError as err:
            if self.manifest_error != err.code:
                log.warning(
                    "manifest refused: %s (keeping version %s)",
                    err.code,
                    self.manifest and self.manifest.manifest_version,
                )
            self.manifest_error = err.code
            self._status_changed.set()
            return
        atomic_write(self.data / "manifest.sig", signature)
        atomic_write(self.data / "manifest.json", body)
        self.manifest_error = None
        self._apply(manifest, etag)

    async def _download(self, item: PlayItem, *, urgent: bool) -> Path:
        assert self.server is not None
        return await self.server.download(
            item.audio_sha256, self.cache, self.budget, urgent=urgent, url=item.url
        )

    async def _download_loop(self) -> None:
        attempts: dict[str, int] = {}
        while True:
            self._download_now.clear()
            horizon = self.config.download_horizon_s * 1000
            wait_s = 300.0
            for item in self.player.needed_audio(horizon):
                if self.cache.has(item.audio_sha256) or item.audio_sha256 in self.bad_audio:
                    continue
                urgent = item.priority >= URGENT_PRIORITY or item.start_ms - now_ms() < IMMINENT_MS
                try:
                    await self._download(item, urgent=urgent)
                    attempts.pop(item.audio_sha256, None)
                    self._status_changed.set()
                    self.player._changed.set()
                except FetchError as err:
                    if err.code == "hash_mismatch":
                        self.audio_errors += 1
                        self.bad_audio.add(item.audio_sha256)
                        self.manifest_error = "audio_hash_mismatch"
                        self._status_changed.set()
                        log.warning("audio %s refused: wrong hash", item.audio_sha256[:12])
                        continue
                    if err.code == "budget":
                        continue
                    n = attempts.get(item.audio_sha256, 0)
                    attempts[item.audio_sha256] = n + 1
                    wait_s = min(wait_s, backoff_delay(n, base_s=0.5, cap_s=self.config.reconnect_max_s))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._download_now.wait(), timeout=wait_s)


def _with_duration(item: PlayItem, duration_ms: int, start_ms: int) -> PlayItem:
    return PlayItem(
        id=item.id,
        audio_sha256=item.audio_sha256,
        start_ms=start_ms,
        duration_ms=max(1, duration_ms),
        priority=item.priority,
        preempt_rule=item.preempt_rule,
        title=item.title,
        url=item.url,
    )


def audio_duration_ms(path: Path) -> int:
    """Duration of a cached file: WAV by its header (stdlib), anything else through PyAV if present."""
    import wave

    try:
        with wave.open(str(path), "rb") as wav:
            return int(wav.getnframes() * 1000 / wav.getframerate())
    except (wave.Error, EOFError, OSError):
        pass
    try:
        import av
    except ImportError:
        return 60_000  # unknown: the sink stops at the end of the file anyway
    with av.open(str(path)) as container:
        if container.duration:
            return int(container.duration / 1000)
    return 60_000
