"""The device core's inputs (events: messages and facts) and outputs (effects: what the adapter does).

An adapter (the agent on a board, the simulator) turns the world into events, hands each to
``DeviceCore.handle`` with the clock, and carries out the effects it gets back, in order. Nothing here
does I/O; every value is immutable.
"""

from __future__ import annotations

from dataclasses import dataclass

from loa.protocol import group
from loa.protocol import messages as m
from loa.protocol.device.items import PlayItem

# --- events ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """A message from the device's own topics (``state``, ``ack``, ``cmd``), already parsed."""

    message: m.ServerMessage


@dataclass(frozen=True, slots=True)
class GroupReceived:
    """A group command whose signature the adapter verified (``group.open_sealed``)."""

    opened: group.GroupCommand


@dataclass(frozen=True, slots=True)
class ManifestFetched:
    """Manifest bytes and their detached signature, from the server or (``saved``) from disk at start."""

    body: bytes
    signature: bytes
    saved: bool = False


@dataclass(frozen=True, slots=True)
class AudioReady:
    """The audio is on the device (verified); ``duration_ms`` when the adapter measured it."""

    audio_sha256: str
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class AudioFailed:
    """The audio could not be had: ``code`` as the downloader says (``hash_mismatch``, ``network`` …)."""

    audio_sha256: str
    code: str


@dataclass(frozen=True, slots=True)
class OutputFailed:
    """The sound output failed while (or instead of) sounding ``item_id``."""

    item_id: str
    detail: str


@dataclass(frozen=True, slots=True)
class StreamDown:
    """The sounding stream item dropped, or its URL could not be reached: the adapter plays the
    fallback clip (or silence) and retries until the item's end."""

    item_id: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StreamUp:
    """The stream item sounds again (reconnected, its buffer refilled)."""

    item_id: str


@dataclass(frozen=True, slots=True)
class Connected:
    """The MQTT session is up: pending receipts go out now."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    pass


@dataclass(frozen=True, slots=True)
class Tick:
    """Only time passed (the adapter wakes the core at ``next_wake_ms``)."""


Event = (
    Received
    | GroupReceived
    | ManifestFetched
    | AudioReady
    | AudioFailed
    | OutputFailed
    | StreamDown
    | StreamUp
    | Connected
    | Disconnected
    | Tick
)
TICK = Tick()
CONNECTED = Connected()
DISCONNECTED = Disconnected()

# --- effects ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sound:
    """Start sounding ``item`` from ``offset_ms`` into its audio for ``duration_ms`` (whatever sounds
    now stops). ``starts_item``: its very first sound, from the beginning and on time."""

    item: PlayItem
    offset_ms: int
    duration_ms: int
    volume: int
    starts_item: bool


@dataclass(frozen=True, slots=True)
class Silence:
    """``item_id`` no longer sounds: ``cut`` when it is interrupted before its planned end (a
    higher item, a stop, an output failure); otherwise its segment simply reached its end."""

    item_id: str
    cut: bool


@dataclass(frozen=True, slots=True)
class RecordReceipt:
    """Keep this receipt safe (the agent fsyncs it to its journal) before anything else learns of it."""

    receipt: m.Receipt


@dataclass(frozen=True, slots=True)
class SendReceipts:
    """Publish one batch (QoS 1); resent by the core until acknowledged."""

    batch: m.ReceiptBatch


@dataclass(frozen=True, slots=True)
class ForgetReceipts:
    """The server recorded these receipts (each id once): drop them from the journal."""

    receipt_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendResult:
    result: m.CommandResult


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """Something a status reports changed (the adapter coalesces a burst into one status)."""


@dataclass(frozen=True, slots=True)
class FetchManifest:
    """Fetch the device's manifest (answer with ``ManifestFetched``)."""


@dataclass(frozen=True, slots=True)
class SaveManifest:
    body: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class SaveVolume:
    """The server set the volume: keep it, so a restart plays at it (given back as ``volume``)."""

    level: int


@dataclass(frozen=True, slots=True)
class SaveDone:
    """The ids of the items already reported that the manifest still names (a restart must not report
    them again)."""

    item_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FetchAudio:
    """A "play now" needs this audio at once (answer with ``AudioReady`` with its duration, or
    ``AudioFailed``), by its hash from the device's own server."""

    audio_sha256: str


@dataclass(frozen=True, slots=True)
class AudioWanted:
    """The items changed: the audio to fetch ahead (``DeviceCore.needed_audio``) may have changed."""


@dataclass(frozen=True, slots=True)
class JoinGroups:
    """Subscribe to these commune group command topics."""

    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Restart:
    """The operator asked for a restart (after the command's result is out)."""


@dataclass(frozen=True, slots=True)
class Note:
    """Something worth a log line (``warning``: something went wrong)."""

    text: str
    warning: bool = False


Effect = (
    Sound
    | Silence
    | RecordReceipt
    | SendReceipts
    | ForgetReceipts
    | SendResult
    | StatusChanged
    | FetchManifest
    | SaveManifest
    | SaveVolume
    | SaveDone
    | FetchAudio
    | AudioWanted
    | JoinGroups
    | Restart
    | Note
)
STATUS_CHANGED = StatusChanged()
FETCH_MANIFEST = FetchManifest()
AUDIO_WANTED = AudioWanted()
RESTART = Restart()
