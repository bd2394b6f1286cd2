"""Text typed by people, made clean and comparable."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """'Băng rôn ' → 'bang ron': for matching headers, kinds and names typed by people."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.lower().split())


def clean_line(text: str) -> str:
    """A single-line field (title, organisation): NFC, control characters removed, spaces collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(text.split())


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a UTF-16 surrogate on its own (JSON's ``"\\ud800"``): not a character,
    it cannot be stored or shown, so input carrying one is refused."""
    return _LONE_SURROGATE.search(text) is not None
