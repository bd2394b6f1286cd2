"""One pass over the text: a master regex finds every token that needs a rule; plain words pass through.

The alternatives are tried in order at each position, so the more specific shapes come first (a
document code before a date, a date before a range, a range before a plain number). Every rule sees the
source around its token through :class:`Context` (the word before "15" decides "thứ", "tháng", a phone
number) and returns the spoken words; punctuation becomes canonical marks that :func:`_finish` turns
into segments with pauses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from loa.errors import InvalidInput
from loa.speech.normalize import codes, dates, measures, words
from loa.speech.normalize.abbreviations import Abbreviations, load_abbreviations, normalise_overrides
from loa.speech.normalize.context import Context
from loa.speech.normalize.letters import EMOJI_CLASS, FOREIGN_CLASS, UPPER_CLASS, clean, script_name
from loa.speech.normalize.model import DEFAULT_STYLE, NormalizedText, ReadingStyle, Segment
from loa.speech.normalize.units import PER_PATTERN, is_amount_word, per_words
from loa.vocab.numbers import number_text

MAX_CHARS = 5_000_000

Replacement = str | tuple[str, int] | None
Rule = Callable[[Context, str, int, int], Replacement]

_SYMBOLS = {
    "&": "và", "=": "bằng", "~": "khoảng", "≈": "xấp xỉ", ">": "lớn hơn", "<": "nhỏ hơn",
    "≥": "lớn hơn hoặc bằng", "≤": "nhỏ hơn hoặc bằng", "%": "phần trăm", "@": "a còng", "→": "đến",
}  # fmt: skip
_PUNCT_PATTERN = (
    r"\n\s*|[.…]{2,}|…|[-–—]+|[()\[\]{}]|/|[\"“”'‘’«»*•·▪►●◦■□✓+_|#]"
    "|[" + re.escape("".join(_SYMBOLS)) + "]"
)

_RULES: tuple[tuple[str, str, Rule], ...] = (
    ("negative", measures.NEGATIVE_PATTERN, measures.read_negative),
    ("currency_first", measures.CURRENCY_FIRST_PATTERN, measures.read_currency_first),
    ("code", codes.CODE_PATTERN, codes.read_code),
    ("phone", codes.PHONE_PATTERN, codes.read_phone),
    ("digit_groups", codes.DIGIT_GROUPS_PATTERN, codes.read_digit_groups),
    ("date", dates.DATE_PATTERN, dates.read_date),
    ("month_year", dates.MONTH_YEAR_PATTERN, dates.read_month_year),
    ("time", dates.TIME_PATTERN, dates.read_time),
    ("product", measures.PRODUCT_PATTERN, measures.read_product),
    ("range", measures.RANGE_PATTERN, measures.read_range),
    ("measure", measures.MEASURE_PATTERN, measures.read_measure),
    ("mixed", measures.MIXED_PATTERN, measures.read_mixed),
    ("number", measures.NUMBER_PATTERN, measures.read_number),
    ("roman_year", words.ROMAN_YEAR_PATTERN, words.read_roman_year),
    ("lower_abbr", words.LOWER_ABBR_PATTERN, words.read_lower_abbr),
    ("caps", words.CAPS_PATTERN, words.read_caps),
    ("foreign", "[" + FOREIGN_CLASS + "]+", lambda ctx, token, start, end: _foreign(ctx, token, start, end)),
    ("emoji", "[" + EMOJI_CLASS + "]+", lambda ctx, token, start, end: _emoji(ctx, token, start, end)),
    ("punct", _PUNCT_PATTERN, lambda ctx, token, start, end: _punct(ctx, token, start, end)),
)
_MASTER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern, _ in _RULES))
_DISPATCH: dict[str, Rule] = {name: rule for name, _, rule in _RULES}
# Every alternative of the master regex starts with one of these characters.
_TOKEN_START = re.compile(
    "[0-9$€"
    + UPPER_CLASS
    + FOREIGN_CLASS
    + EMOJI_CLASS
    + "vđ"
    + re.escape("".join(_SYMBOLS))
    + "\n"
    + re.escape(".…-–—−()[]{}/\"“”'‘’«»*•·▪►●◦■□✓+_|#")
    + "]"
)
_LEADING_NUMBER = re.compile(measures.NUM)
_SPACE_OR_BREAK = frozenset(" \n")
# Replacements that need no padding: marks are re-spaced by _finish, a bare space separates words.
_BARE = frozenset({" ", "", ",", ".", ";", ":", "!", "?", "\n"})
_PER = re.compile(PER_PATTERN)
_WORD_AFTER = re.compile(r"\w+")


def _foreign(ctx: Context, token: str, start: int, end: int) -> str:
    ctx.report(token, start, end, f"Chữ viết không đọc được bằng giọng tiếng Việt ({script_name(token)})")
    return token


def _emoji(ctx: Context, token: str, start: int, end: int) -> str:
    ctx.report(token, start, end, "Biểu tượng cảm xúc (emoji) không đọc được")
    return token


def _line_start(source: str, start: int) -> bool:
    line_begin = source.rfind("\n", 0, start) + 1
    return not source[line_begin:start].strip()


def _punct(ctx: Context, token: str, start: int, end: int) -> Replacement:
    source = ctx.source
    first = token[0]
    if first == "\n":
        return "\n"
    if first in ".…":
        return "." if token in (".", "..") else " "
    if first in "!?,;:":
        return first
    if first in "-–—":
        if _line_start(source, start):
            return " "
        spaced = (start > 0 and source[start - 1] in " \t") or (end < len(source) and source[end] in " \t")
        return "," if spaced else " "
    if first in "()[]{}|":
        return ","
    if first == "/":
        return _slash(source, start, end)
    return _SYMBOLS.get(first, " ")


_WORD_BEFORE = re.compile(r"[^\W\d_]+\d?\Z")


def _slash(source: str, start: int, end: int) -> Replacement:
    """ "đồng/kg" → "đồng một ki lô gam", "người/tháng" → "người một tháng", "100/100" → "trên"."""
    after = _WORD_AFTER.match(source, end)
    if after is None or start == 0:
        return " "
    if source[start - 1].isdigit() and after.group().isdigit():
        return "trên"
    before = _WORD_BEFORE.search(source, max(0, start - 24), start)
    if before is None:
        per_context = source[start - 1] in "%‰²³"
    else:
        chained = before.start() > 0 and source[before.start() - 1] == "/"
        per_context = chained or is_amount_word(before.group())
    if per_context:
        per = _PER.match(source, end)
        if per is not None:
            return per_words(per.group()), per.end()
        if not after.group().isdigit():
            return "một " + after.group(), after.end()
    return " "


def _fallback(ctx: Context, token: str, start: int) -> tuple[str, int]:
    """A rule declined its token (e.g. "1:500" is no clock time): read the leading number only."""
    leading = _LEADING_NUMBER.match(token)
    if leading is None:
        return token, start + len(token)
    end = start + leading.end()
    return measures.read_number(ctx, leading.group(), start, end), end


def _convert(ctx: Context) -> str:
    """Replace every token the master regex recognises; copy everything between them unchanged.

    A cheap character-class search finds where a token can start (a digit, a capital, punctuation, a
    symbol); only there is the master regex tried, anchored. Plain lower-case words are skipped at C
    speed, which keeps the pass linear and fast.
    """
    text = ctx.source
    pieces: list[str] = []
    append = pieces.append
    links = codes.find_links(text) if any(gate in text for gate in codes.LINK_GATES) else []
    links.append((len(text), len(text)))
    pos = 0
    find_start = _TOKEN_START.search
    match_at = _MASTER.match
    dispatch = _DISPATCH
    for link_start, link_end in links:
        scan = pos
        while scan < link_start:
            candidate = find_start(text, scan, link_start)
            if candidate is None:
                break
            start = candidate.start()
            match = match_at(text, start, link_start)
            if match is None:
                scan = start + 1
                continue
            end = match.end()
            if start > pos:
                append(text[pos:start])
            token = match.group()
            result = dispatch[match.lastgroup or "punct"](ctx, token, start, end)
            if result is None:
                result = _fallback(ctx, token, start)
            if isinstance(result, tuple):
                spoken, end = result
            else:
                spoken = result
            # Pad with a space only where the source has none, so the output needs little clean-up.
            space_before = start == 0 or text[start - 1] in _SPACE_OR_BREAK
            space_after = end >= len(text) or text[end] in _SPACE_OR_BREAK
            if spoken in _BARE:
                if spoken == " " and (space_before or space_after):
                    spoken = ""
            else:
                if not space_before:
                    spoken = " " + spoken
                if not space_after:
                    spoken += " "
            append(spoken)
            pos = scan = end
        if pos < link_start:
            append(text[pos:link_start])
        if link_end > link_start:
            append(" " + codes.read_link(text[link_start:link_end]) + " ")
        pos = max(pos, link_end)
    return "".join(pieces)


# --- Punctuation → segments --------------------------------------------------------------------------

PAUSE_MS = {",": 250, ":": 300, ";": 500, ".": 500, "?": 500, "!": 500}
PARAGRAPH_PAUSE_MS = 800
_STRENGTH = {",": 1, ":": 2, ";": 3, ".": 4, "!": 5, "?": 6}
_MARKS = re.compile(r"([,;:.!?][ ,;:.!?]*)")
_MULTI_SPACE = re.compile(r"  +")


def _strongest(marks: str) -> str:
    marks = marks.replace(" ", "")
    if len(marks) == 1:
        return marks
    return max(marks, key=_STRENGTH.__getitem__)


def _finish(spoken: str) -> tuple[str, list[Segment]]:
    """Split at canonical marks: the text with one mark per segment, and (segment, pause) pairs."""
    lines: list[str] = []
    segments: list[Segment] = []
    for line in spoken.split("\n"):
        if "  " in line:
            line = _MULTI_SPACE.sub(" ", line)
        parts = _MARKS.split(line)
        line_segments: list[tuple[str, str]] = []
        for index in range(0, len(parts) - 1, 2):
            chunk = parts[index].strip()
            mark = _strongest(parts[index + 1])
            if chunk:
                line_segments.append((chunk, mark))
            elif line_segments and _STRENGTH[mark] > _STRENGTH.get(line_segments[-1][1], 0):
                line_segments[-1] = (line_segments[-1][0], mark)
        tail = parts[-1].strip()
        if tail:
            line_segments.append((tail, "."))
        elif not line_segments:
            continue
        elif line_segments[-1][1] in (",", ":"):
            line_segments[-1] = (line_segments[-1][0], ".")
        lines.append(" ".join(chunk + mark for chunk, mark in line_segments))
        segments.extend(Segment(chunk, PAUSE_MS[mark]) for chunk, mark in line_segments)
        segments[-1] = Segment(segments[-1].text, PARAGRAPH_PAUSE_MS)
    if segments:
        segments[-1] = Segment(segments[-1].text, 0)
    return "\n".join(lines), segments


def normalize(
    text: str,
    *,
    overrides: Mapping[str, str] | None = None,
    style: ReadingStyle | None = None,
    abbreviations: Abbreviations | None = None,
) -> NormalizedText:
    """Turn Vietnamese administrative/news text into the words a voice should say.

    Empty or blank text gives an empty result (``text == ""``, no segments) — nothing to say is not an
    error; a caller that needs words checks :attr:`NormalizedText.is_empty`. Non-string input and text
    longer than ``MAX_CHARS`` raise :class:`~loa.errors.InvalidInput`.
    """
    if not isinstance(text, str):
        raise InvalidInput("Nội dung cần đọc phải là văn bản.")
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"Văn bản quá dài để đọc (tối đa {number_text(MAX_CHARS)} ký tự).")
    source = clean(text)
    if not source.strip():
        return NormalizedText(text="", source=source)
    ctx = Context(
        source=source,
        style=style or DEFAULT_STYLE,
        abbreviations=abbreviations or load_abbreviations(),
        overrides=normalise_overrides(overrides),
    )
    spoken, segments = _finish(_convert(ctx))
    ctx.unreadable.sort(key=lambda item: item.start)
    return NormalizedText(text=spoken, source=source, unreadable=ctx.unreadable, segments=segments)
