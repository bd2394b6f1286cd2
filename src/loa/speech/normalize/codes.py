"""Document codes, phone numbers, e-mail and web addresses.

- 56/KH-UBND → "số năm mươi sáu, kế hoạch, ủy ban nhân dân"; 30/2020/NĐ-CP → "số ba mươi, năm hai
  nghìn không trăm hai mươi, nghị định, chính phủ"; party codes 57-NQ/TW likewise. "số" is not repeated
  after "số". The first part is looked up as a document type, the others as issuing bodies.
- phone numbers digit by digit in their written groups, a comma between groups ("không chín một hai,
  ba bốn năm, sáu bảy tám"); 1900/1800 hotlines likewise.
- e-mail and web addresses: "a còng", "chấm", "gạch ngang", known domain words, Vietnamese words written
  without marks kept as syllables ("quangngai" → "quang ngai"), anything else spelled.
"""

from __future__ import annotations

import re

from loa.speech.normalize.abbreviations import DOC_TYPE, ISSUER
from loa.speech.normalize.context import Context
from loa.speech.normalize.letters import LETTER_NAMES, UPPER_CLASS, is_syllable, spell
from loa.speech.normalize.numbers import cardinal, digits, integer

_UP = "[" + UPPER_CLASS + "]"
_PART = _UP + r"[\w&]*"
CODE_PATTERN = (
    r"\d+(?:/\d{4})?/" + _PART + r"(?:-" + _PART + r")*(?![\w/])"
    r"|\d+-" + _PART + r"(?:-" + _PART + r")*/" + _PART + r"(?:-" + _PART + r")*(?![\w/])"
)
PHONE_PATTERN = (
    r"\+84[\s.]?\d{2,3}(?:[\s.-]?\d{3,4}){2}(?!\d|[.,]\d)"
    r"|\(0\d{2,3}\)\s?\d{3,4}[\s.-]?\d{3,4}(?!\d|[.,]\d)"
    r"|0\d{2,3}(?:[\s.-]?\d{3,4}){2}(?!\d|[.,]\d)"
    r"|\(?0\d{3}\)?[\s.]\d(?:[\s.]\d{3}){2}(?!\d|[.,]\d)"
    r"|1[89]00(?:[\s.]?\d{2,4}){1,2}(?!\d|[.,]\d)"
)

# Other countries: "+1 202 555 0100", "+44 20 7946 0958"; the country code is read digit by digit too.
INTL_PHONE_PATTERN = r"(?<![\w+])\+(?!84)\d{1,3}(?:[\s.-]\(?\d{1,4}\)?){2,5}(?!\d|[.,]\d)"
# IPv4 addresses; at least one group after the first has one or two digits, so "1.250.000.000" stays
# an amount (all later groups of three digits are thousands).
# Dotted numbers that are no amounts: IPv4 addresses ("192.168.1.10:1883") and versions ("2.1.9"). At
# least one group after the first has one or two digits, so "1.250.000.000" stays an amount.
IP_PATTERN = r"\d{1,3}(?=(?:\.\d{1,3}){0,3}\.\d{1,2}(?!\d))(?:\.\d{1,3}){2,3}(?::\d{1,5})?(?!\d|[.,:]\d)"

# Account numbers and the like written in space-separated groups: "4300 205 123 456".
DIGIT_GROUPS_PATTERN = r"\d{3,4}(?: \d{3,4}){2,}(?!\d|[.,]\d)"

_CODE_PIECES = re.compile(r"(\d+)(?:/(\d{4}))?[/-](.+)")
_PART_RUN = re.compile(r"[^-/]+")
_SESSION = re.compile(r"(" + _UP + r"+)(\d+)")
_SESSION_WORD = {"QH": "quốc hội khóa"}


def read_code(ctx: Context, token: str, start: int, end: int) -> str:
    match = _CODE_PIECES.fullmatch(token)
    if match is None:  # pragma: no cover - guarded by the master pattern
        return token
    number, year, rest = match.groups()
    words = [cardinal(int(number), ctx.style)]
    if ctx.prev_word(start) != "số":
        words[0] = "số " + words[0]
    if year:
        words.append("năm " + cardinal(int(year), ctx.style))
    offset = start + match.start(3)
    for index, part in enumerate(_PART_RUN.finditer(rest)):
        prefer = DOC_TYPE if index == 0 else ISSUER
        words.append(_code_part(ctx, part.group(), offset + part.start(), prefer))
    return ", ".join(w for w in words if w)


def _code_part(ctx: Context, part: str, start: int, prefer: str) -> str:
    override = ctx.overrides.get(part) or ctx.overrides.get(part.upper())
    if override:
        return override
    reading = ctx.abbreviations.lookup(part, prefer)
    if reading is not None:
        return reading.expansion
    session = _SESSION.fullmatch(part)
    if session and session.group(1) in _SESSION_WORD:
        return f"{_SESSION_WORD[session.group(1)]} {cardinal(int(session.group(2)), ctx.style)}"
    if "&" in part:
        pieces = [ctx.abbreviations.lookup(p, prefer) for p in part.split("&")]
        if all(pieces):
            return " và ".join(p.expansion for p in pieces if p)
    ctx.report(part, start, start + len(part), "Từ viết tắt chưa có trong từ điển")
    return part


# --- Phone numbers -----------------------------------------------------------------------------------

_GROUPS = re.compile(r"\d+")
PHONE_CONTEXT = frozenset(
    {"gọi", "thoại", "đt", "sđt", "hotline", "nóng", "đài", "fax", "máy", "zalo", "nhắn"}
)
EMERGENCY = frozenset({"111", "112", "113", "114", "115"})


def read_intl_phone(ctx: Context, token: str, start: int, end: int) -> str:
    groups = _GROUPS.findall(token)
    return "cộng " + ", ".join(digits(g) for g in groups)


def read_ip(ctx: Context, token: str, start: int, end: int) -> str:
    """ "192.168.1.10" → "một trăm chín mươi hai chấm một trăm sáu mươi tám chấm một chấm mười"."""
    address, colon, port = token.partition(":")  # a version ("2.1.9") reads the same way
    spoken = " chấm ".join(cardinal(int(part), ctx.style) for part in address.split("."))
    return f"{spoken} cổng {cardinal(int(port), ctx.style)}" if colon else spoken


def read_digit_groups(ctx: Context, token: str, start: int, end: int) -> str:
    return ", ".join(digits(group) for group in token.split())


def _default_groups(number: str) -> list[str]:
    sizes = {5: (2, 3), 6: (3, 3), 7: (3, 4), 8: (4, 4), 10: (4, 3, 3), 11: (4, 4, 3)}.get(len(number))
    if sizes is None:
        return [number]
    groups, at = [], 0
    for size in sizes:
        groups.append(number[at : at + size])
        at += size
    return groups


def read_phone(ctx: Context, token: str, start: int, end: int) -> str | None:
    """Digit by digit; ``None`` when the digit count is no Vietnamese phone number."""
    prefix = "cộng tám bốn, " if token.startswith("+84") else ""
    body = token[3:] if prefix else token
    groups = _GROUPS.findall(body)
    total = sum(len(g) for g in groups)
    if prefix:
        if not 8 <= total <= 10:
            return None
    elif body.lstrip("(").startswith("0"):
        if total not in (10, 11):
            return None
    elif total not in (8, 10):
        return None
    groups = [part for group in groups for part in (_default_groups(group) if len(group) > 4 else [group])]
    return prefix + ", ".join(digits(g) for g in groups)


def is_phone_context(ctx: Context, start: int) -> bool:
    return any(word in PHONE_CONTEXT for word in ctx.prev_words(start, 3))


# --- E-mail and web addresses ------------------------------------------------------------------------

LINK_GATES = ("@", "://", "www.", ".vn", ".com", ".net", ".org")
# Cheap hints (literal prefixes, so the scan is fast); the full pattern then runs on one token only.
_LINK_HINT = re.compile(r"@|://|www\.|\.(?:vn|com|net|org|gov|edu|info|io)(?!\w)")
LINK_PATTERN = re.compile(
    r"(?:https?://|www\.)[^\s<>\"“”]+[^\s<>\"“”.,;:!?)\]]"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w@.])[\w-]+(?:\.[\w-]+)*\.(?:vn|com|net|org|gov|edu|info|io)(?![\w])(?:/[^\s<>\"“”]*[^\s<>\"“”.,;:!?)\]])?"
)


def find_links(text: str) -> list[tuple[int, int]]:
    """Spans of e-mail and web addresses in ``text``, in order, not overlapping."""
    spans: list[tuple[int, int]] = []
    covered = 0
    for hint in _LINK_HINT.finditer(text):
        at = hint.start()
        if at < covered:
            continue
        left = max(covered, text.rfind(" ", covered, at) + 1, text.rfind("\n", covered, at) + 1)
        right_space, right_break = text.find(" ", at), text.find("\n", at)
        right = min(p for p in (right_space, right_break, len(text)) if p >= 0)
        for found in LINK_PATTERN.finditer(text, left, right):
            if found.start() <= at < found.end() or found.start() >= at:
                spans.append(found.span())
                covered = found.end()
                break
        else:
            covered = right
    return spans


DOMAIN_WORDS: dict[str, str] = {
    "gmail": "gờ meo", "yahoo": "da hu", "outlook": "ao lúc", "hotmail": "hót meo", "google": "gu gồ",
    "facebook": "phây búc", "youtube": "diu túp", "zalo": "da lô", "com": "com", "net": "nét",
    "org": "o rờ gờ", "gov": "gờ o vê", "edu": "e đu", "vn": "vi en", "info": "in phô", "io": "i o",
    "www": "vê kép vê kép vê kép", "html": "hát tê em eo", "php": "pê hát pê", "pdf": "pê đê ép",
    "mail": "meo", "home": "hôm", "email": "i meo", "online": "on lai", "portal": "po tần", "web": "web",
}  # fmt: skip
_SYMBOL_WORDS = {
    ".": "chấm",
    "@": "a còng",
    "-": "gạch ngang",
    "_": "gạch dưới",
    "/": "gạch chéo",
    "+": "cộng",
    ":": "hai chấm",
    "?": "hỏi chấm",
    "=": "bằng",
    "&": "và",
    "#": "thăng",
    "%": "phần trăm",
}
_LINK_PIECES = re.compile(r"[a-zA-Z]+|\d+|[^\w\s]|_")
_ALPHA = re.compile(r"[a-z]+")
_VOWELS = "aeiouy"


def _syllables(word: str) -> list[str]:
    """Split letters written without marks or spaces: "dichvucong" → dich vu cong, "ubndbato" → u b n d ba to.

    Cheapest path through the word where a syllable costs 1 and a spelled letter 2.5; onsets are
    preferred over codas ("ba|to", not "bat|o"), as Vietnamese syllabifies.
    """
    n = len(word)
    best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    for i in range(n):
        current = best[i]
        if current is None:
            continue
        for j in range(i + 1, min(n, i + 7) + 1):
            chunk = word[i:j]
            if is_syllable(chunk):
                cost = 1 + (0.5 if chunk[0] in _VOWELS else 0) + (0.1 if chunk[-1] not in _VOWELS else 0)
                piece = chunk
            elif j == i + 1:
                cost, piece = 2.5, LETTER_NAMES.get(chunk, chunk)
            else:
                continue
            total = current[0] + cost
            known = best[j]
            if known is None or total < known[0]:
                best[j] = (total, [*current[1], piece])
    final = best[n]
    return final[1] if final is not None else [spell(word)]


def _link_word(word: str) -> str:
    lower = word.lower()
    if lower in DOMAIN_WORDS:
        return DOMAIN_WORDS[lower]
    if lower.isdigit():
        return integer(lower) if len(lower) <= 2 else digits(lower)
    if _ALPHA.fullmatch(lower) and len(lower) <= 40:
        return " ".join(_syllables(lower))
    return spell(lower)


def read_link(token: str) -> str:
    """Read an e-mail or web address; the scheme ("https://") is not read."""
    body = re.sub(r"^https?://", "", token)
    words = []
    for piece in _LINK_PIECES.findall(body):
        words.append(_SYMBOL_WORDS.get(piece) or _link_word(piece))
    return " ".join(w for w in words if w)
