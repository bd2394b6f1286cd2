"""The lead-in signal (tín hiệu báo trước) of an emergency alert: a generated attention tone played
before each round, chosen per risk level, so that a listener knows a warning follows.

The signal is part of the round's audio: when an alert is sent, "signal + pause + message" is rendered
once (levelled like every broadcast, encoded in the message's format) and put in the audio store, and
that one signed file is what the command and the manifest name (``EmergencyAlert.aired_sha256``). The
same message and signal always give the same file (found again by ``source_sha256``).

Signals are data (``SIGNALS``); which one each level uses is ``DEFAULT_BY_LEVEL``, changed per
province by the setting ``LOA_ALERT_LEAD_INS`` (JSON, e.g. ``{"3": "siren", "1": "none"}``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.speech.audio.decode import decode
from loa.speech.audio.encode import PROFILES, AudioFormat, encode_verified
from loa.speech.audio.pcm import Pcm
from loa.speech.audio.pipeline import (
    TARGET_LUFS,
    TRUE_PEAK_MAX_DBTP,
    WORK_SAMPLE_RATE,
    level_jingle,
    measure,
)
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.speech.render import RenderedAudio, Rendition
from loa.speech.service import find_cached, get_asset, store_rendered
from loa.speech.store import AudioStore

PAUSE_MS = 500  # between the signal and the message
RENDER_VERSION = "1"  # bump when a signal changes audibly: renditions are then made again


@dataclass(frozen=True)
class Signal:
    label: str  # Vietnamese, for the settings page and docs
    # (start Hz, end Hz, length ms) per tone; a sweep when start ≠ end; 0 Hz is a pause
    tones: tuple[tuple[float, float, int], ...]
    repeats: int = 1


SIGNALS: dict[str, Signal] = {
    "none": Signal("Không có tín hiệu", ()),
    "chime": Signal("Chuông hai tiếng", ((784.0, 784.0, 350), (0.0, 0.0, 60), (587.0, 587.0, 650))),
    "alarm": Signal("Ba tiếng còi ngắn", ((1000.0, 1000.0, 250), (0.0, 0.0, 150)), repeats=3),
    "siren": Signal("Còi hú", ((600.0, 1200.0, 700), (1200.0, 600.0, 700)), repeats=2),
}
DEFAULT_BY_LEVEL: dict[int, str] = {1: "chime", 2: "chime", 3: "alarm", 4: "siren", 5: "siren"}
WITHOUT_LEVEL = "alarm"  # an alert made without a risk level


def signal_for(level: int | None, overrides: Mapping[int, str] | None = None) -> str:
    """The signal name for a risk level (the province's setting first)."""
    if level is None:
        return WITHOUT_LEVEL
    chosen = (overrides or {}).get(level) or DEFAULT_BY_LEVEL.get(level, WITHOUT_LEVEL)
    return chosen if chosen in SIGNALS else WITHOUT_LEVEL


def tone_pcm(name: str, sample_rate: int = WORK_SAMPLE_RATE) -> Pcm | None:
    """The signal as PCM (None for ``none``): sine tones and sweeps with 10 ms fades (no clicks)."""
    signal = SIGNALS[name]
    if not signal.tones:
        return None
    parts: list[np.ndarray[tuple[int], np.dtype[np.float32]]] = []
    fade = int(0.010 * sample_rate)
    for _ in range(signal.repeats):
        for start_hz, end_hz, length_ms in signal.tones:
            n = int(length_ms * sample_rate / 1000)
            if start_hz <= 0:
                parts.append(np.zeros(n, dtype=np.float32))
                continue
            freq = np.linspace(start_hz, end_hz, n, dtype=np.float64)
            phase = 2 * np.pi * np.cumsum(freq) / sample_rate
            tone = (0.5 * np.sin(phase)).astype(np.float32)
            ramp = np.linspace(0.0, 1.0, min(fade, n // 2), dtype=np.float32)
            tone[: len(ramp)] *= ramp
            tone[n - len(ramp) :] *= ramp[::-1]
            parts.append(tone)
    return Pcm(np.concatenate(parts), sample_rate)


def message_present(session: Session, store: AudioStore, message_sha256: str) -> bool:
    """Whether the message's file is in the store (checked before any write: a missing file is the
    common failure, and needs no savepoint to roll back)."""
    message = session.scalar(select(AudioAsset).where(AudioAsset.sha256 == message_sha256))
    if message is None:
        return False
    return store.exists(message.sha256, PROFILES[AudioFormat(message.format)].extension)


def render_aired(
    session: Session, *, store: AudioStore, message_sha256: str, signal: str, created_by_id: int | None = None
) -> AudioAsset | None:
    """The asset "signal + pause + message" (made now, or found from an earlier alert); None when the
    signal is ``none`` (the message plays alone)."""
    tone = tone_pcm(signal)
    if tone is None:
        return None
    message = get_asset(session, message_sha256)
    audio_format = AudioFormat(message.format)
    profile = PROFILES[audio_format]
    key = hashlib.sha256(f"alert-lead-in/{RENDER_VERSION}/{signal}/{message_sha256}".encode()).hexdigest()
    cached = find_cached(session, store, key)
    if cached is not None:
        return cached
    with store.open(message.sha256, profile.extension) as handle:
        spoken = decode(handle.read(), sample_rate=WORK_SAMPLE_RATE)
    levelled = level_jingle(tone, WORK_SAMPLE_RATE)
    pcm = Pcm.concat([levelled, Pcm.silence(PAUSE_MS, WORK_SAMPLE_RATE), spoken], WORK_SAMPLE_RATE)
    encoded, measured = encode_verified(
        pcm, audio_format, target_lufs=TARGET_LUFS, max_true_peak_dbtp=TRUE_PEAK_MAX_DBTP
    )
    rendered = RenderedAudio([Rendition(encoded, measured or measure(pcm))])
    return store_rendered(
        session,
        store=store,
        rendered=rendered,
        source_kind=AudioSourceKind.UPLOAD,
        source_sha256=key,
        created_by_id=created_by_id,
        title=f"{SIGNALS[signal].label} + {message.title or message.original_filename or 'cảnh báo'}"[:200],
    )
