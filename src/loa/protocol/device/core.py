"""The loudspeaker's behaviour, once: a state machine with messages and the clock in, effects out.

``DeviceCore.handle(event, now_ms)`` takes one event (a parsed server message, a fetched manifest, a
fact about audio or the output, the connection going up or down, or only time passing) and returns
the effects to carry out, in order. ``next_wake_ms`` says when to call it again if nothing happens.
The agent (real MQTT, HTTP, ALSA, journal on disk, wall clock) and the simulator (``mqtt_lite``, no
sound, thousands per process) are adapters around it, so both follow the same rules:

* commands: an id seen before is ignored (QoS 1 may deliver twice); an expired command is answered
  ``expired`` and not carried out, except that a late ``stop`` still ends a repeated message (and cuts
  the sounding item only if it is a round of one); ``update`` is refused (``not_supported_yet``);
* "play now" fetches its audio first (``FetchAudio``) and then plays at its priority from that
  instant; with ``repeat_gap_s`` it comes round again that long after each end, each round its own
  item (``itemids.round_item``) with its own receipt, until a ``stop``; a ``stop`` cuts what sounds
  (``preempted``, ``by:operator_stop``) and ends every repetition;
* the manifest is verified (signature, device, no rollback) before it is used; ``state`` naming a
  newer version asks for it; the commune groups named by enrolment, the manifest or ``state`` are joined;
* pre-emption, delays and cuts are ``loa.protocol.timeline.resolve`` (see ``playout``); what is over
  gets one receipt (``items.finished`` says which outcome), kept until acknowledged (``receipts``).
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Callable, Iterable
from typing import Any, cast

from loa.protocol import itemids
from loa.protocol import manifest as mf
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.device.items import Finished, PlayItem, at_ms, items_from_manifest
from loa.protocol.device.playout import Playout
from loa.protocol.device.receipts import ReceiptOutbox
from loa.protocol.device.repeats import Repeats

SEEN_COMMANDS_KEPT = 1000
# Audio that failed its hash check is wanted again after this, doubling at each failure up to
# ``BAD_AUDIO_RETRY_MAX_MS`` (the server's copy may have been fixed), and at once with a new manifest.
BAD_AUDIO_RETRY_MS = 60_000
BAD_AUDIO_RETRY_MAX_MS = 3_600_000
WRONG_DEVICE = "Lịch phát của thiết bị khác."
ROLLBACK = "Lịch phát cũ hơn lịch đang dùng."
Command = m.PlayNow | m.Stop | m.SetVolume | m.Sync | m.Reboot | m.Update


@dataclasses.dataclass(frozen=True)
class CoreConfig:
    device_id: str
    server_keys: tuple[bytes, ...] = ()  # pinned Ed25519 keys (raw) the manifest must be signed with
    resend_receipts_after_ms: int = 20_000
    can_restart: bool = True  # a simulator cannot: ``reboot`` is refused
    # A simulator plays no sound: every file its items name counts as present, a "play now" lasts
    # what the manifest says of its audio, else ``play_now_ms``, and what was over before it started
    # is not reported (it did not exist then; a real device reports it ``device_down``).
    assume_audio: bool = False
    play_now_ms: int = 10_000


class DeviceCore:
    def __init__(
        self,
        config: CoreConfig,
        *,
        now_ms: int,
        done_ids: Iterable[str] = (),
        pending_receipts: Iterable[m.Receipt] = (),
        next_seq: int = 0,
        ready_audio: Iterable[str] = (),
        volume: int | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        """``volume``: the last one the server set (``SaveVolume``), if the adapter kept it."""
        self.config = config
        pending = list(pending_receipts)
        self.playout = Playout(
            started_ms=now_ms,
            done_ids={*done_ids, *(r.item_id for r in pending)},
            assume_audio=config.assume_audio,
            report_before_start=not config.assume_audio,
        )
        self.playout.ready_audio.update(ready_audio)
        if volume is not None and 0 <= volume <= 100:
            self.playout.volume = volume
        self.outbox = ReceiptOutbox(
            resend_after_ms=config.resend_receipts_after_ms,
            new_id=new_id or (lambda: uuid.uuid4().hex),
            pending=pending,
            next_seq=next_seq,
        )
        self.manifest: mf.Manifest | None = None
        self.manifest_error: str | None = None
        self.audio_errors = 0
        self.bad_audio: dict[str, tuple[int, int]] = {}  # sha → (failures, wanted again from)
        self.groups: set[str] = set()
        self.seen_commands: dict[str, None] = {}  # insertion-ordered: the oldest are forgotten first
        self.next_wake_ms: int | None = None
        self.repeats = Repeats(self.playout)
        self._audio_ms: dict[str, int] = {}  # measured lengths of "play now" audio
        self._awaiting: dict[str, list[m.PlayNow]] = {}  # audio sha → "play now" waiting for it
        self._quiet = False  # this event changed nothing the timeline depends on before the next wake

    # --- the one entry point -----------------------------------------------------------------------

    def handle(self, event: s.Event, now_ms: int) -> list[s.Effect]:
        out: list[s.Effect] = []
        self._quiet = False
        _EVENTS[type(event)](self, event, now_ms, out)
        wake = self.next_wake_ms
        if not (self._quiet and wake is not None and now_ms < wake):
            self._advance(now_ms, out)  # (a "play now" queued behind what sounds changes nothing yet)
        return out

    # --- what adapters read --------------------------------------------------------------------------

    @property
    def manifest_version(self) -> int | None:
        return self.manifest.manifest_version if self.manifest is not None else None

    @property
    def volume(self) -> int:
        return self.playout.volume

    @property
    def playing(self) -> PlayItem | None:
        return self.playout.playing

    def items(self) -> dict[str, PlayItem]:
        return self.playout.items()

    def needed_audio(self, now_ms: int, horizon_ms: int | None = None) -> list[PlayItem]:
        bad = self.bad_audio
        return [
            i
            for i in self.playout.needed_audio(now_ms, horizon_ms)
            if i.audio_sha256 not in bad or bad[i.audio_sha256][1] <= now_ms
        ]

    def next_sound_ms(self, now_ms: int) -> int | None:
        """When something is next planned to sound (an output switch is turned on ahead of it)."""
        return self.playout.next_sound_ms(now_ms)

    def pending_receipts(self) -> list[m.Receipt]:
        return self.outbox.pending()

    def manifest_duration_ms(self, sha256: str) -> int | None:
        """The length the server measured for this audio, if the manifest plays it."""
        if self.manifest is not None:
            for it in self.manifest.items:
                if it.audio.sha256 == sha256:
                    return it.duration_ms
        return None

    def status_fields(self, now_ms: int) -> dict[str, Any]:
        """What a ``Status`` says of the device's behaviour (the adapter adds its hardware)."""
        playing = self.playout.playing
        ready, missing = self.playout.audio_counts(now_ms)
        info = None
        if playing is not None:
            first = self.playout.first_sound_ms(playing.id)
            info = m.PlayingInfo(
                item_id=playing.id,
                audio_sha256=playing.audio_sha256 if playing.stream_url is None else None,
                stream=True if playing.stream_url is not None else None,
                stream_down=self.playout.stream_is_down(playing.id) if playing.stream_url else None,
                priority=playing.priority,
                started_at=at_ms(first if first is not None else now_ms),
                title=playing.title,
            )
        return {
            "volume": self.playout.volume,
            "playing": info,
            "manifest_version": self.manifest_version,
            "manifest_error": self.manifest_error,
            "audio_errors": self.audio_errors,
            "items_ready": ready,
            "items_missing": missing,
            "pending_receipts": len(self.outbox),
        }

    # --- events --------------------------------------------------------------------------------------

    def _on_received(self, event: s.Received, now: int, out: list[s.Effect]) -> None:
        message = event.message
        if isinstance(message, m.StateRef):
            self._on_state(message, out)
        elif isinstance(message, m.ReceiptAck):
            if self.outbox.acknowledged(message.receipt_ids, out):
                out.append(s.STATUS_CHANGED)
        else:
            self._on_command(message, now, out)

    def _on_group(self, event: s.GroupReceived, now: int, out: list[s.Effect]) -> None:
        if event.opened.addresses(self.config.device_id):
            self._on_command(event.opened.command, now, out)

    def _on_state(self, ref: m.StateRef, out: list[s.Effect]) -> None:
        if ref.groups is not None:
            self.join_groups(ref.groups, out)
        current = self.manifest_version if self.manifest_version is not None else -1
        if ref.manifest_version > current:
            out.append(s.FETCH_MANIFEST)

    def join_groups(self, codes: Iterable[str], out: list[s.Effect]) -> None:
        """Listen to these commune groups too (from enrolment, the signed manifest or ``state``)."""
        new = set(codes) - self.groups
        if new:
            self.groups |= new
            out.append(s.JoinGroups(tuple(sorted(new))))

    def _on_manifest(self, event: s.ManifestFetched, now: int, out: list[s.Effect]) -> None:
        try:
            manifest = mf.open_signed(event.body, event.signature, self.config.server_keys)
            if manifest.device_id != self.config.device_id:
                raise mf.ManifestError(WRONG_DEVICE, code="wrong_device")
            current = self.manifest_version or 0
            if not event.saved and manifest.manifest_version < current:
                raise mf.ManifestError(ROLLBACK, code="manifest_rollback")
        except mf.ManifestError as err:
            if self.manifest_error != err.code:
                where = "saved manifest" if event.saved else "manifest"
                out.append(
                    s.Note(f"{where} refused: {err.code} (keeping version {self.manifest_version})", True)
                )
            self.manifest_error = err.code
            out.append(s.STATUS_CHANGED)
            return
        if not event.saved:
            out.append(s.SaveManifest(event.body, event.signature))
        if manifest.manifest_version != self.manifest_version:
            self.bad_audio.clear()  # a new schedule: what failed before is worth another try
        self.manifest = manifest
        self.manifest_error = None
        self.join_groups(manifest.groups, out)  # a restart must not wait for the retained ``state``
        self.playout.set_manifest_items(items_from_manifest(manifest), now)
        out += [s.AUDIO_WANTED, s.STATUS_CHANGED]

    def _on_audio_ready(self, event: s.AudioReady, now: int, out: list[s.Effect]) -> None:
        sha = event.audio_sha256
        self.playout.ready_audio.add(sha)
        self.bad_audio.pop(sha, None)
        if not self.bad_audio and self.manifest_error == "audio_hash_mismatch":
            self.manifest_error = None  # every file it refused has since arrived whole
        duration = event.duration_ms or self.manifest_duration_ms(sha)
        if event.duration_ms:
            self._audio_ms[sha] = event.duration_ms
        out.append(s.STATUS_CHANGED)
        if duration is None:
            return  # a "play now" waiting for it gets its length from its own fetch
        for command in self._awaiting.pop(sha, ()):
            self._play_now(command, duration, now, out)

    def _on_audio_failed(self, event: s.AudioFailed, now: int, out: list[s.Effect]) -> None:
        sha = event.audio_sha256
        self.playout.ready_audio.discard(sha)
        for command in self._awaiting.pop(sha, ()):
            self._result(command.id, m.CommandStatus.FAILED, now, out, event.code)
        if event.code == "hash_mismatch":
            self.audio_errors += 1
            failures = self.bad_audio.get(sha, (0, 0))[0] + 1
            delay = min(BAD_AUDIO_RETRY_MS << min(failures - 1, 20), BAD_AUDIO_RETRY_MAX_MS)
            self.bad_audio[sha] = (failures, now + delay)
            self.manifest_error = "audio_hash_mismatch"
            out += [s.Note(f"audio {sha[:12]} refused: wrong hash", True), s.STATUS_CHANGED]

    def _on_output_failed(self, event: s.OutputFailed, now: int, out: list[s.Effect]) -> None:
        self.playout.output_failed(event.item_id, event.detail, now, out)
        out.append(s.Note(f"output failed for {event.item_id}: {event.detail}", True))

    def _on_stream_down(self, event: s.StreamDown, now: int, out: list[s.Effect]) -> None:
        if self.playout.stream_down(event.item_id, now):
            out += [s.Note(f"stream {event.item_id} down: {event.detail}"[:300], True), s.STATUS_CHANGED]
        self._quiet = True  # the plan does not change: the item keeps the loudspeaker

    def _on_stream_up(self, event: s.StreamUp, now: int, out: list[s.Effect]) -> None:
        if self.playout.stream_up(event.item_id, now):
            out += [s.Note(f"stream {event.item_id} back"), s.STATUS_CHANGED]
        self._quiet = True

    def _on_connected(self, event: s.Connected, now: int, out: list[s.Effect]) -> None:
        self.outbox.connected()

    def _on_disconnected(self, event: s.Disconnected, now: int, out: list[s.Effect]) -> None:
        self.outbox.disconnected()

    def _on_tick(self, event: s.Tick, now: int, out: list[s.Effect]) -> None:
        pass

    # --- commands ------------------------------------------------------------------------------------

    def _on_command(self, command: m.ServerMessage, now: int, out: list[s.Effect]) -> None:
        handler = _COMMANDS.get(type(command))
        if handler is None:
            return
        command = cast(Command, command)
        if command.id in self.seen_commands:
            return  # a QoS 1 duplicate
        self.seen_commands[command.id] = None
        if len(self.seen_commands) > SEEN_COMMANDS_KEPT:
            for old in list(itertools.islice(self.seen_commands, SEEN_COMMANDS_KEPT // 2)):
                del self.seen_commands[old]
        if command.expired(at_ms(now)):
            if isinstance(command, m.Stop):
                # However late, a stop still ends a repeated message (and only that): a loudspeaker
                # away when it was sent would otherwise repeat the alert for ever.
                self.repeats.end_all(now, stop_sounding=False)
            self._result(command.id, m.CommandStatus.EXPIRED, now, out)
            return
        handler(self, command, now, out)

    def _cmd_play_now(self, command: m.PlayNow, now: int, out: list[s.Effect]) -> None:
        sha = command.args.audio_sha256
        duration = self._audio_ms.get(sha)
        if self.config.assume_audio:
            duration = self.manifest_duration_ms(sha) or self.config.play_now_ms
        if duration is not None and self.playout.has_audio(sha):
            self._quiet = self._play_now(command, duration, now, out)
            return
        waiting = self._awaiting.setdefault(sha, [])
        waiting.append(command)
        if len(waiting) == 1:
            out.append(s.FetchAudio(sha))

    def _play_now(self, command: m.PlayNow, duration_ms: int, now: int, out: list[s.Effect]) -> bool:
        """Play it from now; True when it only queues behind what sounds (nothing changes yet)."""
        args = command.args
        item = PlayItem(
            id=args.item_id or itemids.command_item(command.id),
            audio_sha256=args.audio_sha256,
            start_ms=now,
            duration_ms=max(1, duration_ms),
            priority=args.priority,
            title=args.title,
        )
        queued = self.playout.add(item, now)
        if args.repeat_gap_s is not None:
            self.repeats.start(item, args.repeat_gap_s * 1000)
        self._result(command.id, m.CommandStatus.DONE, now, out)
        return queued

    def _cmd_stop(self, command: m.Stop, now: int, out: list[s.Effect]) -> None:
        self.repeats.end_all(now, stop_sounding=True)  # what sounds, and every repeated message
        self._result(command.id, m.CommandStatus.DONE, now, out)

    def _cmd_volume(self, command: m.SetVolume, now: int, out: list[s.Effect]) -> None:
        self.playout.volume = command.args.level
        out += [s.SaveVolume(command.args.level), s.STATUS_CHANGED]
        self._result(command.id, m.CommandStatus.DONE, now, out)

    def _cmd_sync(self, command: m.Sync, now: int, out: list[s.Effect]) -> None:
        out.append(s.FETCH_MANIFEST)
        self._result(command.id, m.CommandStatus.DONE, now, out)

    def _cmd_reboot(self, command: m.Reboot, now: int, out: list[s.Effect]) -> None:
        if not self.config.can_restart:
            self._result(command.id, m.CommandStatus.REJECTED, now, out, "not_supported")
            return
        # Answer first (the result is QoS 1), then restart: receipts are already kept.
        self._result(command.id, m.CommandStatus.DONE, now, out, "restarting")
        out.append(s.RESTART)

    def _cmd_update(self, command: m.Update, now: int, out: list[s.Effect]) -> None:
        self._result(command.id, m.CommandStatus.REJECTED, now, out, "not_supported_yet")

    def _result(
        self,
        command_id: str,
        status: m.CommandStatus,
        now: int,
        out: list[s.Effect],
        detail: str | None = None,
    ) -> None:
        out.append(
            s.SendResult(m.CommandResult(command_id=command_id, status=status, at=at_ms(now), detail=detail))
        )

    # --- time ----------------------------------------------------------------------------------------

    def _advance(self, now: int, out: list[s.Effect]) -> None:
        again = True
        while again:  # a round added with no gap may start at this very instant
            again = False
            for done in self.playout.settle(now, out):
                self._report(done, out)
                again |= self.repeats.after(done, now)
        self.playout.sound(now, out)
        self.outbox.flush(now, out)
        wakes = [t for t in (self.playout.next_wake_ms(now), self.outbox.next_wake_ms()) if t is not None]
        self.next_wake_ms = min(wakes, default=None)

    def _report(self, done: Finished, out: list[s.Effect]) -> None:
        self.outbox.add(done, self.manifest_version, out)
        known = self.playout.items()
        out.append(s.SaveDone(tuple(sorted(i for i in self.playout.done_ids if i in known))))
        out += [s.Note(f"{done.item.id} {done.outcome.value}"), s.STATUS_CHANGED]


_EVENTS: dict[type, Callable[[DeviceCore, Any, int, list[s.Effect]], None]] = {
    s.Received: DeviceCore._on_received,
    s.GroupReceived: DeviceCore._on_group,
    s.ManifestFetched: DeviceCore._on_manifest,
    s.AudioReady: DeviceCore._on_audio_ready,
    s.AudioFailed: DeviceCore._on_audio_failed,
    s.OutputFailed: DeviceCore._on_output_failed,
    s.StreamDown: DeviceCore._on_stream_down,
    s.StreamUp: DeviceCore._on_stream_up,
    s.Connected: DeviceCore._on_connected,
    s.Disconnected: DeviceCore._on_disconnected,
    s.Tick: DeviceCore._on_tick,
}
_COMMANDS: dict[type, Callable[[DeviceCore, Any, int, list[s.Effect]], None]] = {
    m.PlayNow: DeviceCore._cmd_play_now,
    m.Stop: DeviceCore._cmd_stop,
    m.SetVolume: DeviceCore._cmd_volume,
    m.Sync: DeviceCore._cmd_sync,
    m.Reboot: DeviceCore._cmd_reboot,
    m.Update: DeviceCore._cmd_update,
}
