"""Engines behind the one interface: the real eSpeak NG from the wheel, a Piper voice built by the
test (loaded by the real piper-tts + onnxruntime), and a fake cloud engine over HTTP."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from loa.errors import InvalidInput
from loa.speech.audio import Pcm
from loa.speech.engines import EngineRegistry, EngineUnavailable, Gender, Region, TtsEngine, VoiceInfo
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.engines.piper import PiperEngine
from loa.speech.render import prepare_text, render_speech, speakable_segments
from tests.speech.audio.piper_voice import HOP, PHONEME_ID_MAP, SAMPLE_RATE, read_ids, write_voice

SENTENCE = "Sáng mai xã tổ chức họp dân tại nhà văn hóa thôn"  # 12 syllables


def test_espeak_offers_three_regions_each_male_and_female() -> None:
    voices = {v.id: v for v in EspeakEngine().voices()}
    male = {
        "espeak:vi": Region.NORTH,
        "espeak:vi-vn-x-central": Region.CENTRAL,
        "espeak:vi-vn-x-south": Region.SOUTH,
    }
    female = {f"{k}+f3": region for k, region in male.items()}
    assert set(voices) == set(male) | set(female)
    assert all(voices[k].region is r and voices[k].gender is Gender.MALE for k, r in male.items())
    assert all(voices[k].region is r and voices[k].gender is Gender.FEMALE for k, r in female.items())
    assert all(v.language == "vi" and v.default_rate == 175 for v in voices.values())
    assert isinstance(EspeakEngine(), TtsEngine)


def _pitch_hz(pcm: Pcm) -> float:
    """Fundamental frequency of the loudest 40 ms (autocorrelation between 70 and 400 Hz)."""
    rate, width = pcm.sample_rate, int(0.04 * pcm.sample_rate)
    frames = pcm.samples[: len(pcm.samples) // width * width].reshape(-1, width)
    frame = frames[int(np.argmax((frames**2).sum(axis=1)))]
    frame = frame - frame.mean()
    correlation = np.correlate(frame, frame, "full")[width - 1 :]
    low, high = rate // 400, rate // 70
    return rate / (low + int(np.argmax(correlation[low:high])))


def test_the_female_variant_speaks_higher() -> None:
    male = _pitch_hz(EspeakEngine().synthesize(SENTENCE, voice="espeak:vi-vn-x-central"))
    female = _pitch_hz(EspeakEngine().synthesize(SENTENCE, voice="espeak:vi-vn-x-central+f3"))
    assert female > 1.25 * male


@pytest.mark.parametrize("voice", ["espeak:vi", "espeak:vi-vn-x-central", "espeak:vi-vn-x-south"])
def test_espeak_speaks_vietnamese_at_a_plausible_pace(voice: str) -> None:
    pcm = EspeakEngine().synthesize(SENTENCE, voice=voice)
    assert pcm.sample_rate == 22_050 and pcm.samples.dtype == np.float32
    syllables = len(SENTENCE.split())
    assert 0.2 * syllables <= pcm.duration_s <= 1.0 * syllables
    assert 0.05 < float(np.sqrt(np.mean(pcm.samples**2))) < 0.9


def test_rate_and_pitch_change_the_speech() -> None:
    engine = EspeakEngine()
    normal = engine.synthesize(SENTENCE, voice="espeak:vi")
    fast = engine.synthesize(SENTENCE, voice="espeak:vi", rate=1.5)
    slow = engine.synthesize(SENTENCE, voice="espeak:vi", rate=0.5)
    assert fast.duration_s < 0.8 * normal.duration_s < slow.duration_s * 0.8
    high = engine.synthesize(SENTENCE, voice="espeak:vi", pitch=1.6)
    assert not np.array_equal(high.samples[:5000], normal.samples[:5000])


def test_espeak_phonemes_in_ipa() -> None:
    assert EspeakEngine().phonemes("ba bà") == "bˈaː bˈaː2"


def test_espeak_is_safe_to_call_from_many_threads() -> None:
    engine = EspeakEngine()
    texts = ["Một hai ba bốn năm", "Sáu bảy tám chín mười", "Xin chào bà con", "Thông báo khẩn"]
    expected = {t: engine.synthesize(t, voice="espeak:vi").duration_s for t in texts}
    results: dict[str, list[float]] = {t: [] for t in texts}

    def speak(text: str) -> None:
        for _ in range(5):
            results[text].append(engine.synthesize(text, voice="espeak:vi").duration_s)

    threads = [threading.Thread(target=speak, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for text, durations in results.items():
        # eSpeak adds a few samples of jitter; a mixed-up buffer would be seconds off.
        assert all(abs(d - expected[text]) < 0.03 for d in durations), (text, expected[text], durations)


def test_piper_voice_is_found_loaded_and_fed_the_right_phoneme_ids(tmp_path: Path) -> None:
    write_voice(tmp_path, length_scale=1.0)
    (tmp_path / "broken.onnx").write_bytes(b"not a model")  # no .onnx.json: skipped, not fatal
    engine = PiperEngine(tmp_path)
    [voice] = engine.voices()
    assert voice == VoiceInfo(
        id="piper:vi_VN-tiny-test",
        name="Giọng thử nghiệm",
        language="vi",
        gender=Gender.FEMALE,
        region=Region.SOUTH,
        engine="piper",
        default_rate=200,
    )
    pcm = engine.synthesize("ba bà.", voice=voice.id, rate=1.25)
    assert pcm.sample_rate == SAMPLE_RATE
    assert len(pcm.samples) % HOP == 0
    ids = read_ids(pcm.samples, length_scale=1.0 / 1.25)  # rate 1.25 → length_scale 0.8
    symbols = [next(s for s, v in PHONEME_ID_MAP.items() if v == [i]) for i in ids]
    # Piper's framing: BOS, then every phoneme followed by PAD, then EOS.
    assert symbols[0] == "^" and symbols[-1] == "$"
    assert symbols[1::2][:-1] == ["_"] * (len(symbols) // 2 - 1)
    spoken = "".join(symbols[2:-1:2])
    assert spoken == "bˈaː bˈaː2."
    assert len(pcm.samples) == HOP * len(ids)


def test_a_broken_piper_model_is_a_clear_configuration_error(tmp_path: Path) -> None:
    write_voice(tmp_path, name="hong")
    (tmp_path / "hong.onnx").write_bytes(b"\x00" * 100)
    with pytest.raises(EngineUnavailable) as caught:
        PiperEngine(tmp_path).synthesize("xin chào", voice="piper:hong")
    assert "hỏng" in caught.value.message
    with pytest.raises(EngineUnavailable):
        PiperEngine(tmp_path).synthesize("xin chào", voice="piper:khong-co")


def test_registry_resolves_voices_and_defaults(tmp_path: Path) -> None:
    write_voice(tmp_path)
    registry = EngineRegistry([EspeakEngine(), PiperEngine(tmp_path)], default_engine="piper")
    assert registry.default_voice().id == "piper:vi_VN-tiny-test"
    assert registry.resolve("vi-vn-x-south").id == "espeak:vi-vn-x-south"
    assert registry.resolve("espeak:vi").engine == "espeak"
    with pytest.raises(InvalidInput) as caught:
        registry.resolve("en-us")
    assert "Không có giọng đọc" in caught.value.message
    chosen = EngineRegistry([EspeakEngine()], default_voice="vi-vn-x-central")
    assert chosen.default_voice().id == "espeak:vi-vn-x-central"
    # A voice set in the configuration but not installed falls back instead of failing every request.
    assert EngineRegistry([EspeakEngine()], default_voice="khong-co").default_voice().id == "espeak:vi"


class FakeCloudEngine:
    """A cloud TTS service seen through HTTP: returns 16-bit PCM for the text it is sent."""

    name = "cloud"

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.requests: list[dict[str, object]] = []

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("cloud:ngoc-lan", "Ngọc Lan", "vi", Gender.FEMALE, Region.NORTH, "cloud", 190)]

    def synthesize(self, text: str, *, voice: str, rate: float = 1.0, pitch: float | None = None) -> Pcm:
        response = self.client.post("/v1/speak", json={"text": text, "voice": voice, "speed": rate})
        response.raise_for_status()
        self.requests.append({"text": text, "voice": voice})
        samples = np.frombuffer(response.content, dtype="<i2").astype(np.float32) / np.float32(32768)
        return Pcm(samples, int(response.headers["x-sample-rate"]))


def test_a_cloud_engine_plugs_into_the_same_chain() -> None:
    def service(request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        seconds = 0.25 * len(body["text"].split())
        t = np.arange(int(seconds * 24_000)) / 24_000
        audio = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes()
        return httpx.Response(200, content=audio, headers={"x-sample-rate": "24000"})

    engine = FakeCloudEngine(
        httpx.Client(transport=httpx.MockTransport(service), base_url="https://tts.example")
    )
    registry = EngineRegistry([EspeakEngine(), engine])
    voice = registry.resolve("ngoc-lan")
    normalized = prepare_text("Thông báo: ngày 15/3 cắt điện.")
    rendered = render_speech(registry, speakable_segments(normalized), voice=voice)
    assert [r["voice"] for r in engine.requests] == ["cloud:ngoc-lan"] * len(normalized.segments)
    assert rendered.primary.measurement.loudness_lufs == pytest.approx(-16.0, abs=0.5)
    assert rendered.primary.encoded.data.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3"))  # an MP3 stream
