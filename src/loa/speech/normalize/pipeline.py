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
from loa.speech.normalize import codes, dates, fractions, measures, words
from loa.speech.normalize.abbreviations import Abbreviations, load_abbreviations, normalise_overrides
from loa.speech.normalize.context import Context
from loa.speech.normalize.letters import (
    EMOJI_CLASS,
    FOREIGN_CLASS,
    LETTER_CLASS,
    UPPER_CLASS,
    clean,
    script_name,
)
from loa.speech.normalize.model import DEFAULT_STYLE, NormalizedText, ReadingStyle, Segment
from loa.speech.normalize.numbers import cardinal
from loa.speech.normalize.units import (
    BOUNDARY,
    PER_PATTERN,
    PER_WORDS,
    UNIT_PATTERN,
    UNITS,
    is_amount_word,
    per_words,
)
from loa.vocab.numbers import number_text

MAX_CHARS = 5_000_000

Replacement = str | tuple[str, int] | None
Rule = Callable[[Context, str, int, int], Replacement]

_SYMBOLS = {
    "&": "và", "=": "bằng", "~": "khoảng", "≈": "xấp xỉ", ">": "lớn hơn", "<": "nhỏ hơn",
    "≥": "lớn hơn hoặc bằng", "≤": "nhỏ hơn hoặc bằng", "%": "phần trăm", "@": "a còng", "→": "đến",
    "$": "đô la", "€": "ơ rô", "₫": "đồng", "£": "bảng Anh", "¥": "yên", "°": "độ", "‰": "phần nghìn",
    "½": "một phần hai", "¼": "một phần tư", "¾": "ba phần tư",
    "×": "nhân", "±": "cộng trừ", "÷": "chia", "№": "số", "§": "mục",
}  # fmt: skip
_PUNCT_PATTERN = (
    r"\n\s*|[.…]{2,}|…|[-–—]+|[()\[\]{}]|/|[\"“”'‘’«»*•·▪►●◦■□✓+_|#]"
    "|[" + re.escape("".join(_SYMBOLS)) + "]"
)

_RULES: tuple[tuple[str, str, Rule], ...] = (
    ("phone_intl", codes.INTL_PHONE_PATTERN, codes.read_intl_phone),
    ("chainage", measures.CHAINAGE_PATTERN, measures.read_chainage),
    ("currency_first", measures.CURRENCY_FIRST_PATTERN, measures.read_currency_first),
    ("code", codes.CODE_PATTERN, codes.read_code),
    ("phone", codes.PHONE_PATTERN, codes.read_phone),
    ("sign", measures.SIGN_PATTERN, measures.read_sign),
    ("digit_groups", codes.DIGIT_GROUPS_PATTERN, codes.read_digit_groups),
    ("ip", codes.IP_PATTERN, codes.read_ip),
    ("fraction_unit", fractions.FRACTION_UNIT_PATTERN, fractions.read_fraction_unit),
    ("mixed_fraction", fractions.MIXED_FRACTION_PATTERN, fractions.read_mixed_fraction),
    ("date", dates.DATE_PATTERN, dates.read_date),
    ("month_year", dates.MONTH_YEAR_PATTERN, dates.read_month_year),
    ("time", dates.TIME_PATTERN, dates.read_time),
    ("duration", measures.DURATION_PATTERN, measures.read_duration),
    ("product", measures.PRODUCT_PATTERN, measures.read_product),
    ("unit_range", measures.UNIT_RANGE_PATTERN, measures.read_unit_range),
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
# Rules whose tokens start with a digit, and those that may also start with something else. A token
# start is tried only against the alternatives that can begin with its first character: the regex
# engine tries alternatives one by one, so this halves the attempts at every token.
_DIGIT_ONLY = frozenset(
    {
        "code", "digit_groups", "ip", "fraction_unit", "mixed_fraction", "date", "month_year", "time",
        "duration", "product", "unit_range", "range", "measure", "mixed", "number",
    }
)  # fmt: skip
_ALSO_DIGIT = frozenset({"phone"})


def _alternation(rules: tuple[tuple[str, str, Rule], ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern, _ in rules))


_MASTER_DIGIT = _alternation(tuple(r for r in _RULES if r[0] in _DIGIT_ONLY | _ALSO_DIGIT))
_MASTER_OTHER = _alternation(tuple(r for r in _RULES if r[0] not in _DIGIT_ONLY))
_DISPATCH: dict[str, Rule] = {name: rule for name, _, rule in _RULES}
# Every alternative of the master regex starts with one of these characters.
_TOKEN_START = re.compile(
    "[0-9$€₫£¥°‰×±÷№§"
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


_WITH_NOUNS = frozenset({"hộ", "người", "nhà", "căn", "con", "xã", "thôn", "trường", "lớp"})
_NUMBER_BEFORE = re.compile(r"(?<![\w.,])[\d.,]+\Z")
_UNIT_AFTER = re.compile(UNIT_PATTERN + BOUNDARY)
_DIGIT = re.compile(r"\d(?=[^.;!?\n]*\Z)")
_COUNT_PER = re.compile(r"(\d{1,3})\s?(h|giờ|ngày|tháng|năm|tuần)(?!\w)")
_WORD_BEFORE = re.compile(r"[^\W\d_]+\d?\Z")


def _slash(source: str, start: int, end: int) -> Replacement:
    """ "đồng/kg" → "đồng một ki lô gam", "người/tháng" → "người một tháng", "100/100" → "trên"."""
    after = _WORD_AFTER.match(source, end)
    if after is None or start == 0:
        return " "
    word = after.group()
    if source[start - 1].isdigit() and _NUMBER_BEFORE.search(source, max(0, start - 24), start):
        if word.isdigit():
            return "trên"
        unit = _UNIT_AFTER.match(source, end)
        if unit is not None:  # "100.000/mm3" → "trên mi li mét khối"
            return "trên " + UNITS[unit.group()], unit.end()
    before = _WORD_BEFORE.search(source, max(0, start - 24), start)
    if before is None:
        per_context = source[start - 1] in "%‰²³"
    else:
        chained = before.start() > 0 and source[before.start() - 1] == "/"
        counted_before = word in PER_WORDS and _DIGIT.search(source, max(0, start - 30), start) is not None
        per_context = chained or is_amount_word(before.group()) or counted_before
    if not per_context:
        return " "
    counted = _COUNT_PER.match(source, end)
    if counted is not None:  # "150mm/3h" → "trong ba giờ"
        unit_word = PER_WORDS.get(counted.group(2), counted.group(2))
        return f"trong {cardinal(int(counted.group(1)))} {unit_word}", counted.end()
    if word[0].isdigit():
        previous = before.group() if before is not None else ""
        if word.isdigit() and previous in UNITS:
            return "trên"  # "0 mg/100 ml"
        if word.isdigit() and previous in _WITH_NOUNS:
            return "với"  # "45 hộ/156 nhân khẩu"
        return ","  # "220V/50Hz"
    per = _PER.match(source, end)
    if per is not None:
        return per_words(per.group()), per.end()
    unit = _UNIT_AFTER.match(source, end)
    if unit is not None:  # "đồng/kWh", "đồng/USD"
        return "một " + UNITS[unit.group()], unit.end()
    return "một " + word, after.end()


def _fallback(ctx: Context, token: str, start: int) -> tuple[str, int]:
    """A rule declined its token (e.g. "1:500" is no clock time): read the leading number only."""
    leading = _LEADING_NUMBER.match(token)
    if leading is None:
        return token, start + len(token)
    end = start + leading.end()
    return measures.read_number(ctx, leading.group(), start, end), end


def _special_spans(text: str) -> list[tuple[int, int, str]]:
    """Tokens found by a search over the whole text rather than at a token start: web and e-mail
    addresses, lower-case Roman numerals after a trigger word. Sorted, without overlaps, and closed
    by an empty span at the end of the text."""
    found: list[tuple[int, int, str]] = []
    if any(gate in text for gate in codes.LINK_GATES):
        found += [(start, end, codes.read_link(text[start:end])) for start, end in codes.find_links(text)]
    found += words.find_lower_romans(text)
    found.sort()
    spans: list[tuple[int, int, str]] = []
    for span in found:
        if not spans or span[0] >= spans[-1][1]:
            spans.append(span)
    spans.append((len(text), len(text), ""))
    return spans


def _convert(ctx: Context) -> str:
    """Replace every token the master regex recognises; copy everything between them unchanged.

    A cheap character-class search finds where a token can start (a digit, a capital, punctuation, a
    symbol); only there is the master regex tried, anchored. Plain lower-case words are skipped at C
    speed, which keeps the pass linear and fast.
    """
    text = ctx.source
    pieces: list[str] = []
    append = pieces.append
    links = _special_spans(text)
    pos = 0
    find_start = _TOKEN_START.search
    match_digit, match_other = _MASTER_DIGIT.match, _MASTER_OTHER.match
    dispatch = _DISPATCH
    for link_start, link_end, link_spoken in links:
        scan = pos
        while scan < link_start:
            candidate = find_start(text, scan, link_start)
            if candidate is None:
                break
            start = candidate.start()
            match = (match_digit if "0" <= text[start] <= "9" else match_other)(text, start, link_start)
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
            append(" " + link_spoken + " ")
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


# What a voice can say: Vietnamese letters, spaces and the canonical marks. Anything else left in the
# spoken text (a digit, a currency or degree sign, a letter of another alphabet) must be on the
# "khó đọc" list, so nothing is dropped or mangled silently.
_RESIDUE = re.compile("[^" + LETTER_CLASS + r"\s,.;:!?]")


def _report_residue(ctx: Context, spoken: str) -> None:
    """The safety net: report every character no rule turned into words and no entry covers."""
    covered = "".join(item.token for item in ctx.unreadable if item.left_in_text)
    seen: set[str] = set()
    for match in _RESIDUE.finditer(spoken):
        char = match.group()
        if char in covered or char in seen:
            continue
        seen.add(char)
        at = ctx.source.find(char)
        start = at if at >= 0 else 0
        if char.isdigit():
            reason = "Chữ số chưa đọc được thành lời"
        elif char.isalpha():
            reason = f"Chữ cái “{char}” không có trong tiếng Việt, giọng đọc có thể đọc sai"
        else:
            reason = f"Ký hiệu “{char}” không đọc được"
        ctx.report(char, start, start + 1 if at >= 0 else 0, reason)


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
    if _RESIDUE.search(spoken):
        _report_residue(ctx, spoken)
    ctx.unreadable.sort(key=lambda item: item.start)
    return NormalizedText(text=spoken, source=source, unreadable=ctx.unreadable, segments=segments)
