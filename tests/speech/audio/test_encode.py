"""The encoders at their edges: an empty stream, a stream whose close fails, and MP3 that decodes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from loa.speech.audio.decode import decode
from loa.speech.audio.encode import AudioFormat, BackgroundEncoder, LameMp3Encoder, encode
from loa.speech.audio.pcm import Pcm

RATE = 22_050


def test_mp3_from_lameenc_decodes_to_the_same_duration() -> None:
    seconds = 3.0
    t = np.arange(int(RATE * seconds)) / RATE
    pcm = Pcm((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE)
    encoded = encode(pcm, AudioFormat.MP3)
    assert encoded.data.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3"))
    back = decode(encoded.data, sample_rate=RATE, max_duration_s=None)
    assert back.duration_s == pytest.approx(seconds, abs=0.1)
    # 64 kb/s CBR: the byte count follows the duration.
    assert len(encoded.data) == pytest.approx(64_000 / 8 * seconds, rel=0.1)


def test_an_empty_mp3_stream_closes_without_error() -> None:
    encoded = LameMp3Encoder(RATE).close()
    assert encoded.data == b"" and encoded.duration_ms == 0


def test_a_background_encoder_whose_close_fails_reports_it_and_never_hangs() -> None:
    encoder = BackgroundEncoder(AudioFormat.MP3, RATE)

    def failing_close() -> object:
        raise RuntimeError("encoder broke at the end")

    encoder._encoder.close = failing_close  # type: ignore[method-assign,assignment]
    outcome: list[BaseException] = []

    def close() -> None:
        try:
            encoder.close()
        except BaseException as err:
            outcome.append(err)

    worker = threading.Thread(target=close, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "close() must not wait forever for a sentinel already consumed"
    assert len(outcome) == 1 and "broke at the end" in str(outcome[0])
