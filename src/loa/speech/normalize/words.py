"""Words that start with a capital: abbreviations, Roman numerals in context, single letters, headings.

Order of decisions for a capitalised token:
1. a site override, then the dictionary (ambiguous entries are read by their first reading and put on
   the "khó đọc" list);
2. a Roman numeral after a trigger word ("chương II", "thế kỷ XXI", "khóa XIII", "quý IV") or as a
   heading number at the start of a line ("II. KẾT QUẢ"); a lone "I" elsewhere is left alone;
3. an all-caps Vietnamese syllable ("HUYỆN") is lower-cased so no voice spells it; a dictionary entry
   that is also a syllable ("CA", "TƯ") is read as a word inside an all-caps heading;
4. compounds ("QĐ-UBND", "TP.HCM", "TN&MT") part by part, a letter with digits ("F0", "B2") piece by piece;
5. anything else all-caps stays visible and goes on the "khó đọc" list — never spelled silently.
"""

from __future__ import annotations

import re

from loa.speech.normalize.context import Context
from loa.speech.normalize.letters import CONSONANT_NAMES, LETTER_NAMES, UPPER_CLASS, is_syllable
from loa.speech.normalize.numbers import cardinal, ordinal, roman_value

_UP = "[" + UPPER_CLASS + "]"
# Capitalised tokens worth a rule: a second capital or digit ("UBND", "TTg", "VietGAP", "H5N1"), a lone
# capital ("B", "P."), or a title-case dictionary key ("Tp."). Plain title-case words are not tokens,
# which keeps the pass fast on ordinary prose.
CAPS_PATTERN = (
    _UP
    + r"(?=["
    + UPPER_CLASS
    + r"0-9]|[^\W\d_]*["
    + UPPER_CLASS
    + r"])\w*(?:[&.\-]["
    + UPPER_CLASS
    + r"0-9]\w*)*"
    r"|" + _UP + r"(?![\w])|(?:Tp|Tr)(?![\w])"
)
ROMAN_YEAR_PATTERN = r"[IVX]+/\d{4}(?!\d)"
# The few lower-case abbreviations of administrative prose ("v.v.", "đ/c", "K/g").
LOWER_ABBR_PATTERN = r"(?<![\w.])(?:v\.v\.?|[đĐ]/[cv]|K/g)(?![\w/])"

ROMAN_TRIGGERS = frozenset(
    {
        "chương", "phần", "mục", "khoản", "khóa", "quý", "kỷ", "kỉ", "hội", "thứ", "lục", "tập", "đoạn",
        "đợt", "vòng", "loại", "nhóm", "vùng", "vực", "kỳ", "cấp", "hạng", "bậc", "tiết", "bài", "khu",
        "đội", "số",
    }
)  # fmt: skip
_UNKNOWN = "Từ viết tắt chưa có trong từ điển"
_MIXED = "Chữ và số lẫn lộn, không đọc được"
_JOINER = re.compile(r"([&.\-])")
_LETTER_DIGITS = re.compile(r"(" + _UP + r"{1,3})(\d+)")
_HEADING_AFTER = re.compile(r"[.)]\s")


def _is_caps_word(word: str) -> bool:
    return len(word) >= 2 and word.isalpha() and word.isupper() and is_syllable(word)


def _in_heading(ctx: Context, start: int, end: int) -> bool:
    """True when a neighbouring word is also an all-caps Vietnamese word (a title line)."""
    before = ctx.source[max(0, start - 24) : start].split()
    after = ctx.source[end : end + 24].split()
    neighbours = [before[-1] if before else "", after[0] if after else ""]
    return any(_is_caps_word(w.strip('.,:;()"“”')) for w in neighbours)


def _line_start(ctx: Context, start: int) -> bool:
    line_begin = ctx.source.rfind("\n", 0, start) + 1
    return not ctx.source[line_begin:start].strip(" \t-+•")


_ROMAN_LETTERS = frozenset("IVXL")
_UNSURE_ROMAN = frozenset("IVX")


def _roman(ctx: Context, token: str, start: int, end: int) -> str | None:
    # Only I, V, X, L: "nhóm C" or "loại D" are letters, not 100 or 500.
    if not _ROMAN_LETTERS.issuperset(token) or token == "L":
        return None
    value = roman_value(token)
    if value is None:
        return None
    previous = ctx.prev_word(start)
    if previous in ROMAN_TRIGGERS:
        if previous == "số" and value == 1:
            return None
        return ordinal(value, ctx.style) if previous == "thứ" else cardinal(value, ctx.style)
    if _line_start(ctx, start) and _HEADING_AFTER.match(ctx.source, end):
        return cardinal(value, ctx.style)
    return None


def _dictionary(ctx: Context, key: str, start: int, end: int, *, exact: bool = False) -> str | None:
    override = ctx.overrides.get(key) if exact else ctx.overrides.get(key) or ctx.overrides.get(key.upper())
    if override:
        return override
    reading = ctx.abbreviations.lookup(key, exact=exact)
    if reading is None:
        return None
    if reading.ambiguous:
        options = " / ".join(f"“{e}”" for e in ctx.abbreviations.expansions(key))
        ctx.report(
            key,
            start,
            end,
            f"Từ viết tắt nhiều nghĩa ({options}), đã đọc là “{reading.expansion}”; "
            "hãy khai báo cách đọc riêng cho đơn vị",
            left_in_text=False,
        )
    return reading.expansion


def _part(ctx: Context, part: str, start: int) -> str | None:
    """One piece of a compound; ``None`` (and a report) when it cannot be read."""
    end = start + len(part)
    if part.isdigit():
        return cardinal(int(part), ctx.style)
    spoken = _dictionary(ctx, part, start, end)
    if spoken is not None:
        return spoken
    if part.isalpha() and is_syllable(part):
        return part.lower()
    if len(part) == 1 and part.lower() in LETTER_NAMES:
        return LETTER_NAMES[part.lower()]
    mixed = _LETTER_DIGITS.fullmatch(part)
    if mixed:
        letters = _dictionary(ctx, mixed.group(1), start, end) or " ".join(
            LETTER_NAMES.get(c.lower(), c) for c in mixed.group(1)
        )
        return f"{letters} {cardinal(int(mixed.group(2)), ctx.style)}"
    return None


def _without_echo(ctx: Context, spoken: str, start: int) -> str:
    """Drop words the text has just said: "đường ĐT.623" → "đường tỉnh ...", "Trung tâm TTYT" → "... y tế"."""
    words = spoken.split(" ")
    if len(words) < 2:
        return spoken
    previous = ctx.prev_words(start, 2)
    for size in (2, 1):
        if len(words) > size and previous[-size:] == words[:size]:
            return " ".join(words[size:])
    return spoken


def read_caps(ctx: Context, token: str, start: int, end: int) -> tuple[str, int]:
    """Read a token that starts with a capital letter; returns the words and where the token ended."""
    source = ctx.source
    if end + 1 < len(source) and source[end] == ".":
        # "TP. Hồ Chí Minh", "P. Trần Phú", "Q.1": the dot belongs to the abbreviation.
        following = source[end + 1 : end + 3].lstrip(" ")
        if following and (following[0].isupper() or following[0].isdigit()):
            spoken = _dictionary(ctx, token + ".", start, end + 1, exact=True)
            if spoken is not None:
                return _without_echo(ctx, spoken, start), end + 1
    rest = token[1:]
    if rest and not (rest.isalpha() and rest.islower()):
        return _without_echo(ctx, _read_upper(ctx, token, start, end), start), end
    # A plain capitalised word or a single capital: only exact dictionary keys ("Tp", "TTg").
    spoken = _dictionary(ctx, token, start, end, exact=True)
    if spoken is not None:
        return spoken, end
    if rest:
        return token, end
    roman = _roman(ctx, token, start, end)
    if roman is not None:
        return roman, end
    if token.lower() not in CONSONANT_NAMES:
        return token, end  # "I", "Y" (y tế), "Ô" are words or left to the voice
    return CONSONANT_NAMES[token.lower()], end


def _read_upper(ctx: Context, token: str, start: int, end: int) -> str:
    if ctx.prev_word(start) in ROMAN_TRIGGERS or _line_start(ctx, start):
        roman = _roman(ctx, token, start, end)
        if roman is not None:
            return roman
    word_like = token.isalpha() and token.isupper() and is_syllable(token)
    if word_like and _in_heading(ctx, start, end):
        return token.lower()
    spoken = _dictionary(ctx, token, start, end)
    if spoken is not None:
        return spoken
    if len(token) >= 2 and _UNSURE_ROMAN.issuperset(token):
        value = roman_value(token)
        if value is not None:  # "RON 95-III", "Euro IV": most likely a Roman numeral, but say so
            spoken = cardinal(value, ctx.style)
            ctx.report(token, start, end, f"Đã đọc “{token}” là số La Mã “{spoken}”", left_in_text=False)
            return spoken
    if word_like:
        return token.lower()
    if token.isalpha() and not token.isupper():
        return token  # mixed case ("iPhone"-like brand names): leave to the voice
    pieces = _JOINER.split(token)
    if len(pieces) == 1:
        spoken = _part(ctx, token, start)
        if spoken is None:
            ctx.report(token, start, end, _UNKNOWN if token.isalpha() else _MIXED)
            return token
        return spoken
    return _compound(ctx, pieces, start)


def _digit_ends(pieces: list[str], index: int) -> bool:
    return (
        0 < index < len(pieces) - 1
        and pieces[index - 1][-1:].isdigit()
        and any(c.isdigit() for c in pieces[index + 1])
    )


def _compound(ctx: Context, pieces: list[str], start: int) -> str:
    words: list[str] = []
    at = start
    for index, piece in enumerate(pieces):
        dotted = index + 1 < len(pieces) and pieces[index + 1] == "."
        spoken_dotted = _dictionary(ctx, piece + ".", at, at + len(piece) + 1, exact=True) if dotted else None
        if spoken_dotted is not None:
            words.append(spoken_dotted)  # "Q.1" → "quận một", "TP.HCM" → "thành phố ..."
        elif piece == "-" and _digit_ends(pieces, index):
            words.append("đến")  # "BĐ2-BĐ3" → "báo động hai đến báo động ba"
        elif piece in ("-", "."):
            pass
        elif piece == "&":
            words.append("và")
        elif piece:
            spoken = _part(ctx, piece, at)
            if spoken is None:
                reason = _UNKNOWN if piece.isalpha() else _MIXED
                ctx.report(piece, at, at + len(piece), reason)
                spoken = piece
            words.append(spoken)
        at += len(piece)
    return " ".join(words)


# Lower-case Roman numerals are ordinary letters ("vi", "xi", "li" are words), so they are read only right
# after a trigger word ("chương iv", "thế kỉ xxi", "mục ii"). The trigger words are found with
# ``str.find`` (C speed; a regex alternation of words would scan the whole text position by position).
_LOWER_ROMAN_TRIGGERS = (
    "chương", "phần", "mục", "khoản", "khóa", "quý", "kỷ", "kỉ", "tập", "phụ lục", "giai đoạn", "đợt",
)  # fmt: skip
_TRIGGER_FORMS = tuple(
    dict.fromkeys(form for word in _LOWER_ROMAN_TRIGGERS for form in (word, word.capitalize(), word.upper()))
)
_NUMERAL_AFTER = re.compile(r"\s+([ivxl]+)(?![\w/])")


def find_lower_romans(text: str) -> list[tuple[int, int, str]]:
    """Spans of lower-case Roman numerals after a trigger word, with their reading."""
    found = []
    for trigger in _TRIGGER_FORMS:
        at = text.find(trigger)
        while at >= 0:
            end = at + len(trigger)
            if at == 0 or not text[at - 1].isalnum():
                match = _NUMERAL_AFTER.match(text, end)
                value = roman_value(match.group(1).upper()) if match else None
                if match is not None and value is not None:
                    found.append((match.start(1), match.end(1), cardinal(value)))
            at = text.find(trigger, end)
    return found


def read_roman_year(ctx: Context, token: str, start: int, end: int) -> str | None:
    """A Roman numeral with a year after quý, đợt, kỳ, giai đoạn: "quý I/2024" → "quý một năm ..."."""
    numeral, year = token.split("/")
    value = roman_value(numeral)
    if value is None or ctx.prev_word(start) not in ("quý", "đợt", "kỳ", "đoạn", "khóa"):
        return None
    return f"{cardinal(value, ctx.style)} năm {cardinal(int(year), ctx.style)}"


def read_lower_abbr(ctx: Context, token: str, start: int, end: int) -> str:
    reading = ctx.abbreviations.lookup(token, exact=True)
    return reading.expansion if reading is not None else token
