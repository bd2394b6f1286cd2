"""Real audio for the tests, made here: tones and speech encoded by PyAV's own encoders into every
upload format, and an independent measurement of what a listener gets (pyloudnorm for BS.1770
loudness, scipy's polyphase resampler for the 4x-oversampled true peak)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import pyloudnorm
from scipy.signal import lfilter, resample_poly

SAMPLE_RATE = 22_050


def tone(
    frequency_hz: float = 440.0, seconds: float = 2.0, rate: int = SAMPLE_RATE, amplitude: float = 0.5
) -> np.ndarray[Any, np.dtype[np.float32]]:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * math.pi * frequency_hz * t)).astype(np.float32)


@dataclass(frozen=True)
class Container:
    name: str
    format: str
    codec: str
    rate: int
    sample_format: str
    suffix: str


# Every upload format Loa promises to read, as produced by common phones and recorders.
UPLOAD_FORMATS: tuple[Container, ...] = (
    Container("WAV (PCM 16 bit)", "wav", "pcm_s16le", 44_100, "s16", ".wav"),
    Container("MP3", "mp3", "libmp3lame", 44_100, "fltp", ".mp3"),
    Container("AAC trong M4A", "ipod", "aac", 44_100, "fltp", ".m4a"),
    Container("Opus trong OGG", "ogg", "libopus", 48_000, "flt", ".ogg"),
    Container("AMR-NB", "amr", "libopencore_amrnb", 8_000, "s16", ".amr"),
    Container("FLAC", "flac", "flac", 44_100, "s16", ".flac"),
)


def encode_with_pyav(
    samples: np.ndarray[Any, np.dtype[np.float32]], rate: int, container: Container, channels: int = 1
) -> bytes:
    """Encode float samples (mono, duplicated to ``channels``) with PyAV into ``container``."""
    resampled = (
        resample_poly(samples, container.rate, rate).astype(np.float32) if rate != container.rate else samples
    )
    if container.codec == "libopencore_amrnb":
        channels = 1  # AMR-NB is mono by definition
    layout = "mono" if channels == 1 else "stereo"
    planar = np.repeat(resampled.reshape(1, -1), channels, axis=0)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container.format) as out:
        stream: Any = out.add_stream(container.codec, rate=container.rate)
        stream.layout = layout
        if container.codec == "libopencore_amrnb":
            stream.bit_rate = 12_200
        frame_size = 4096
        for start in range(0, planar.shape[1], frame_size):
            block = np.ascontiguousarray(planar[:, start : start + frame_size])
            if container.sample_format == "s16":
                data = (np.clip(block, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(data, format="s16", layout=layout)
            elif container.sample_format == "flt":
                frame = av.AudioFrame.from_ndarray(block.T.reshape(1, -1).copy(), format="flt", layout=layout)
            else:
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            frame.sample_rate = container.rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def decode_reference(data: bytes) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
    """Decode with PyAV directly (not Loa's decoder), averaging channels."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        blocks = []
        for frame in container.decode(stream):
            array = frame.to_ndarray().astype(np.float32)
            if frame.format.is_planar:
                blocks.append(array.mean(axis=0))
            else:
                blocks.append(array.reshape(-1, len(frame.layout.channels)).mean(axis=1))
        rate = stream.rate
    return np.concatenate(blocks), int(rate)


@dataclass(frozen=True)
class Measured:
    loudness_lufs: float
    true_peak_dbtp: float
    duration_s: float


def measure_file(data: bytes) -> Measured:
    samples, rate = decode_reference(data)
    loudness = float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))
    return Measured(loudness, reference_true_peak_dbtp(samples), len(samples) / rate)


def reference_true_peak_dbtp(samples: np.ndarray[Any, np.dtype[np.float32]]) -> float:
    oversampled = resample_poly(samples.astype(np.float64), 4, 1)
    return float(20 * np.log10(np.abs(oversampled).max()))


def dominant_frequency_hz(samples: np.ndarray[Any, np.dtype[np.float32]], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def png_bytes() -> bytes:
    """A real 2x2 PNG image (not audio)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def silent_video_mp4(seconds: float = 1.0) -> bytes:
    """An MP4 with one video track and no audio track."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream: Any = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(int(seconds * 10)):
            image = np.full((32, 32, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def video_with_sound_mp4(seconds: float = 1.0) -> bytes:
    """An MP4 with a picture track and a sound track (a 440 Hz tone): a video, whatever its name says."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        video: Any = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        sound: Any = out.add_stream("aac", rate=16_000, layout="mono")
        for i in range(int(seconds * 10)):
            image = np.full((32, 32, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        frame = av.AudioFrame.from_ndarray(
            tone(440, seconds, 16_000).reshape(1, -1), format="fltp", layout="mono"
        )
        frame.sample_rate = 16_000
        for packet in [*sound.encode(frame), *sound.encode(None)]:
            out.mux(packet)
    return buffer.getvalue()


def mp3_with_cover(seconds: float = 2.0) -> bytes:
    """An MP3 carrying an album cover (a PNG stream marked "attached picture"), as music apps write."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as out:
        sound: Any = out.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        cover: Any = out.add_stream("png")
        cover.width, cover.height, cover.pix_fmt = 2, 2, "rgb24"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.Packet(png_bytes())
        picture.stream = cover
        out.mux(picture)
        frame = av.AudioFrame.from_ndarray(tone(440, seconds).reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in [*sound.encode(frame), *sound.encode(None)]:
            out.mux(packet)
    return buffer.getvalue()


def three_hour_mp3() -> bytes:
    """Three hours of valid MP3, made cheaply: one second of encoded audio, its frames repeated."""
    one_second = encode_with_pyav(
        tone(440, 1.0, 8_000, 0.3), 8_000, Container("MP3", "mp3", "libmp3lame", 8_000, "fltp", ".mp3")
    )
    with av.open(io.BytesIO(one_second), mode="r") as container:
        frames = [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]
    block = b"".join(frames)
    frame_seconds = 576 / 8_000  # MPEG-2.5 layer III: 576 samples a frame
    repeats = math.ceil(3 * 3600 / (len(frames) * frame_seconds))
    return block * repeats


def speechlike(seconds: float, rate: int, seed: int = 1) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Noise shaped like speech: syllable-rate (3 Hz) and phrase-rate bursts, around −20 dBFS."""
    rng = np.random.default_rng(seed)
    count = int(seconds * rate)
    t = np.arange(count) / rate
    envelope = (0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.23 * t))
    # Energy falling off above a few hundred hertz, as in speech (a one-pole low-pass on white noise).
    voiced = lfilter([1.0], [1.0, -0.9], rng.standard_normal(count)) * 0.3
    return np.asarray(0.1 * voiced * envelope, dtype=np.float32)


def long_low_bitrate_mp3(minutes: float, rate: int = 8_000) -> bytes:
    """A long 8 kbit/s-class MP3 (like a phone recorder's), made cheaply: 30 s of speech-like noise
    encoded once, its frames repeated to the length asked for. No header declares the duration, so
    FFmpeg estimates it from the bit rate, as for such files in the field."""
    encoded = encode_with_pyav(
        speechlike(30.0, rate), rate, Container("MP3", "mp3", "libmp3lame", rate, "fltp", ".mp3")
    )
    with av.open(io.BytesIO(encoded), mode="r") as container:
        frames = [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]
    frames = frames[2:-2]  # drop the encoder's delay and flush frames: the joins stay seamless
    frame_seconds = 576 / rate
    repeats = math.ceil(minutes * 60 / (len(frames) * frame_seconds))
    return b"".join(frames) * repeats
