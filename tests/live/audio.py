"""Real audio for the stream tests: a tone encoded with PyAV, decoded back and measured."""

from __future__ import annotations

import io

import av
import numpy as np

RATE = 48000


def tone(seconds: float, frequency_hz: float = 1000.0, *, fmt: str = "ogg", codec: str = "libopus") -> bytes:
    """``seconds`` of a sine tone at −12 dBFS, mono 48 kHz, encoded in ``fmt``."""
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=RATE, layout="mono")
        stream.bit_rate = 64000
        t = np.arange(int(seconds * RATE)) / RATE
        samples = (0.25 * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32)
        for start in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + 960], format="flt", layout="mono"
            )
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def decode(data: bytes, *, truncated: bool = False) -> np.ndarray:
    """Mono float samples at 48 kHz of an encoded stream (as a loudspeaker would decode it).
    ``truncated``: a stream cut off by the listener; what decodes before the cut counts."""
    chunks = []
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError:
            if not truncated:
                raise
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def wav_tone(path: str, seconds: float, frequency_hz: float = 1000.0) -> None:
    """A 16-bit mono WAV tone, e.g. for Chromium's fake microphone."""
    import wave

    t = np.arange(int(seconds * RATE)) / RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * frequency_hz * t)).astype("<i2")
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))
