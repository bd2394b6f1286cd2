"""The corpus: hundreds of real and realistic sentences with their full expected reading (cases.tsv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loa.speech.normalize import normalize

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
    assert len(CASES) >= 300
    notes = {note for _, _, note in CASES}
    assert {"report", "admin", "thien-tai", "dich-vu", "nong-nghiep", "y-te"} <= notes


@pytest.mark.parametrize(
    ("text", "expected", "note"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_reading(text: str, expected: str, note: str) -> None:
    assert normalize(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected", "note"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_reading_has_no_digits_except_flagged_tokens(text: str, expected: str, note: str) -> None:
    result = normalize(text)
    flagged = "".join(item.token for item in result.unreadable)
    stray = [c for c in result.text if c.isdigit() and c not in flagged]
    assert not stray, f"digits left in the spoken text: {result.text!r}"
