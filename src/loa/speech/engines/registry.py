"""The engines a deployment offers, chosen by settings, and voice resolution across them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from loa.errors import InvalidInput
from loa.settings import Settings
from loa.speech.audio.pcm import Pcm
from loa.speech.engines.base import TtsEngine, VoiceInfo
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.engines.piper import PiperEngine

log = logging.getLogger(__name__)

UNKNOWN_VOICE = "Không có giọng đọc “{voice}”. Hãy chọn một giọng trong danh sách."


class EngineRegistry:
    """All engines of a deployment. ``default_engine`` (``LOA_TTS_ENGINE``) and ``default_voice``
    (``LOA_TTS_VOICE``) pick the voice used when a request names none."""

    def __init__(
        self,
        engines: Sequence[TtsEngine],
        *,
        default_engine: str | None = None,
        default_voice: str | None = None,
    ) -> None:
        self.engines = {engine.name: engine for engine in engines}
        self.default_engine = default_engine or (engines[0].name if engines else "")
        self._default_voice = default_voice

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineRegistry:
        engines: list[TtsEngine] = [EspeakEngine()]
        if settings.piper_voice_dir is not None or settings.tts_engine == "piper":
            engines.append(PiperEngine(settings.piper_voice_dir))
        return cls(engines, default_engine=settings.tts_engine, default_voice=settings.tts_voice)

    def voices(self) -> list[VoiceInfo]:
        found: list[VoiceInfo] = []
        for engine in self.engines.values():
            found.extend(engine.voices())
        return found

    def default_voice(self) -> VoiceInfo:
        voices = self.voices()
        if not voices:
            raise InvalidInput("Chưa có giọng đọc nào được cài đặt.", code="no_voice")
        if self._default_voice:
            try:
                return self.resolve(self._default_voice)
            except InvalidInput:
                log.warning("LOA_TTS_VOICE=%s is not an installed voice; using another", self._default_voice)
        preferred = [v for v in voices if v.engine == self.default_engine]
        if not preferred and self.default_engine != voices[0].engine:
            log.warning("no %s voice installed; falling back to %s", self.default_engine, voices[0].engine)
        return (preferred or voices)[0]

    def resolve(self, voice: str | None) -> VoiceInfo:
        """A voice by id (``espeak:vi``) or by bare name (``vi``, ``vi_VN-vais1000-medium``)."""
        if not voice:
            return self.default_voice()
        voices = self.voices()
        for info in voices:
            if info.id == voice:
                return info
        matches = [info for info in voices if info.id.split(":", 1)[1] == voice]
        if len(matches) == 1:
            return matches[0]
        raise InvalidInput(UNKNOWN_VOICE.format(voice=voice), code="unknown_voice")

    def synthesize(
        self, text: str, *, voice: VoiceInfo, rate: float = 1.0, pitch: float | None = None
    ) -> Pcm:
        return self.engines[voice.engine].synthesize(text, voice=voice.id, rate=rate, pitch=pitch)
