"""Speech audio: eSpeak NG's real-time factor, the whole chain for a 1,000-word article (normalise →
synthesise → broadcast pipeline → MP3 → store; target ≤ 2 s), its ratio to eSpeak alone on the same
text in the same run, encoder speeds (× real time), and a 59-minute 8 kbit/s MP3 upload levelled as
a stream (MP3 + Opus): its time and the peak memory of the process doing it (target ≤ 300 MB; the
one-piece pipeline took 6.6 GB). The upload runs in a fresh process so its peak (VmHWM) is its own."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import Result, median_seconds
from loa.speech.audio import AudioFormat, Pcm, broadcast_steps, encode, run_steps
from loa.speech.engines import EngineRegistry
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.render import prepare_text, render_speech, speakable_segments
from loa.speech.store import LocalAudioStore

# A paragraph in the style of a district report (numbers, codes, abbreviations), repeated to length.
_PARAGRAPH = (
    "Thực hiện Kế hoạch số 56/KH-UBND ngày 29/4/2024 của Ủy ban nhân dân huyện Ba Tơ, trong năm 2024 "
    "Trung tâm Truyền thông - Văn hóa - Thể thao đã phát sóng 1.250 tin, bài và 36 chuyên mục về cải cách "
    "hành chính, chuyển đổi số, phòng chống thiên tai; tuyên truyền lưu động được 48 buổi tại 12 xã, thị "
    "trấn với hơn 5.000 lượt người nghe. Kính thưa các đồng chí! Công tác tuyên truyền phải đem một việc "
    "gì nói cho dân hiểu, dân nhớ, dân theo, dân làm. "
)


def _article(words: int) -> str:
    pool = _PARAGRAPH.split()
    return " ".join((pool * (words // len(pool) + 1))[:words])


def run() -> Iterator[Result]:
    engine = EspeakEngine()
    registry = EngineRegistry([engine])
    voice = registry.resolve("vi")
    registry.synthesize("khởi động", voice=voice)  # load the library and voice once, outside timing

    short = prepare_text(_article(200)).text
    rtfs = []
    for _ in range(5):
        start = time.perf_counter()
        pcm = engine.synthesize(short, voice=voice.id)
        rtfs.append((time.perf_counter() - start) / pcm.duration_s)
    rtfs.sort()
    yield Result("speech.espeak_rtf", rtfs[len(rtfs) // 2], "ratio", target=0.01)

    article = _article(1000)
    normalized_text = prepare_text(article).text
    espeak_alone = median_seconds(lambda: engine.synthesize(normalized_text, voice=voice.id), repeat=3)

    with tempfile.TemporaryDirectory() as tmp:
        store = LocalAudioStore(Path(tmp))

        def full_chain() -> None:
            normalized = prepare_text(article)
            rendered = render_speech(registry, speakable_segments(normalized), voice=voice)
            store.put(rendered.primary.encoded.data, "mp3")

        chain = median_seconds(full_chain, repeat=3)
    yield Result("speech.full_chain_1000_words_s", chain, "s", target=2.0)
    yield Result("speech.full_chain_vs_espeak_ratio", chain / espeak_alone, "ratio")

    programme: Pcm = run_steps(engine.synthesize(normalized_text, voice=voice.id), broadcast_steps())
    pipeline_s = median_seconds(
        lambda: run_steps(engine.synthesize(short, voice=voice.id), broadcast_steps()), 3
    )
    yield Result("speech.pipeline_200_words_s", pipeline_s, "s")
    for audio_format in (AudioFormat.MP3, AudioFormat.OPUS):
        seconds = median_seconds(lambda f=audio_format: encode(programme, f), repeat=3)  # type: ignore[misc]
        yield Result(
            f"speech.{audio_format.value}_encode_x_realtime",
            programme.duration_s / seconds,
            "x",
            better="higher",
        )
    yield from upload_results()


_UPLOAD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from loa.speech.audio.encode import AudioFormat
    from loa.speech.audio.stream import level_recording_stream
    from tests.speech.audio.media import long_low_bitrate_mp3

    folder = Path(sys.argv[1])
    path = folder / "upload.mp3"
    path.write_bytes(long_low_bitrate_mp3(59.0))
    start, cpu_start = time.perf_counter(), time.process_time()
    results = level_recording_stream(
        path, formats=(AudioFormat.MP3, AudioFormat.OPUS), max_duration_s=3600, temp_dir=folder
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    status = Path("/proc/self/status").read_text().splitlines()
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_kb": peak_kb, "size": path.stat().st_size,
                      "duration_ms": results[0][0].duration_ms}))
    """
)


def upload_results() -> Iterator[Result]:
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-c", _UPLOAD, folder], cwd=root, capture_output=True, text=True, check=True
        )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    minutes = report["duration_ms"] / 60_000
    yield Result("speech.upload_59min_seconds", report["seconds"], "s")
    # CPU seconds of the process (all its threads): less sensitive to a busy machine than wall time.
    yield Result("speech.upload_59min_cpu_seconds", report["cpu"], "s")
    yield Result("speech.upload_59min_x_realtime", minutes * 60 / report["seconds"], "x", better="higher")
    yield Result("speech.upload_59min_peak_mb", report["peak_kb"] / 1024, "MB", target=300)
