"""Text to broadcast files, measured the way a listener gets them: the MP3 and Opus files are
decoded and measured independently (pyloudnorm, 4x oversampling)."""

from __future__ import annotations

import numpy as np
import pytest

from loa.errors import InvalidInput
from loa.speech.audio import AudioFormat, Pcm
from loa.speech.engines import EngineRegistry
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.normalize import Segment, normalize
from loa.speech.render import (
    EMPTY_TEXT,
    MAX_TEXT_CHARS,
    NOTHING_READABLE,
    chunk_segments,
    prepare_text,
    render_recording,
    render_speech,
    speakable_segments,
)
from tests.speech.audio.media import measure_file, tone

BULLETIN = (
    "Thông báo của Ủy ban nhân dân xã Ba Tơ. Sáng ngày 15/3/2025, lúc 7h30, tại nhà văn hóa thôn Gò Da, "
    "trạm y tế xã tổ chức tiêm phòng sởi cho 1.200 trẻ em từ 9 tháng đến 5 tuổi. Đề nghị các gia đình "
    "đưa trẻ đến đúng giờ, mang theo sổ tiêm chủng. Mọi thắc mắc xin liên hệ số điện thoại 0255 3861 234."
)


@pytest.fixture(scope="module")
def registry() -> EngineRegistry:
    return EngineRegistry([EspeakEngine()])


@pytest.mark.parametrize("voice", ["espeak:vi", "espeak:vi-vn-x-central", "espeak:vi-vn-x-south"])
def test_bulletin_files_meet_the_broadcast_targets(registry: EngineRegistry, voice: str) -> None:
    normalized = prepare_text(BULLETIN)
    progress: list[int] = []
    rendered = render_speech(
        registry,
        speakable_segments(normalized),
        voice=registry.resolve(voice),
        formats=(AudioFormat.MP3, AudioFormat.OPUS),
        on_progress=progress.append,
    )
    syllables = len(normalized.text.split())
    assert progress == sorted(progress) and progress[-1] == 100
    for rendition in rendered.renditions:
        measured = measure_file(rendition.encoded.data)
        assert measured.loudness_lufs == pytest.approx(-16.0, abs=1.0), rendition.encoded.format
        assert measured.true_peak_dbtp <= -1.5, rendition.encoded.format
        assert 0.2 * syllables <= measured.duration_s <= 1.0 * syllables
        # What is recorded with the file is what the file measures.
        assert rendition.measurement.loudness_lufs == pytest.approx(measured.loudness_lufs, abs=0.3)
        assert rendition.measurement.duration_ms / 1000 == pytest.approx(measured.duration_s, abs=0.1)
    mp3, opus = (r.encoded for r in rendered.renditions)
    assert (mp3.format, mp3.sample_rate, opus.format, opus.sample_rate) == ("mp3", 22_050, "opus", 48_000)
    seconds = mp3.duration_ms / 1000
    assert len(mp3.data) * 8 / seconds == pytest.approx(64_000, rel=0.05)  # CBR 64 kb/s
    assert len(opus.data) * 8 / seconds == pytest.approx(32_000, rel=0.25)


def test_pauses_from_the_normaliser_are_honoured(registry: EngineRegistry) -> None:
    voice = registry.resolve("vi")
    short = render_speech(registry, [Segment("một", 0), Segment("hai", 0)], voice=voice)
    long = render_speech(registry, [Segment("một", 2000), Segment("hai", 0)], voice=voice)
    assert long.primary.encoded.duration_ms - short.primary.encoded.duration_ms == pytest.approx(2000, abs=30)


def test_long_text_is_processed_in_chunks() -> None:
    segments = [Segment("một hai ba bốn năm sáu bảy tám chín mười " * 2, 300)] * 30
    chunks = chunk_segments(segments)
    assert 1 < len(chunks) < len(segments)
    assert sum(len(c) for c in chunks) == len(segments)


def test_empty_text_is_refused() -> None:
    for text in ("", "   \n\t ", "..."):
        with pytest.raises(InvalidInput) as caught:
            prepare_text(text)
        assert caught.value.message in (EMPTY_TEXT, NOTHING_READABLE)


def test_a_megabyte_of_text_is_refused_with_a_clear_limit() -> None:
    text = ("Xin chào bà con. " * 70_000)[:1_000_000]
    with pytest.raises(InvalidInput) as caught:
        prepare_text(text)
    assert caught.value.code == "text_too_long"
    assert "60.000 ký tự" in caught.value.message
    prepare_text("a" * 10 + " " + "Xin chào. " * ((MAX_TEXT_CHARS - 20) // 10))  # just under: accepted


def test_text_in_another_script() -> None:
    with pytest.raises(InvalidInput) as caught:
        prepare_text("你好世界。Привет мир")
    assert caught.value.message == NOTHING_READABLE
    assert caught.value.details  # the "khó đọc" entries say what could not be read
    # Mixed text: the Vietnamese is spoken, the foreign script is left out (and listed as khó đọc).
    normalized = prepare_text("Họp dân lúc 8 giờ 你好.")
    spoken = " ".join(s.text for s in speakable_segments(normalized))
    assert "你好" not in spoken and "tám giờ" in spoken
    assert [u.token for u in normalized.unreadable] == ["你好"]


def test_only_whole_unread_tokens_are_left_out() -> None:
    """An unknown abbreviation is dropped where it stands alone, never cut out of a longer word; an
    ambiguous abbreviation read by a guess is already words (its letters elsewhere stay)."""
    unknown = normalize("Đội XYZQ dùng máy XYZQphone và XYZQW.")
    assert [u.token for u in unknown.unreadable] == ["XYZQ", "XYZQW"]
    assert [s.text for s in speakable_segments(unknown)] == ["Đội dùng máy XYZQphone và"]

    guessed = normalize("BCH họp bàn về BCHphone.")
    assert [(u.token, u.left_in_text) for u in guessed.unreadable] == [("BCH", False)]
    assert [s.text for s in speakable_segments(guessed)] == ["ban chấp hành họp bàn về BCHphone"]

    emoji = normalize("Xin chào😀bạn, 😀😀.")
    assert [(s.text, s.pause_ms) for s in speakable_segments(emoji)] == [("Xin chào bạn", 250)]


def test_recording_is_levelled_and_encoded() -> None:
    quiet_stereo_like = Pcm(tone(300, 3.0, 44_100, 0.02) + tone(2000, 3.0, 44_100, 0.01), 44_100)
    rendered = render_recording(quiet_stereo_like, formats=(AudioFormat.MP3,))
    measured = measure_file(rendered.primary.encoded.data)
    assert measured.loudness_lufs == pytest.approx(-16.0, abs=1.0)
    assert measured.true_peak_dbtp <= -1.5
    assert measured.duration_s == pytest.approx(3.0, abs=0.1)
    assert np.isfinite(rendered.primary.measurement.true_peak_dbtp)
