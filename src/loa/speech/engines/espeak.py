"""eSpeak NG in-process through ctypes, on the library and data shipped by the ``espeakng-loader``
wheel (no system package, no subprocess). Synthesis is synchronous: ``espeak_Synth`` returns after the
callback has received every 16-bit sample.

libespeak-ng keeps global state (one current voice, one callback) and is not thread-safe, so one
process-wide ``_Library`` owns it and every call holds its lock.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from typing import Any

import numpy as np

from loa.speech.audio.pcm import Pcm
from loa.speech.engines.base import (
    MAX_RATE,
    MIN_RATE,
    EngineUnavailable,
    Gender,
    Region,
    VoiceInfo,
)

log = logging.getLogger(__name__)

ENGINE_NAME = "espeak"
DEFAULT_RATE_WPM = 175
DEFAULT_PITCH = 50  # eSpeak's 0–100 scale

# espeak_AUDIO_OUTPUT, espeak_PARAMETER and flag values from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_EE_OK = 0


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# The Vietnamese voices of eSpeak NG 1.52, by the name espeak_SetVoiceByName accepts. The three
# regional voices are male; eSpeak's "+f3" variant (raised pitch and formants, ~150 Hz instead of
# ~105 Hz) gives each a female counterpart. (name, label, region, gender; None = as eSpeak says)
FEMALE_VARIANT = "+f3"
VIETNAMESE_VOICES: tuple[tuple[str, str, Region, Gender | None], ...] = (
    ("vi", "eSpeak tiếng Việt (miền Bắc)", Region.NORTH, None),
    ("vi-vn-x-central", "eSpeak tiếng Việt (miền Trung)", Region.CENTRAL, None),
    ("vi-vn-x-south", "eSpeak tiếng Việt (miền Nam)", Region.SOUTH, None),
    ("vi" + FEMALE_VARIANT, "eSpeak tiếng Việt (miền Bắc, nữ)", Region.NORTH, Gender.FEMALE),
    ("vi-vn-x-central" + FEMALE_VARIANT, "eSpeak tiếng Việt (miền Trung, nữ)", Region.CENTRAL, Gender.FEMALE),
    ("vi-vn-x-south" + FEMALE_VARIANT, "eSpeak tiếng Việt (miền Nam, nữ)", Region.SOUTH, Gender.FEMALE),
)
_GENDERS = {1: Gender.MALE, 2: Gender.FEMALE}


class _Library:
    """The loaded libespeak-ng: initialised once per process, used under ``lock``."""

    def __init__(self) -> None:
        try:
            import espeakng_loader

            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = str(espeakng_loader.get_data_path()).encode()
        except (ImportError, OSError) as err:
            raise EngineUnavailable() from err
        self.lock = threading.Lock()
        self._chunks: list[np.ndarray[Any, np.dtype[np.int16]]] = []
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.sample_rate = int(lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0))
        if self.sample_rate <= 0:
            raise EngineUnavailable()
        # Keep a reference: ctypes frees the trampoline when the Python object dies.
        self._callback = _SynthCallback(self._on_samples)
        lib.espeak_SetSynthCallback(self._callback)

    def _on_samples(self, wav: Any, count: int, _events: Any) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = continue

    def list_voices(self) -> dict[str, int]:
        """Language name → gender code, for every voice in the data."""
        found: dict[str, int] = {}
        voices = self.lib.espeak_ListVoices(None)
        index = 0
        while voices[index]:
            voice = voices[index].contents
            # ``languages`` is a list of (priority byte, NUL-terminated name), ended by a 0 byte.
            offset = 0
            while True:
                priority = ctypes.string_at(voice.languages + offset, 1)
                if priority == b"\0":
                    break
                name = ctypes.string_at(voice.languages + offset + 1).decode("ascii", "replace")
                found.setdefault(name, voice.gender)
                offset += len(name) + 2
            index += 1
        return found

    def set_voice(self, name: str, rate_wpm: int, pitch: int) -> None:
        if self.lib.espeak_SetVoiceByName(name.encode()) != _EE_OK:
            raise EngineUnavailable()
        self.lib.espeak_SetParameter(_ESPEAK_RATE, rate_wpm, 0)
        self.lib.espeak_SetParameter(_ESPEAK_PITCH, pitch, 0)

    def synthesize(self, text: str) -> np.ndarray[Any, np.dtype[np.int16]]:
        data = text.encode("utf-8")
        buffer = ctypes.create_string_buffer(data)
        self._chunks = []
        status = self.lib.espeak_Synth(buffer, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != _EE_OK:
            raise EngineUnavailable()
        chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def phonemes(self, text: str) -> str:
        """IPA for ``text``, clause by clause, joined by spaces."""
        buffer = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        clauses: list[str] = []
        while pointer.value:
            result = self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA)
            if result:
                clauses.append(result.decode("utf-8", "replace"))
        return " ".join(c for c in clauses if c)


_library: _Library | None = None
_library_lock = threading.Lock()


def _shared_library() -> _Library:
    global _library
    with _library_lock:
        if _library is None:
            _library = _Library()
        return _library


class EspeakEngine:
    """The embedded default engine: robotic but intelligible, instant, and always installed."""

    name = ENGINE_NAME

    def voices(self) -> list[VoiceInfo]:
        library = _shared_library()
        with library.lock:
            available = library.list_voices()
        voices = []
        for name, label, region, gender in VIETNAMESE_VOICES:
            base = name.split("+", 1)[0]
            if base not in available:
                continue
            voices.append(
                VoiceInfo(
                    id=f"{ENGINE_NAME}:{name}",
                    name=label,
                    language="vi",
                    gender=gender or _GENDERS.get(available[base], Gender.UNKNOWN),
                    region=region,
                    engine=ENGINE_NAME,
                    default_rate=DEFAULT_RATE_WPM,
                )
            )
        return voices

    def synthesize(self, text: str, *, voice: str, rate: float = 1.0, pitch: float | None = None) -> Pcm:
        language = voice.removeprefix(f"{ENGINE_NAME}:")
        rate_wpm = round(DEFAULT_RATE_WPM * min(MAX_RATE, max(MIN_RATE, rate)))
        pitch_value = round(min(100, max(0, DEFAULT_PITCH * (pitch or 1.0))))
        library = _shared_library()
        with library.lock:
            library.set_voice(language, rate_wpm, pitch_value)
            samples = library.synthesize(text)
            sample_rate = library.sample_rate
        return Pcm(samples.astype(np.float32) / np.float32(32768.0), sample_rate)

    def phonemes(self, text: str, *, voice: str = "vi") -> str:
        """IPA transcription (used by tests and to debug pronunciations)."""
        library = _shared_library()
        with library.lock:
            library.set_voice(voice.removeprefix(f"{ENGINE_NAME}:"), DEFAULT_RATE_WPM, DEFAULT_PITCH)
            return library.phonemes(text)
