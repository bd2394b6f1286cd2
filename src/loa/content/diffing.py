"""Readable word-level differences between two revisions, as escaped HTML with ``<ins>``/``<del>``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

_TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class FieldDiff:
    field: str
    label: str
    html: str
    changed: bool
    added_words: int
    removed_words: int


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff_html(old: str, new: str) -> tuple[str, int, int]:
    """Return (html, added word count, removed word count). Every piece of text is escaped."""
    a, b = _tokens(old), _tokens(new)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    out: list[str] = []
    added = removed = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old_part, new_part = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            out.append(escape(old_part))
            continue
        if op in ("delete", "replace"):
            removed += sum(1 for t in a[i1:i2] if not t.isspace())
            out.append(f"<del>{escape(old_part)}</del>")
        if op in ("insert", "replace"):
            added += sum(1 for t in b[j1:j2] if not t.isspace())
            out.append(f"<ins>{escape(new_part)}</ins>")
    return "".join(out).replace("\n", "<br>\n"), added, removed


def diff_fields(old: Mapping[str, str], new: Mapping[str, str], labels: Mapping[str, str]) -> list[FieldDiff]:
    """Diff each labelled field (in ``labels`` order); fields missing on one side count as empty."""
    diffs = []
    for key, label in labels.items():
        before, after = old.get(key, ""), new.get(key, "")
        html, added, removed = word_diff_html(before, after)
        diffs.append(FieldDiff(key, label, html, before != after, added, removed))
    return diffs
