"""Every upload format decodes (made here with PyAV's own encoders), and every kind of bad file is
refused with the same clear Vietnamese message, quickly and without reading it all."""

from __future__ import annotations

import time

import numpy as np
import pytest

from loa.errors import InvalidInput
from loa.speech.audio import NOT_AUDIO_MESSAGE, VIDEO_MESSAGE, decode, probe_duration_s
from loa.speech.audio.decode import MAX_AUDIO_DURATION_S
from tests.speech.audio.media import (
    SAMPLE_RATE,
    UPLOAD_FORMATS,
    Container,
    dominant_frequency_hz,
    encode_with_pyav,
    mp3_with_cover,
    png_bytes,
    silent_video_mp4,
    three_hour_mp3,
    tone,
    video_with_sound_mp4,
)


@pytest.mark.parametrize("container", UPLOAD_FORMATS, ids=[c.name for c in UPLOAD_FORMATS])
@pytest.mark.parametrize("channels", [1, 2], ids=["mono", "stereo"])
def test_every_upload_format_decodes_to_mono_at_the_working_rate(container: Container, channels: int) -> None:
    data = encode_with_pyav(tone(440.0, 2.0), SAMPLE_RATE, container, channels=channels)
    pcm = decode(data, sample_rate=SAMPLE_RATE)
    assert pcm.sample_rate == SAMPLE_RATE
    assert pcm.samples.ndim == 1 and pcm.samples.dtype == np.float32
    # Codecs add a little priming/padding, never more than ~60 ms.
    assert 1.95 <= pcm.duration_s <= 2.1
    middle = pcm.samples[int(0.5 * SAMPLE_RATE) : int(1.5 * SAMPLE_RATE)]
    assert dominant_frequency_hz(middle, SAMPLE_RATE) == pytest.approx(440.0, abs=3)
    # Downmixing two identical channels keeps the level (not summed, not halved); AMR-NB is narrowband.
    rms = float(np.sqrt(np.mean(middle**2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.2 if container.format == "amr" else 0.05)


def test_decoding_from_a_path_and_at_the_native_rate(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "ghi-am.wav"
    path.write_bytes(encode_with_pyav(tone(300.0, 1.0), SAMPLE_RATE, UPLOAD_FORMATS[0]))
    pcm = decode(path)
    assert pcm.sample_rate == 44_100
    assert pcm.duration_s == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("empty", lambda: b""),
        ("text", lambda: "Đây không phải âm thanh.".encode() * 50),
        ("random bytes", lambda: np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes()),
        ("png image", png_bytes),
        ("wav header only", lambda: encode_with_pyav(tone(), SAMPLE_RATE, UPLOAD_FORMATS[0])[:44]),
    ],
)
def test_not_audio_is_refused_with_the_vietnamese_message(label: str, make: object) -> None:
    assert callable(make)
    with pytest.raises(InvalidInput) as caught:
        decode(make())
    assert caught.value.message == NOT_AUDIO_MESSAGE


@pytest.mark.parametrize("make", [video_with_sound_mp4, silent_video_mp4], ids=["with sound", "silent"])
def test_a_video_is_refused_even_with_a_sound_track(make: object) -> None:
    assert callable(make)
    data = make()
    with pytest.raises(InvalidInput) as caught:
        decode(data, sample_rate=SAMPLE_RATE)
    assert caught.value.message == VIDEO_MESSAGE and caught.value.code == "video_not_audio"
    assert caught.value.message.startswith("Tệp là video, không phải âm thanh")
    with pytest.raises(InvalidInput):
        probe_duration_s(data)


def test_an_mp3_with_an_album_cover_is_audio() -> None:
    pcm = decode(mp3_with_cover(2.0), sample_rate=SAMPLE_RATE)
    assert pcm.duration_s == pytest.approx(2.0, abs=0.1)
    assert dominant_frequency_hz(pcm.samples, SAMPLE_RATE) == pytest.approx(440.0, abs=3)


@pytest.mark.parametrize(
    "container",
    [c for c in UPLOAD_FORMATS if c.format not in ("ogg",)],
    ids=[c.name for c in UPLOAD_FORMATS if c.format not in ("ogg",)],
)
def test_a_truncated_file_is_refused(container: Container) -> None:
    data = encode_with_pyav(tone(440.0, 4.0), SAMPLE_RATE, container)
    with pytest.raises(InvalidInput) as caught:
        decode(data[: int(len(data) * 0.6)])
    assert caught.value.message == NOT_AUDIO_MESSAGE


def test_a_truncated_ogg_decodes_to_the_part_that_arrived() -> None:
    """Documented: Ogg pages carry no total length, so a cut-off Ogg is indistinguishable from a
    shorter recording; it decodes to what arrived (the person hears it in the preview)."""
    ogg = next(c for c in UPLOAD_FORMATS if c.format == "ogg")
    data = encode_with_pyav(tone(440.0, 4.0), SAMPLE_RATE, ogg)
    pcm = decode(data[: len(data) // 2], sample_rate=SAMPLE_RATE)
    assert 1.0 < pcm.duration_s < 3.0


def test_a_three_hour_upload_is_refused_before_decoding() -> None:
    data = three_hour_mp3()
    assert probe_duration_s(data) == pytest.approx(3 * 3600, rel=0.01)
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as caught:
        decode(data, sample_rate=SAMPLE_RATE)
    assert time.perf_counter() - started < 2.0  # refused from the header, not after decoding 3 hours
    assert "60 phút" in caught.value.message
    assert MAX_AUDIO_DURATION_S == 3600


def test_the_cap_also_holds_while_decoding() -> None:
    """A stream that does not declare its length is stopped as soon as it passes the cap."""
    amr = next(c for c in UPLOAD_FORMATS if c.format == "amr")
    data = encode_with_pyav(tone(440.0, 4.0), SAMPLE_RATE, amr)
    with pytest.raises(InvalidInput) as caught:
        decode(data, max_duration_s=1.0)
    assert caught.value.code == "audio_too_long"
