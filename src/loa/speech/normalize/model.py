"""Value objects of the normaliser: the result, the "khó đọc" entries, spoken segments and reading style."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Unreadable(NamedTuple):
    """A token the normaliser could not turn into words (or read only by a guess).

    ``start``/``end`` index into :attr:`NormalizedText.source` (the NFC-normalised input), so an editor
    can highlight the spot; ``reason`` is Vietnamese and is shown to people as is. ``left_in_text`` is
    true when the token stands as written in the spoken text (unknown abbreviation, foreign script,
    emoji) and false when it was read by a guess that the editor should confirm (an ambiguous
    abbreviation, an impossible date read number by number).
    """

    token: str
    start: int
    end: int
    reason: str
    left_in_text: bool = True


class Segment(NamedTuple):
    """A stretch of spoken text and the pause an engine should leave after it."""

    text: str
    pause_ms: int


@dataclass(frozen=True)
class ReadingStyle:
    """Regional choices of spoken numbers.

    The defaults are the northern/standard broadcast forms; :meth:`south` gives the forms southern
    listeners expect ("ngàn", "lẻ").
    """

    thousand: str = "nghìn"
    zero_tens: str = "linh"

    @classmethod
    def south(cls) -> ReadingStyle:
        return cls(thousand="ngàn", zero_tens="lẻ")


DEFAULT_STYLE = ReadingStyle()


@dataclass(frozen=True)
class NormalizedText:
    """What :func:`loa.speech.normalize.normalize` returns.

    ``text`` is the spoken form with canonical punctuation (",", ":", ";", ".", "?", "!" and one
    paragraph per line); ``segments`` splits it at that punctuation with the pause to leave after each
    part; ``unreadable`` is the "khó đọc" list for the editor.
    """

    text: str
    source: str
    unreadable: list[Unreadable] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.text
