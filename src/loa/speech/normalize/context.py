"""What every rule sees: the source text around a token, the reading style, dictionaries, the report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from loa.speech.normalize.abbreviations import Abbreviations
from loa.speech.normalize.model import ReadingStyle, Unreadable

_WORD = re.compile(r"[^\W\d_]+|\d+")
_CLAUSE_END = re.compile(r"[.;!?\n()\[\]]")
_CLAUSE_MARKS = ".;!?\n()[]"
_LOOKBACK = 48


@dataclass
class Context:
    source: str
    style: ReadingStyle
    abbreviations: Abbreviations
    overrides: dict[str, str]
    unreadable: list[Unreadable] = field(default_factory=list)

    def prev_words(self, start: int, count: int = 2) -> list[str]:
        """Up to ``count`` lower-cased words right before ``start`` in the same clause, nearest last."""
        window = self.source[max(0, start - _LOOKBACK) : start]
        cut = max(window.rfind(mark) for mark in _CLAUSE_MARKS) + 1
        return [w.lower() for w in _WORD.findall(window, cut)[-count:]]

    def prev_word(self, start: int) -> str:
        words = self.prev_words(start, 1)
        return words[0] if words else ""

    def prev_phrase(self, start: int, count: int = 2) -> str:
        return " ".join(self.prev_words(start, count))

    def next_word(self, end: int) -> str:
        match = _WORD.search(self.source, end, min(len(self.source), end + _LOOKBACK))
        if match is None or _CLAUSE_END.search(self.source, end, match.start()):
            return ""
        return match.group().lower()

    def report(self, token: str, start: int, end: int, reason: str, *, left_in_text: bool = True) -> None:
        self.unreadable.append(Unreadable(token, start, end, reason, left_in_text))
