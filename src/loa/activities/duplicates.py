"""Rows of an uploaded file that repeat a record already in the register, or an earlier row of the same
file: same area, same date (or same period, for a count entry), same kind and same title (the place of
a visual item, the route of a trip), compared without case, diacritics or extra spaces. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loa.activities.registers import RegisterSpec
from loa.vocab.text import fold

Identity = tuple[object, ...]


def identity(spec: RegisterSpec, area_id: int, values: Mapping[str, Any]) -> Identity:
    """What makes two records the same entry. ``values`` are typed values (a parsed row, or the
    columns of a stored record by field name)."""
    kind = values.get("kind")
    ends = values.get(spec.ends_field) if spec.ends_field else None
    title = values.get(spec.title_field) or ""
    return (
        area_id,
        values.get(spec.date_field),
        ends,
        str(kind) if kind is not None else "",
        fold(str(title)),
    )


@dataclass(frozen=True)
class Duplicate:
    row: int  # as a spreadsheet numbers it (the header is row 1)
    record_id: int | None = None  # the record already in the register it repeats
    same_as_row: int | None = None  # the earlier row of the file it repeats

    @property
    def reason(self) -> str:
        parts = []
        if self.record_id is not None:
            parts.append(f"trùng bản ghi số {self.record_id} đã có trong sổ")
        if self.same_as_row is not None:
            parts.append(f"trùng dòng {self.same_as_row} trong tệp")
        text = "; ".join(parts)
        return text[:1].upper() + text[1:]


def find_duplicates(
    rows: Sequence[tuple[int, Identity]], existing: Mapping[Identity, int]
) -> dict[int, Duplicate]:
    """Row number → why it is a duplicate. The first of several equal rows repeats nothing in the file
    (it is a duplicate only if the register already has it); each later one repeats the first."""
    first: dict[Identity, int] = {}
    found: dict[int, Duplicate] = {}
    for row, key in rows:
        record_id = existing.get(key)
        earlier = first.get(key)
        if record_id is not None or earlier is not None:
            found[row] = Duplicate(row, record_id, earlier)
        first.setdefault(key, row)
    return found
