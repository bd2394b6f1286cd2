"""Vietnamese text normalisation for speech: administrative and news text → the words a voice says.

    from loa.speech.normalize import normalize
    result = normalize("Kế hoạch 56/KH-UBND ngày 29/4/2020")
    result.text        # "Kế hoạch số năm mươi sáu, kế hoạch, ủy ban nhân dân ngày hai mươi chín ..."
    result.segments    # [Segment(text, pause_ms), ...] split at punctuation
    result.unreadable  # the "khó đọc" list: tokens left as written, with a Vietnamese reason

Pure functions, no I/O except reading the shipped abbreviation table once.
"""

from loa.speech.normalize.abbreviations import Abbreviations, load_abbreviations, parse_overrides
from loa.speech.normalize.model import NormalizedText, ReadingStyle, Segment, Unreadable
from loa.speech.normalize.numbers import cardinal
from loa.speech.normalize.pipeline import normalize

__all__ = [
    "Abbreviations",
    "NormalizedText",
    "ReadingStyle",
    "Segment",
    "Unreadable",
    "cardinal",
    "load_abbreviations",
    "normalize",
    "parse_overrides",
]
