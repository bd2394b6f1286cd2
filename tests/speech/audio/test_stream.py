"""Long uploads are levelled as a stream: right loudness, and memory that does not grow with duration."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from loa.errors import InvalidInput
from loa.speech.audio.encode import AudioFormat
from loa.speech.audio.pcm import Pcm
from loa.speech.audio.pipeline import broadcast_steps
from loa.speech.audio.steps import run_steps
from loa.speech.audio.stream import PIECE_SAMPLES, level_recording_stream
from loa.speech.uploads import check_upload
from tests.speech.audio.media import (
    SAMPLE_RATE,
    UPLOAD_FORMATS,
    encode_with_pyav,
    long_low_bitrate_mp3,
    measure_file,
    speechlike,
)


def test_a_stream_spanning_many_pieces_is_levelled_like_the_whole(tmp_path: Path) -> None:
    seconds = 2.5 * PIECE_SAMPLES / SAMPLE_RATE  # three pieces, the last one short
    samples = speechlike(seconds, SAMPLE_RATE, seed=7)
    samples[: len(samples) // 3] *= 0.3  # a quiet first third: the compressor and gain must not jump
    wav = encode_with_pyav(samples, SAMPLE_RATE, UPLOAD_FORMATS[0])
    results = level_recording_stream(
        wav, formats=(AudioFormat.MP3, AudioFormat.OPUS), max_duration_s=3600, temp_dir=tmp_path
    )
    (mp3, mp3_measured), (opus, opus_measured) = results
    for file in (mp3, opus):
        assert measure_file(file.data).true_peak_dbtp <= -1.5  # the peak limit comes first
    assert measure_file(mp3.data).loudness_lufs == pytest.approx(-16, abs=1)
    # Opus overshoots the PCM's peaks by ~1.5 dB and loses some loudness; held under the peak limit,
    # it may end up to ~1 LU quieter than the MP3 on a signal this peaky.
    assert -17.5 <= measure_file(opus.data).loudness_lufs <= -15
    assert mp3.duration_ms == pytest.approx(1000 * seconds, abs=60)
    assert mp3_measured.loudness_lufs == pytest.approx(measure_file(mp3.data).loudness_lufs, abs=0.3)
    assert opus_measured.true_peak_dbtp <= -1.5
    # The one-piece pipeline on the same audio lands on the same loudness.
    whole = run_steps(Pcm(samples, SAMPLE_RATE), broadcast_steps())
    from loa.speech.audio.pipeline import measure

    assert mp3_measured.loudness_lufs == pytest.approx(measure(whole).loudness_lufs, abs=0.5)
    assert not list(tmp_path.iterdir())  # the spool file is gone


def test_the_declared_duration_is_refused_before_decoding() -> None:
    three_minutes = long_low_bitrate_mp3(3.0)
    with pytest.raises(InvalidInput) as caught:
        check_upload(three_minutes, max_bytes=50 * 1024 * 1024, max_duration_s=120)
    assert caught.value.message == "Âm thanh dài quá 2 phút; hãy cắt thành nhiều tệp ngắn hơn."
    declared = check_upload(three_minutes, max_bytes=50 * 1024 * 1024, max_duration_s=600)
    assert declared is not None and 180 <= declared <= 215  # whole 30-second blocks of frames


_MEASURE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from loa.speech.audio.encode import AudioFormat
    from loa.speech.audio.stream import level_recording_stream
    from tests.speech.audio.media import long_low_bitrate_mp3

    path = Path(sys.argv[2]) / "long.mp3"
    path.write_bytes(long_low_bitrate_mp3(float(sys.argv[1])))
    results = level_recording_stream(
        path, formats=(AudioFormat.MP3, AudioFormat.OPUS), max_duration_s=3600, temp_dir=Path(sys.argv[2])
    )
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) test process across exec.
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"peak_kb": peak, "duration_ms": results[0][0].duration_ms}))
    """
)


def _peak_rss_mb(minutes: float, tmp_path: Path) -> tuple[float, float]:
    """Peak resident memory of a fresh process levelling ``minutes`` of audio, and the duration."""
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(minutes), str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["peak_kb"] / 1024, report["duration_ms"] / 60_000


def test_memory_does_not_grow_with_the_duration(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    short_peak, short_minutes = _peak_rss_mb(1.5, tmp_path / "a")
    long_peak, long_minutes = _peak_rss_mb(8.0, tmp_path / "b")
    assert long_minutes == pytest.approx(8.0, abs=0.6) and short_minutes == pytest.approx(1.5, abs=0.6)
    # Held whole, six and a half more minutes of float samples at 22.05 kHz are 34 MB per copy, and
    # the one-piece chain keeps several copies; streamed, only the encoded files grow (~0.7 MB a minute).
    assert long_peak - short_peak < 25, (short_peak, long_peak)
    assert long_peak < 300


def test_speechlike_test_audio_is_not_silent() -> None:
    assert float(np.sqrt(np.mean(speechlike(2.0, 8000) ** 2))) > 0.03
