"""The broadcast audio pipeline: decode → steps (``Pcm → Pcm``) → encode, with measurements."""

from loa.speech.audio.decode import NOT_AUDIO_MESSAGE, VIDEO_MESSAGE, decode, probe_duration_s
from loa.speech.audio.encode import PROFILES, AudioFormat, EncodedAudio, encode
from loa.speech.audio.loudness import integrated_loudness_lufs, true_peak_dbtp
from loa.speech.audio.pcm import Pcm, Step
from loa.speech.audio.pipeline import (
    TARGET_LUFS,
    TRUE_PEAK_MAX_DBTP,
    WORK_SAMPLE_RATE,
    AudioMeasurement,
    broadcast_steps,
    measure,
)
from loa.speech.audio.steps import run_steps

__all__ = [
    "NOT_AUDIO_MESSAGE",
    "PROFILES",
    "TARGET_LUFS",
    "TRUE_PEAK_MAX_DBTP",
    "VIDEO_MESSAGE",
    "WORK_SAMPLE_RATE",
    "AudioFormat",
    "AudioMeasurement",
    "EncodedAudio",
    "Pcm",
    "Step",
    "broadcast_steps",
    "decode",
    "encode",
    "integrated_loudness_lufs",
    "measure",
    "probe_duration_s",
    "run_steps",
    "true_peak_dbtp",
]
