"""The abbreviation dictionary (shipped TSV) and per-site overrides.

``abbreviations.tsv`` (next to this module) has four tab-separated columns: abbreviation, expansion,
domain, source.
Domains say where a reading applies:

- ``van-ban``  document types (Decree 30/2020/NĐ-CP, Appendix III) — preferred inside document codes;
- ``co-quan``  issuing bodies: ministries, the Government, People's Committees — preferred as issuers;
- every other domain (``hanh-chinh``, ``doan-the``, ``chuyen-mon``, ``dia-danh``, ``don-vi``, ``y-te``,
  ``giao-duc``, ``cong-nghe``, ...) is plain running text.

An abbreviation listed more than once in running-text domains is *ambiguous* (TT-VH-TT, BTC): the first
row is read by default and the spot is put on the "khó đọc" list until the site sets an override.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from loa.errors import InvalidInput

DOC_TYPE = "van-ban"
ISSUER = "co-quan"
_CONTEXT_DOMAINS = frozenset({DOC_TYPE, ISSUER})


@dataclass(frozen=True)
class Entry:
    abbreviation: str
    expansion: str
    domain: str
    source: str


@dataclass(frozen=True)
class Reading:
    """The chosen expansion and whether the choice was a guess among several."""

    expansion: str
    ambiguous: bool = False


class Abbreviations:
    """Lookup by exact spelling first, then by upper case ("Tp." → "TP.")."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries: tuple[Entry, ...] = tuple(entries)
        by_key: dict[str, list[Entry]] = {}
        for entry in self.entries:
            by_key.setdefault(entry.abbreviation, []).append(entry)
        self._by_key = by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def _find(self, key: str, *, exact: bool = False) -> list[Entry] | None:
        found = self._by_key.get(key)
        if found is None and not exact:
            upper = key.upper()
            if upper != key:
                found = self._by_key.get(upper)
        return found

    def lookup(self, key: str, prefer: str | None = None, *, exact: bool = False) -> Reading | None:
        """The reading of ``key``; ``prefer`` names a domain to try first (in document codes).

        ``exact`` skips the upper-case fallback: a capitalised word ("Ca") must not turn into an
        abbreviation ("CA").
        """
        found = self._find(key, exact=exact)
        if not found:
            return None
        if prefer is not None:
            for entry in found:
                if entry.domain == prefer:
                    return Reading(entry.expansion)
        plain = [e for e in found if e.domain not in _CONTEXT_DOMAINS]
        if not plain:
            return Reading(found[0].expansion)
        return Reading(plain[0].expansion, ambiguous=len({e.expansion for e in plain}) > 1)

    def expansions(self, key: str) -> list[str]:
        """Every listed reading of ``key`` (for the editor's hint on ambiguous abbreviations)."""
        return [e.expansion for e in self._find(key) or []]


def _parse_tsv(text: str, origin: str) -> list[Entry]:
    entries: list[Entry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or not all(f.strip() for f in fields):
            raise InvalidInput(
                f"Tệp từ viết tắt {origin}, dòng {number}: cần đúng 4 cột "
                "(viết tắt, cách đọc, lĩnh vực, nguồn) ngăn cách bằng dấu tab."
            )
        abbreviation, expansion, domain, source = (f.strip() for f in fields)
        entries.append(Entry(abbreviation, expansion, domain, source))
    return entries


@lru_cache(maxsize=4)
def load_abbreviations(path: Path | None = None) -> Abbreviations:
    """The shipped dictionary (cached), or one read from ``path`` in the same TSV format."""
    if path is None:
        text = resources.files("loa.speech.normalize").joinpath("abbreviations.tsv").read_text("utf-8")
        return Abbreviations(_parse_tsv(text, "abbreviations.tsv"))
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"Không đọc được tệp từ viết tắt {path}.") from err
    return Abbreviations(_parse_tsv(text, Path(path).name))


# --- Per-site overrides ------------------------------------------------------------------------------

_KEY = re.compile(r"[^\s=]+")
_DIGIT = re.compile(r"\d")


def parse_overrides(text: str) -> dict[str, str]:
    """Parse a site's override list: one ``VIẾT TẮT = cách đọc`` per line, ``#`` starts a comment.

    Raises :class:`InvalidInput` listing every bad line (``details`` holds ``{"line", "message"}``
    items) so an editor can fix them all at once.
    """
    result: dict[str, str] = {}
    errors: list[dict[str, object]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        problem: str | None = None
        if not sep:
            problem = "thiếu dấu “=” (đúng dạng: VIẾT TẮT = cách đọc)"
        elif not key:
            problem = "thiếu từ viết tắt trước dấu “=”"
        elif not _KEY.fullmatch(key):
            problem = f"từ viết tắt “{key}” không được chứa khoảng trắng"
        elif not value:
            problem = f"thiếu cách đọc cho “{key}”"
        elif _DIGIT.search(value):
            problem = f"cách đọc của “{key}” phải viết bằng chữ, không dùng chữ số"
        elif key in result and result[key] != value:
            problem = f"“{key}” đã được khai báo ở dòng trước với cách đọc khác"
        if problem:
            errors.append({"line": number, "message": problem})
        else:
            result[key] = " ".join(value.split())
    if errors:
        summary = "; ".join(f"dòng {e['line']}: {e['message']}" for e in errors[:5])
        more = f" (và {len(errors) - 5} lỗi khác)" if len(errors) > 5 else ""
        raise InvalidInput(f"Danh sách cách đọc riêng có lỗi — {summary}{more}.", details=errors)
    return result


def normalise_overrides(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Overrides keyed by exact spelling and by upper case, values whitespace-collapsed."""
    if not overrides:
        return {}
    result: dict[str, str] = {}
    for key, value in overrides.items():
        spoken = " ".join(str(value).split())
        result[key.strip()] = spoken
        result.setdefault(key.strip().upper(), spoken)
    return result
