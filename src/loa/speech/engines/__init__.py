"""Text-to-speech engines behind one interface (``TtsEngine``): eSpeak NG in-process (the embedded
default), Piper voice files, and room for cloud engines (implement the protocol, add to the registry)."""

from loa.speech.engines.base import (
    GENDER_LABELS,
    MAX_RATE,
    MIN_RATE,
    REGION_LABELS,
    EngineUnavailable,
    Gender,
    Region,
    TtsEngine,
    VoiceInfo,
)
from loa.speech.engines.registry import EngineRegistry

__all__ = [
    "GENDER_LABELS",
    "MAX_RATE",
    "MIN_RATE",
    "REGION_LABELS",
    "EngineRegistry",
    "EngineUnavailable",
    "Gender",
    "Region",
    "TtsEngine",
    "VoiceInfo",
]
