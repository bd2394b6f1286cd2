"""Vietnamese letters: character classes, letter names, syllable shape, Unicode clean-up of the input."""

from __future__ import annotations

import re
import unicodedata

_BASE_VOWELS = "aăâeêioôơuưy"
_TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def _toned_vowels() -> str:
    return "".join(unicodedata.normalize("NFC", v + t) for v in _BASE_VOWELS for t in _TONE_MARKS)


LOWER = "bcdđfghjklmnpqrstvwxz" + _toned_vowels()
UPPER = LOWER.upper()
LETTER = LOWER + UPPER
# Character-class bodies for regexes (no brackets).
LOWER_CLASS = "a-z" + "".join(c for c in LOWER if not "a" <= c <= "z")
UPPER_CLASS = "A-Z" + "".join(c for c in UPPER if not "A" <= c <= "Z")
LETTER_CLASS = LOWER_CLASS + UPPER_CLASS

# Folding a syllable to ASCII keeps its shape (onset, vowels, coda) and drops tones and vowel marks.
_FOLD = str.maketrans(
    {c: unicodedata.normalize("NFD", c)[0] for c in LOWER if not "a" <= c <= "z"} | {"đ": "d"}
)
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?([aeiouy]{1,3})(ng|nh|ch|[cmnpt])?"
)
# The diphthongs iê, yê, uô, ươ only occur before a final consonant or glide ("tiên", not "tiê").
_CLOSED_ONLY = ("ie", "ye", "uo")


def is_syllable(word: str) -> bool:
    """True when ``word`` has the shape of one Vietnamese syllable ("HUYỆN", "tư"); "UBND" has not."""
    match = _SYLLABLE.fullmatch(word.lower().translate(_FOLD))
    return match is not None and (match.group(2) is not None or not match.group(1).endswith(_CLOSED_ONLY))


LETTER_NAMES: dict[str, str] = {
    "a": "a", "ă": "á", "â": "ớ", "b": "bê", "c": "xê", "d": "dê", "đ": "đê", "e": "e", "ê": "ê",
    "f": "ép", "g": "giê", "h": "hát", "i": "i", "j": "gi", "k": "ca", "l": "e lờ", "m": "em mờ",
    "n": "en nờ", "o": "o", "ô": "ô", "ơ": "ơ", "p": "pê", "q": "quy", "r": "e rờ", "s": "ét xì",
    "t": "tê", "u": "u", "ư": "ư", "v": "vê", "w": "vê kép", "x": "ích xì", "y": "i dài", "z": "dét",
}  # fmt: skip
CONSONANT_NAMES: dict[str, str] = {k: v for k, v in LETTER_NAMES.items() if k not in "aăâeêioôơuưy"}


def spell(text: str) -> str:
    """Spell letters and digits one by one ("ab1" → "a bê một"); other characters are skipped."""
    from loa.speech.normalize.numbers import DIGITS

    words: list[str] = []
    for ch in text.lower():
        if "0" <= ch <= "9":
            words.append(DIGITS[ord(ch) - 48])
        elif ch in LETTER_NAMES:
            words.append(LETTER_NAMES[ch])
    return " ".join(words)


# --- Unicode clean-up ---------------------------------------------------------------------------------

# Old-style tone placement ("hoà", "khoẻ", "thuỷ") moved to the first vowel ("hòa", "khỏe", "thủy"), the
# form most administrative texts use, so the same word always reaches the voice the same way. Only open
# syllables change: with a final consonant the tone already sits on the second vowel ("hoàng").
_OLD_TONE = re.compile(
    r"[oOuU](?:(?<=[oO])[àáảãạÀÁẢÃẠèéẻẽẹÈÉẺẼẸ]|(?<=[uU])(?<![qQ][uU])[ỳýỷỹỵỲÝỶỸỴ])(?![" + LETTER_CLASS + r"])"
)


def _move_tone(match: re.Match[str]) -> str:
    token = match.group()
    first, second = token[0], token[1]
    decomposed = unicodedata.normalize("NFD", second)
    return unicodedata.normalize("NFC", first + decomposed[1:]) + decomposed[0]


# A line break inside a sentence (text pasted from PDF/Word): the next line goes on in lower case.
_SOFT_WRAP = re.compile(r"\n(?=[ ]*[" + LOWER_CLASS + r"])")
_WRAPPABLE_END = re.compile(r"[" + LETTER_CLASS + r"0-9,] *\Z")
# Tabs and the many Unicode spaces become plain spaces (one for one, so offsets stay valid).
_ODD_SPACE = re.compile(r"[\t\v\f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def clean(text: str) -> str:
    """NFC, consistent tone placement, soft line breaks joined, odd spaces and CR/LF unified.

    Every step keeps the length of an NFC string, so offsets into the result are offsets into the
    NFC-normalised input.
    """
    text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", " \n").replace("\r", "\n")
    text = _ODD_SPACE.sub(" ", text)
    text = _OLD_TONE.sub(_move_tone, text)
    return _SOFT_WRAP.sub(_join_wrapped, text)


def _join_wrapped(match: re.Match[str]) -> str:
    start = match.start()
    before = match.string[max(0, start - 8) : start]
    return " " if _WRAPPABLE_END.search(before) else "\n"


# --- Scripts Loa cannot voice ------------------------------------------------------------------------

EMOJI_CLASS = "\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f\u200d"
FOREIGN_CLASS = (
    "\u0370-\u1dbf\u2e80-\ua4cf\ua960-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff"
)
_SCRIPT_NAMES = {
    "CJK": "chữ Hán", "HIRAGANA": "chữ Nhật", "KATAKANA": "chữ Nhật", "HANGUL": "chữ Hàn",
    "KHMER": "chữ Khmer", "THAI": "chữ Thái Lan", "LAO": "chữ Lào", "CYRILLIC": "chữ Kirin",
    "ARABIC": "chữ Ả Rập", "GREEK": "chữ Hy Lạp", "HEBREW": "chữ Do Thái", "MYANMAR": "chữ Miến Điện",
    "DEVANAGARI": "chữ Ấn Độ", "TIBETAN": "chữ Tây Tạng", "MONGOLIAN": "chữ Mông Cổ",
}  # fmt: skip


def script_name(token: str) -> str:
    """A Vietnamese name for the script of ``token`` ("chữ Hán"), or "chữ nước ngoài"."""
    first_word = unicodedata.name(token[0], "").split(" ", 1)[0]
    return _SCRIPT_NAMES.get(first_word, "chữ nước ngoài")
