"""The corpus: hundreds of real and realistic sentences with their full expected reading (cases.tsv)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loa.speech.normalize import normalize
from loa.speech.normalize.letters import LETTER_CLASS

CASES_FILE = Path(__file__).with_name("cases.tsv")


def _load() -> list[tuple[str, str, str]]:
    rows = []
    for line in CASES_FILE.read_text("utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("input\t"):
            continue
        text, expected, note = line.split("\t")
        rows.append((text, expected, note))
    return rows


CASES = _load()


def test_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 700
    notes = {note for _, _, note in CASES}
    assert {"report", "admin", "thien-tai", "dich-vu", "nong-nghiep", "y-te", "gia-ca"} <= notes
    assert sum(1 for *_, note in CASES if note == "thien-tai") >= 150


@pytest.mark.parametrize(
    ("text", "expected", "note"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_reading(text: str, expected: str, note: str) -> None:
    assert normalize(text).text == expected


# What a voice can say: Vietnamese letters, spaces and the canonical marks. Anything else in the spoken
# text (a digit, "$", "₫", "°", "%", "/", a letter of another alphabet) must be on the "khó đọc" list.
RESIDUE = re.compile("[^" + LETTER_CLASS + r"\s,.;:!?]")


@pytest.mark.parametrize(
    ("text", "expected", "note"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_no_residue_outside_the_hard_list(text: str, expected: str, note: str) -> None:
    result = normalize(text)
    spoken = result.text
    for token in sorted({u.token for u in result.unreadable if u.left_in_text}, key=len, reverse=True):
        spoken = spoken.replace(token, " ")
    stray = RESIDUE.findall(spoken)
    assert not stray, f"unflagged residue {stray} in the spoken text: {result.text!r}"


def test_residue_check_catches_what_no_rule_reads() -> None:
    """The safety net itself: a symbol no rule knows is reported, never silently passed on."""
    result = normalize("Điểm thi đạt 8^2 và ký hiệu ©")
    assert {u.token for u in result.unreadable} >= {"^", "©"}
    assert all(u.left_in_text for u in result.unreadable if u.token in "^©")


def test_suite_covers_weather_warning_language() -> None:
    """The classes the weather-warning service writes are all in the suite (with readings)."""
    inputs = " ".join(text for text, _, _ in CASES)
    for needle in (
        "cấp 8, giật cấp 10",
        "16,5 độ Vĩ Bắc; 112,3 độ Kinh Đông",
        "100-200mm",
        "BĐ2",
        "+0,",
        "-1,5%",
    ):
        assert needle in inputs, needle
