"""The agent: enrol once, then keep the schedule, play it, report, and never lose a receipt.

What the loudspeaker does (commands, repeats, pre-emption, receipts) is ``loa.protocol.device``, the
core the simulator runs too; this module is its adapter to a real board: MQTT (aiomqtt), HTTP
(manifest and audio), the sink (ALSA or a file), files on disk (journal, cache, manifest) and the wall
clock. Every input becomes an event for the core (``feed``); every effect it returns is carried out
here (``_EFFECTS``).

Tasks (all restartable, none may stop the others): the clock (wakes the core when something is due);
the MQTT session (reconnects with backoff and jitter; birth + will; commands; acks); the heartbeat;
the manifest sync and the downloader (``loa.agent.transfers``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from typing import Any

import aiomqtt

from loa.agent import sysinfo
from loa.agent.config import AgentConfig, Identity
from loa.agent.enrolment import EnrolmentError, enrol, mqtt_tls_context
from loa.agent.fetch import DataBudget, FetchError, backoff_delay
from loa.agent.inbox import Inbox
from loa.agent.journal import ReceiptJournal
from loa.agent.link import BrokerLink, BrokerList
from loa.agent.modem import run_modem
from loa.agent.player import SoundOutput, now_ms
from loa.agent.release import ReleaseState
from loa.agent.sinks import Sink, make_sink
from loa.agent.smstrigger import SmsTrigger
from loa.agent.storage import AudioCache, atomic_write, read_json, write_json
from loa.agent.streams import StreamSettings
from loa.agent.supervise import supervised
from loa.agent.switch import OutputSwitch
from loa.agent.transfers import Transfers
from loa.protocol import manifest as mf
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.device.core import CoreConfig, DeviceCore
from loa.protocol.topics import CHANNELS, Channel, Topics

__all__ = ["RESTART_EXIT_CODE", "Agent", "EnrolmentError", "RestartRequested", "mqtt_tls_context"]

log = logging.getLogger(__name__)

IDLE_WAIT_S = 30.0
UNSENT_RESULTS_KEPT = 200  # command answers kept while the broker is unreachable (the oldest dropped)
RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: "run me again" for the supervisor (see docs/agent.md)


class RestartRequested(Exception):
    """The operator sent ``reboot``: the process exits with ``RESTART_EXIT_CODE``."""


class Agent:
    def __init__(self, config: AgentConfig, *, sink: Sink | None = None) -> None:
        self.config = config
        self.data = config.data_dir
        self.data.mkdir(parents=True, exist_ok=True)
        self.identity: Identity | None = None
        self.cache = AudioCache(self.data / "audio")
        self.journal = ReceiptJournal(self.data / "receipts.jsonl")
        budget = config.daily_data_budget_mb
        self.budget = DataBudget(self.data / "budget.json", int(budget * 1e6) if budget is not None else None)
        self.switch = OutputSwitch(config.output_switch) if config.output_switch is not None else None
        self.output = SoundOutput(
            sink or make_sink(config.sink, config.sink_dir, config.alsa_device),
            self.cache,
            on_failed=lambda item_id, detail: self.feed(s.OutputFailed(item_id, detail)),
            on_stream=self.feed,
            switch=self.switch,
            stream_settings=StreamSettings(
                buffer_ms=config.stream_buffer_ms,
                max_buffer_ms=config.stream_buffer_ms * 3,
                retry_max_s=config.stream_retry_max_s,
            ),
        )
        self.core = self._new_core("unknown")  # replaced in ``adopt`` once the identity is known
        self.transfers = Transfers(
            config,
            self.cache,
            self.budget,
            core=lambda: self.core,
            feed=self.feed,
            on_manifest_accepted=lambda: self.release.accepted_manifest(),
        )
        self.loop_errors = 0  # failures of a task, which was started again (``_supervised``)
        self.boot_id = uuid.uuid4().hex[:16]
        self.started = time.monotonic()
        self.topics = Topics()
        self._client: aiomqtt.Client | None = None
        # Command answers the broker did not take (no connection, or it was lost before the PUBACK):
        # sent again once connected. The command is redelivered to the session and dropped as a
        # duplicate, so its answer would otherwise never come; the server keeps the first answer.
        self._unsent_results: deque[bytes] = deque(maxlen=UNSENT_RESULTS_KEPT)
        self.link = BrokerLink(self.data)  # the broker link's state, logged and kept on a change
        self.connected = asyncio.Event()
        self.restart_requested = asyncio.Event()
        self._status_changed = asyncio.Event()
        self.inbox = Inbox(self.feed, self._status_changed.set)  # what arrives from the broker
        self.sms = SmsTrigger(  # what arrives by SMS (the modem), when the data network is down
            self.data / "sms.json",
            feed=self.feed,
            refuse=self.inbox.refuse,
            manifest=lambda: self.core.manifest,
            has_audio=self.cache.has,
        )
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()  # publishes and "play now" downloads in flight
        self.release = ReleaseState(config)  # the version it runs, its health, an update under way
        self.modem = sysinfo.ModemProbe()  # the 4G modem (``mmcli``), asked at most once a minute

    # --- what the rest of the world reads ------------------------------------------------------

    @property
    def manifest(self) -> mf.Manifest | None:
        return self.core.manifest

    @property
    def audio_errors(self) -> int:
        return self.core.audio_errors

    @property
    def message_errors(self) -> int:
        return self.inbox.errors

    @property
    def messages_refused(self) -> Counter[str]:
        return self.inbox.refused

    # --- start-up ------------------------------------------------------------------------------

    def _new_core(self, device_id: str, keys: tuple[bytes, ...] = ()) -> DeviceCore:
        done = read_json(self.data / "done.json")
        settings = read_json(self.data / "settings.json")
        volume = settings.get("volume") if isinstance(settings, dict) else None
        return DeviceCore(
            CoreConfig(
                device_id=device_id,
                server_keys=keys,
                resend_receipts_after_ms=int(self.config.resend_receipts_after_s * 1000),
            ),
            now_ms=now_ms(),
            done_ids=done if isinstance(done, list) else (),
            pending_receipts=self.journal.pending(),
            next_seq=self.journal.upcoming_seq,
            ready_audio=self.cache.shas(),
            volume=volume if isinstance(volume, int) else None,
        )

    def adopt(self, identity: Identity) -> None:
        """Act as ``identity`` from now on (its id, topics, credentials and pinned server key)."""
        self.identity = identity
        self.topics = Topics(identity.topic_prefix)
        self.inbox.adopt(identity, self.topics)
        self.sms.adopt(identity.device_id, identity.sms_key)
        self.transfers.connect(identity.device_id, identity.secret)
        self.core = self._new_core(identity.device_id, (base64.b64decode(identity.manifest_public_key),))

    async def prepare(self) -> None:
        identity_path = self.data / "identity.json"
        raw = read_json(identity_path)
        if isinstance(raw, dict):
            identity = Identity.model_validate(raw)
        else:
            identity = await self._enrol_with_retry()
            write_json(identity_path, identity.model_dump())
            log.info("enrolled as %s", identity.device_id)
        bad = await asyncio.to_thread(self.cache.verify_all)
        if bad:
            log.warning("removed %d corrupt cached files", len(bad))
        self.adopt(identity)
        body_path, sig_path = self.data / "manifest.json", self.data / "manifest.sig"
        if body_path.exists() and sig_path.exists():
            self.feed(s.ManifestFetched(body_path.read_bytes(), sig_path.read_bytes(), saved=True))
        if not self.core.groups:  # enrolment's groups until a signed manifest names them
            self.core.join_groups(identity.groups, [])

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

    async def run(self) -> None:
        await self.prepare()
        loops: list[Callable[[], Coroutine[Any, Any, None]]] = [
            self._clock_loop,
            self._mqtt_loop,
            self._heartbeat_loop,
            self.transfers.sync_loop,
            self.transfers.download_loop,
        ]
        if self.config.modem_device is not None:
            loops.append(self._modem_loop)
            if self.identity is not None and self.identity.sms_key is None:
                loops.append(self._sms_key_loop)
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._supervised(f), name=f.__name__) for f in loops
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
            for task in [*tasks, *self._tasks]:
                task.cancel()
            for task in [*tasks, *self._tasks]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.output.close()
            if self.switch is not None:
                await self.switch.close()
            await self.transfers.aclose()
            self.journal.close()

    async def _supervised(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        def failed() -> None:
            self.loop_errors += 1

        await supervised(loop, on_failure=failed, cap_s=self.config.reconnect_max_s)

    # --- the core: events in, effects out ------------------------------------------------------

    def feed(self, event: s.Event) -> None:
        for effect in self.core.handle(event, now_ms()):
            _EFFECTS[type(effect)](self, effect)
        self._wake.set()

    async def _clock_loop(self) -> None:
        while True:
            self.feed(s.TICK)
            wake = self._switch_ahead(self.core.next_wake_ms)
            delay = IDLE_WAIT_S if wake is None else max(0.0, (wake - now_ms()) / 1000)
            self._wake.clear()
            # ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` can swallow a
            # cancellation that coincides with the event (the agent's shutdown then hangs).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _switch_ahead(self, wake: int | None) -> int | None:
        """Turn the output switch on ``warm_up_ms`` before the next planned sound; the clock's next
        wake-up, brought forward to that instant."""
        switch = self.switch
        if switch is None:
            return wake
        now = now_ms()
        upcoming = self.core.next_sound_ms(now)
        if upcoming is None:
            return wake
        lead = upcoming - switch.config.warm_up_ms
        if lead <= now:
            if not switch.on or switch.off_pending:
                self._spawn(switch.ensure_on())
            return wake
        return lead if wake is None else min(wake, lead)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publish(self, channel: Channel, payload: bytes, qos: int = 1) -> None:
        client, ident = self._client, self.identity
        keep = channel is Channel.RESULT  # receipts are resent by the core, states and births renewed
        if client is None or ident is None:
            if keep:
                self._unsent_results.append(payload)
            return

        async def publish() -> None:
            try:
                await client.publish(self.topics.device(ident.device_id, channel), payload, qos=qos)
            except aiomqtt.MqttError:
                if keep:
                    self._unsent_results.append(payload)

        self._spawn(publish())

    def _do_sound(self, effect: s.Sound) -> None:
        self.output.start(effect)

    def _do_silence(self, effect: s.Silence) -> None:
        self.output.stop(effect)

    def _do_record(self, effect: s.RecordReceipt) -> None:
        self.journal.add(effect.receipt)  # fsync'd before anything else learns of it

    def _do_send_receipts(self, effect: s.SendReceipts) -> None:
        self._publish(Channel.RECEIPTS, effect.batch.to_bytes())

    def _do_forget(self, effect: s.ForgetReceipts) -> None:
        self.journal.ack(list(effect.receipt_ids))

    def _do_result(self, effect: s.SendResult) -> None:
        self._publish(Channel.RESULT, effect.result.to_bytes())

    def _do_status(self, effect: s.StatusChanged) -> None:
        self._status_changed.set()

    def _do_fetch_manifest(self, effect: s.FetchManifest) -> None:
        self.transfers.sync_now.set()

    def _do_save_manifest(self, effect: s.SaveManifest) -> None:
        atomic_write(self.data / "manifest.sig", effect.signature)
        atomic_write(self.data / "manifest.json", effect.body)

    def _do_save_volume(self, effect: s.SaveVolume) -> None:
        write_json(self.data / "settings.json", {"volume": effect.level})

    def _do_save_done(self, effect: s.SaveDone) -> None:
        write_json(self.data / "done.json", list(effect.item_ids))

    def _do_fetch_audio(self, effect: s.FetchAudio) -> None:
        self._spawn(self.transfers.fetch_for_play_now(effect.audio_sha256))

    def _do_audio_wanted(self, effect: s.AudioWanted) -> None:
        self.transfers.download_now.set()

    def _do_join(self, effect: s.JoinGroups) -> None:
        client = self._client
        if client is not None:
            for code in effect.codes:
                self._spawn(self._subscribe(client, self.topics.group_cmd(code)))

    def _do_restart(self, effect: s.Restart) -> None:
        async def after_publishes() -> None:  # the command's result (QoS 1) goes out first
            pending = [t for t in self._tasks if t is not asyncio.current_task()]
            if pending:
                await asyncio.wait(pending, timeout=5)
            self.restart_requested.set()

        self._spawn(after_publishes())

    def _do_install_update(self, effect: s.InstallUpdate) -> None:
        async def install() -> None:
            status, detail = await self.release.install(
                effect.args, identity=self.identity, server=self.transfers.server, budget=self.budget
            )
            result = m.CommandResult(
                command_id=effect.command_id, status=status, at=m.now_utc(), detail=detail
            )
            self._publish(Channel.RESULT, result.to_bytes())
            if status is m.CommandStatus.DONE:
                self._do_restart(s.RESTART)  # after the answer is out, into the new release

        self._spawn(install())

    def _do_note(self, effect: s.Note) -> None:
        log.log(logging.WARNING if effect.warning else logging.INFO, "%s", effect.text)

    # --- MQTT ----------------------------------------------------------------------------------

    async def _mqtt_loop(self) -> None:
        assert self.identity is not None
        ident = self.identity
        attempt = 0
        will = aiomqtt.Will(
            self.topics.device(ident.device_id, Channel.LWT), m.Lwt().to_bytes(), qos=1, retain=False
        )
        brokers = BrokerList(
            (self.config.mqtt_host or ident.mqtt_host, self.config.mqtt_port or ident.mqtt_port),
            self.config.mqtt_brokers,
        )
        while True:
            host, port = brokers.current
            try:
                async with aiomqtt.Client(
                    host,
                    port,
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
                    for code in ("", *sorted(self.core.groups)):  # "": the fleet-wide group
                        await client.subscribe(self.topics.group_cmd(code), qos=1)
                    self._client = client
                    attempt = 0
                    self.link.connected()
                    birth = m.Birth(
                        sent_at=m.now_utc(),
                        boot_id=self.boot_id,
                        firmware=self.config.firmware,
                        manifest_version=self.core.manifest_version,
                        agent_version=self.release.version,
                    )
                    await client.publish(
                        self.topics.device(ident.device_id, Channel.BIRTH), birth.to_bytes(), qos=1
                    )
                    self.release.born()
                    self.connected.set()
                    self.feed(s.CONNECTED)  # pending receipts go out now
                    while self._unsent_results:
                        self._publish(Channel.RESULT, self._unsent_results.popleft())
                    self._status_changed.set()
                    self.transfers.sync_now.set()
                    async for message in client.messages:
                        await self._on_message(str(message.topic), message.payload)
            except aiomqtt.MqttError as err:
                self.link.failed(err, was_connected=self._client is not None)
            finally:
                self._client = None
                self.connected.clear()
                self.feed(s.DISCONNECTED)
            brokers.next()
            rounds = brokers.rounds(attempt)
            await asyncio.sleep(backoff_delay(rounds, base_s=1.0, cap_s=self.config.reconnect_max_s))
            attempt += 1

    @staticmethod
    async def _subscribe(client: aiomqtt.Client, topic: str) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.subscribe(topic, qos=1)

    async def _on_message(self, topic: str, payload: object) -> None:
        """One message from the broker (``loa.agent.inbox``: it never ends the agent)."""
        self.inbox.deliver(topic, payload)

    async def _modem_loop(self) -> None:
        assert self.config.modem_device is not None
        await run_modem(str(self.config.modem_device), self.sms.received)

    async def _sms_key_loop(self) -> None:
        """A device enrolled before SMS keys existed asks for its key once (then idles)."""
        attempt = 0
        while self.identity is not None and self.identity.sms_key is None:
            server = self.transfers.server
            try:
                if server is None:
                    raise FetchError("network")
                key = await server.fetch_sms_key()
            except FetchError:
                await asyncio.sleep(backoff_delay(attempt, cap_s=self.config.reconnect_max_s))
                attempt += 1
                continue
            self.identity = self.identity.model_copy(update={"sms_key": key})
            write_json(self.data / "identity.json", self.identity.model_dump())
            self.sms.adopt(self.identity.device_id, key)
            log.info("SMS trigger key received")
        await asyncio.Event().wait()  # a loop of ``run`` must not end

    # --- status --------------------------------------------------------------------------------

    def status(self, reason: m.StatusReason) -> m.Status:
        free, total = sysinfo.storage(self.data)
        return m.Status(
            sent_at=m.now_utc(),
            reason=reason,
            heartbeat_s=self.config.heartbeat_s,
            firmware=self.config.firmware,
            uptime_s=sysinfo.uptime_s() or int(time.monotonic() - self.started),
            storage_free_bytes=free,
            storage_total_bytes=total,
            temperature_c=sysinfo.temperature_c(),
            network=sysinfo.with_modem(sysinfo.network(), self.modem.info),
            data_used_today_bytes=self.budget.used,
            data_used_month_bytes=self.budget.month_used,
            data_budget_bytes=self.budget.daily_bytes,
            output_state="failing" if self.output.failing else "ok",
            agent_version=self.release.version,
            rolled_back_from=self.release.rolled_back_from(),
            messages_refused=self.inbox.refused.total(),
            message_errors=self.inbox.errors,
            output_switch_error=self.switch.error if self.switch is not None else None,
            **self.core.status_fields(now_ms()),
        )

    async def _heartbeat_loop(self) -> None:
        reason = m.StatusReason.BOOT
        while True:
            await self.connected.wait()
            await self.modem.refresh()
            self._publish(Channel.STATUS, self.status(reason).to_bytes(), qos=CHANNELS[Channel.STATUS].qos)
            self._status_changed.clear()
            try:
                async with asyncio.timeout(self.config.heartbeat_s):
                    await self._status_changed.wait()
                reason = m.StatusReason.CHANGE
                await asyncio.sleep(self.config.status_coalesce_s)  # a burst of changes: one message
            except TimeoutError:
                reason = m.StatusReason.HEARTBEAT


_EFFECTS: dict[type, Callable[[Agent, Any], None]] = {
    s.Sound: Agent._do_sound,
    s.Silence: Agent._do_silence,
    s.RecordReceipt: Agent._do_record,
    s.SendReceipts: Agent._do_send_receipts,
    s.ForgetReceipts: Agent._do_forget,
    s.SendResult: Agent._do_result,
    s.StatusChanged: Agent._do_status,
    s.FetchManifest: Agent._do_fetch_manifest,
    s.SaveManifest: Agent._do_save_manifest,
    s.SaveVolume: Agent._do_save_volume,
    s.SaveDone: Agent._do_save_done,
    s.FetchAudio: Agent._do_fetch_audio,
    s.AudioWanted: Agent._do_audio_wanted,
    s.JoinGroups: Agent._do_join,
    s.Restart: Agent._do_restart,
    s.InstallUpdate: Agent._do_install_update,
    s.Note: Agent._do_note,
}
