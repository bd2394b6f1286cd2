"""The whole chain from text (or a recording) to encoded files: normalise → synthesise → pipeline →
encode. No database and no store here; ``service`` stores what this returns.

Text is rendered in chunks of a few sentences: each chunk is synthesised, gets the pauses the
normaliser asked for, runs through the broadcast steps and goes to the encoders, which run on their
own threads meanwhile. Each chunk is levelled on its own (every few sentences at −16 LUFS, which is
what a listener at a loudspeaker wants anyway) and progress is reported per chunk.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from loa.errors import InvalidInput
from loa.speech.audio.decode import MAX_AUDIO_DURATION_S, too_long_message
from loa.speech.audio.encode import PROFILES, AudioFormat, BackgroundEncoder, EncodedAudio, encode_verified
from loa.speech.audio.meter import ProgrammeMeter
from loa.speech.audio.pcm import Pcm
from loa.speech.audio.pipeline import (
    TARGET_LUFS,
    TRUE_PEAK_MAX_DBTP,
    WORK_SAMPLE_RATE,
    AudioMeasurement,
    broadcast_steps,
    level_jingle,
)
from loa.speech.audio.steps import run_steps
from loa.speech.engines.base import MAX_RATE, MIN_RATE, VoiceInfo
from loa.speech.engines.registry import EngineRegistry
from loa.speech.normalize import NormalizedText, Segment, normalize
from loa.vocab.numbers import number_text

log = logging.getLogger(__name__)

# Bump when the processing changes audibly: cached TTS results of older versions are then redone.
PIPELINE_VERSION = "1"
# Documented limit: ~60,000 characters is ~13,000 syllables, just under an hour of speech, the same
# cap as uploads. Longer text is refused (not truncated) with a message saying what to do.
MAX_TEXT_CHARS = 60_000
CHUNK_MIN_CHARS = 400
# The first chunk is short so the encoders start (and the first progress shows) sooner.
FIRST_CHUNK_MIN_CHARS = 120
JINGLE_GAP_MS = 300

EMPTY_TEXT = "Chưa có nội dung để đọc."
NOTHING_READABLE = "Văn bản không có chữ nào đọc được bằng giọng tiếng Việt."
BAD_RATE = "Tốc độ đọc phải từ {low} đến {high} lần tốc độ thường."


def _decimal(value: float) -> str:
    return number_text(value, 6, trim=True)


ProgressCallback = Callable[[int], None]


def too_long_text_message() -> str:
    limit = number_text(MAX_TEXT_CHARS)
    return f"Văn bản quá dài để đọc thành một bản tin (tối đa {limit} ký tự); hãy chia thành nhiều phần."


@dataclass(frozen=True)
class Rendition:
    encoded: EncodedAudio
    measurement: AudioMeasurement


@dataclass(frozen=True)
class RenderedAudio:
    """The encoded files of one programme; ``renditions[0]`` is the primary (broadcast) format."""

    renditions: list[Rendition]

    @property
    def primary(self) -> Rendition:
        return self.renditions[0]


def check_rate(rate: float) -> float:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidInput(BAD_RATE.format(low=_decimal(MIN_RATE), high=_decimal(MAX_RATE)), code="bad_rate")
    return rate


def prepare_text(text: str, overrides: Mapping[str, str] | None = None) -> NormalizedText:
    """Validate and normalise text for speech (empty, too long or unreadable text is refused).
    ``overrides`` are the area's abbreviation readings (``loa.speech.overrides``)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(EMPTY_TEXT, code="empty_text")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(too_long_text_message(), code="text_too_long")
    normalized = normalize(text, overrides=overrides)
    if not speakable_segments(normalized):
        raise InvalidInput(NOTHING_READABLE, code="nothing_readable", details=_unreadable_details(normalized))
    return normalized


def _unreadable_details(normalized: NormalizedText) -> list[dict[str, str]]:
    return [{"token": u.token, "reason": u.reason} for u in normalized.unreadable[:20]]


def _standalone_spans(text: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Where ``tokens`` stand as whole tokens in ``text`` (longest first, no overlaps): a match
    touching a letter or digit on either side is part of a longer word and is left alone."""
    spans: list[tuple[int, int]] = []
    for token in tokens:
        start = text.find(token)
        while start != -1:
            end = start + len(token)
            joined = (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())
            if not joined and all(end <= s or start >= e for s, e in spans):
                spans.append((start, end))
            start = text.find(token, start + 1)
    return sorted(spans)


def _without_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces += [text[position:start], " "]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def speakable_segments(normalized: NormalizedText) -> list[Segment]:
    """Segments without the tokens the normaliser left unread in the text (another script, emoji,
    an unknown abbreviation): an engine would spell them in a foreign language or skip them
    unpredictably. Entries read by a guess (``left_in_text=False``) are already words and stay.
    Only whole tokens are removed, never the same letters inside a longer word."""
    tokens = sorted(
        {u.token for u in normalized.unreadable if u.left_in_text and u.token.strip()}, key=len, reverse=True
    )
    result: list[Segment] = []
    for segment in normalized.segments:
        text = segment.text
        if tokens:
            text = " ".join(_without_spans(text, _standalone_spans(text, tokens)).split())
        if any(ch.isalnum() for ch in text):
            result.append(Segment(text, segment.pause_ms))
        elif result and segment.pause_ms > result[-1].pause_ms:
            result[-1] = Segment(result[-1].text, segment.pause_ms)
    return result


def tts_source_key(
    text: str, voice: VoiceInfo, rate: float, intro_sha256: str | None, outro_sha256: str | None
) -> str:
    """What identifies a TTS result: same key, same audio (so a repeated request reuses the file)."""
    payload = json.dumps(
        [PIPELINE_VERSION, text, voice.id, round(rate, 3), intro_sha256, outro_sha256], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def chunk_segments(
    segments: Sequence[Segment],
    min_chars: int = CHUNK_MIN_CHARS,
    first_min_chars: int = FIRST_CHUNK_MIN_CHARS,
) -> list[list[Segment]]:
    chunks: list[list[Segment]] = []
    current: list[Segment] = []
    size = 0
    for segment in segments:
        current.append(segment)
        size += len(segment.text)
        if size >= (min_chars if chunks else first_min_chars):
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks


class _Encoders:
    """One background encoder per format; everything written goes to all of them, and to a meter
    (the programme is measured as it goes, so nothing but the encoders' last frames is left to do
    at the end). The programme itself is kept only for formats whose file must be verified."""

    def __init__(self, formats: Sequence[AudioFormat], max_duration_s: float = MAX_AUDIO_DURATION_S) -> None:
        if not formats:
            raise ValueError("at least one format")
        self.formats = list(formats)
        self.max_duration_s = max_duration_s
        self.encoders = [BackgroundEncoder(f, WORK_SAMPLE_RATE) for f in self.formats]
        self.meter = ProgrammeMeter(WORK_SAMPLE_RATE)
        self.keep_programme = any(PROFILES[f].verify_true_peak for f in self.formats)
        self.parts: list[Pcm] = []
        self.samples = 0

    def write(self, pcm: Pcm) -> None:
        self.samples += len(pcm.samples)
        # TTS text is capped so that its speech stays under the limit; this is the safety net.
        if self.samples > (self.max_duration_s + 60) * WORK_SAMPLE_RATE:
            raise InvalidInput(too_long_message(self.max_duration_s), code="audio_too_long")
        for encoder in self.encoders:
            encoder.write(pcm)
        if self.keep_programme:
            self.parts.append(pcm)
        self.meter.add(pcm.samples)  # while the encoders work on their threads

    def finish(self) -> RenderedAudio:
        measurement = self.meter.result()
        programme = Pcm.concat(self.parts, WORK_SAMPLE_RATE) if self.keep_programme else None
        renditions = []
        for audio_format, encoder in zip(self.formats, self.encoders, strict=True):
            encoded = encoder.close()
            verified = None
            if programme is not None and PROFILES[audio_format].verify_true_peak:
                encoded, verified = encode_verified(
                    programme,
                    audio_format,
                    target_lufs=TARGET_LUFS,
                    max_true_peak_dbtp=TRUE_PEAK_MAX_DBTP,
                    first=encoded,
                )
            renditions.append(Rendition(encoded, verified or measurement))
        return RenderedAudio(renditions)

    def abort(self) -> None:
        for encoder in self.encoders:
            try:
                encoder.close()
            except Exception:  # already failing; the first error is the one reported
                log.debug("encoder failed while aborting", exc_info=True)


def render_speech(
    registry: EngineRegistry,
    segments: Sequence[Segment],
    *,
    voice: VoiceInfo,
    rate: float = 1.0,
    formats: Sequence[AudioFormat] = (AudioFormat.MP3,),
    intro: Pcm | None = None,
    outro: Pcm | None = None,
    on_progress: ProgressCallback | None = None,
) -> RenderedAudio:
    """Speak ``segments`` (from ``prepare_text``) and encode the levelled programme in ``formats``."""
    check_rate(rate)
    if not segments:
        raise InvalidInput(EMPTY_TEXT, code="empty_text")
    steps = broadcast_steps()
    chunks = chunk_segments(segments)
    encoders = _Encoders(formats)
    try:
        if intro is not None:
            encoders.write(level_jingle(intro))
            encoders.write(Pcm.silence(JINGLE_GAP_MS, WORK_SAMPLE_RATE))
        for index, chunk in enumerate(chunks):
            parts: list[Pcm] = []
            for segment in chunk:
                spoken = registry.synthesize(segment.text, voice=voice, rate=rate)
                parts += [spoken, Pcm.silence(segment.pause_ms, spoken.sample_rate)]
            encoders.write(run_steps(Pcm.concat(parts, parts[0].sample_rate), steps))
            if on_progress is not None:
                on_progress(min(95, round(95 * (index + 1) / len(chunks))))
        if outro is not None:
            encoders.write(Pcm.silence(JINGLE_GAP_MS, WORK_SAMPLE_RATE))
            encoders.write(level_jingle(outro))
        rendered = encoders.finish()
    except BaseException:
        encoders.abort()
        raise
    if on_progress is not None:
        on_progress(100)
    return rendered


def render_recording(
    pcm: Pcm,
    *,
    formats: Sequence[AudioFormat] = (AudioFormat.MP3,),
    max_duration_s: float = MAX_AUDIO_DURATION_S,
) -> RenderedAudio:
    """Level a whole recording (one pass over the file) and encode it in ``formats``."""
    processed = run_steps(pcm, broadcast_steps())
    encoders = _Encoders(formats, max(max_duration_s, pcm.duration_s))
    try:
        encoders.write(processed)
        return encoders.finish()
    except BaseException:
        encoders.abort()
        raise
