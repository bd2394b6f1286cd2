"""Speech audio: eSpeak NG's real-time factor, the whole chain for a 1,000-word article (normalise →
synthesise → broadcast pipeline → MP3 → store; target ≤ 2 s), its ratio to eSpeak alone on the same
text in the same run, and encoder speeds (× real time)."""

from __future__ import annotations

import tempfile
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
