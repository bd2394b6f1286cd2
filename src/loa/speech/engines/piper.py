"""Piper neural voices (``.onnx`` + ``.onnx.json``, e.g. ``vi_VN-vais1000-medium``) that the operator
places in ``settings.piper_voice_dir``; nothing is downloaded.

Built on the PyPI package ``piper-tts`` (1.8): it runs the voice with onnxruntime and phonemises with
its own statically linked eSpeak NG and data (in-process, no system package), which is the phonemiser
the voices were trained with. Its eSpeak copy is separate from the one ``EspeakEngine`` loads, so the
two never share state.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loa.speech.audio.pcm import Pcm
from loa.speech.engines.base import MAX_RATE, MIN_RATE, EngineUnavailable, Gender, Region, VoiceInfo

log = logging.getLogger(__name__)

ENGINE_NAME = "piper"
# Piper has no words-per-minute setting; this is what a medium Vietnamese voice reads at
# length_scale 1.0 (measured on VAIS-1000 style voices, ~200 syllables a minute).
DEFAULT_RATE_WPM = 200

_GENDERS = {"male": Gender.MALE, "female": Gender.FEMALE, "nam": Gender.MALE, "nữ": Gender.FEMALE}
_REGIONS = {"north": Region.NORTH, "central": Region.CENTRAL, "south": Region.SOUTH}


@dataclass(frozen=True)
class PiperVoiceFile:
    name: str
    model_path: Path
    config_path: Path
    config: dict[str, Any]

    @property
    def info(self) -> VoiceInfo:
        language = self.config.get("language", {})
        code = str(language.get("code") or self.config.get("espeak", {}).get("voice") or "")
        # Optional Loa keys in the voice's JSON, for what Piper's config does not say.
        loa = self.config.get("loa", {}) if isinstance(self.config.get("loa"), dict) else {}
        return VoiceInfo(
            id=f"{ENGINE_NAME}:{self.name}",
            name=str(loa.get("label") or f"Piper {self.name}"),
            language=code.split("_")[0].split("-")[0].lower() or "vi",
            gender=_GENDERS.get(str(loa.get("gender", "")).lower(), Gender.UNKNOWN),
            region=_REGIONS.get(str(loa.get("region", "")).lower(), Region.UNKNOWN),
            engine=ENGINE_NAME,
            default_rate=int(loa.get("default_rate", DEFAULT_RATE_WPM)),
        )


def find_voice_files(voice_dir: Path | None) -> list[PiperVoiceFile]:
    """Every ``X.onnx`` with a readable ``X.onnx.json`` next to it (others are logged and skipped)."""
    if voice_dir is None or not voice_dir.is_dir():
        return []
    found: list[PiperVoiceFile] = []
    for model_path in sorted(voice_dir.glob("*.onnx")):
        config_path = model_path.with_name(model_path.name + ".json")
        try:
            config = json.loads(config_path.read_text("utf-8"))
            if not isinstance(config, dict) or "phoneme_id_map" not in config:
                raise ValueError("no phoneme_id_map")
        except (OSError, ValueError) as err:
            log.warning("skipping Piper voice %s: unreadable config (%s)", model_path.name, err)
            continue
        found.append(PiperVoiceFile(model_path.stem, model_path, config_path, config))
    return found


class PiperEngine:
    """Voices loaded lazily (a medium voice is ~60 MB and takes a second to load) and kept."""

    name = ENGINE_NAME

    def __init__(self, voice_dir: Path | None) -> None:
        self.voice_dir = voice_dir
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _files(self) -> dict[str, PiperVoiceFile]:
        return {f"{ENGINE_NAME}:{v.name}": v for v in find_voice_files(self.voice_dir)}

    def voices(self) -> list[VoiceInfo]:
        return [voice.info for voice in self._files().values()]

    def _voice(self, voice_id: str) -> Any:
        voice_id = voice_id if voice_id.startswith(f"{ENGINE_NAME}:") else f"{ENGINE_NAME}:{voice_id}"
        with self._lock:
            if voice_id in self._loaded:
                return self._loaded[voice_id]
            voice_file = self._files().get(voice_id)
            if voice_file is None:
                raise EngineUnavailable(
                    f"Không tìm thấy giọng đọc Piper “{voice_id}”.", code="voice_not_found"
                )
            try:
                from piper import PiperVoice

                loaded = PiperVoice.load(voice_file.model_path, config_path=voice_file.config_path)
            except Exception as err:  # onnxruntime raises its own types for broken models
                log.error("cannot load Piper voice %s: %s", voice_file.model_path, err)
                raise EngineUnavailable(
                    f"Không nạp được giọng đọc Piper “{voice_file.name}”: "
                    "tệp mô hình hỏng hoặc không tương thích."
                ) from err
            self._loaded[voice_id] = loaded
            return loaded

    def synthesize(self, text: str, *, voice: str, rate: float = 1.0, pitch: float | None = None) -> Pcm:
        """``pitch`` is not supported by Piper voices and is ignored."""
        from piper import SynthesisConfig

        model = self._voice(voice)
        rate = min(MAX_RATE, max(MIN_RATE, rate))
        config = SynthesisConfig(length_scale=model.config.length_scale / rate, normalize_audio=False)
        chunks = [chunk.audio_float_array for chunk in model.synthesize(text, syn_config=config)]
        samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        return Pcm(np.clip(samples, -1.0, 1.0), int(model.config.sample_rate))
