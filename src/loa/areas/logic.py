"""Pure rules for administrative units: folding names for search, the table of unit kinds, and
validation of village lists (CSV). No database, no I/O. The path rules are ``loa.units.paths``
(re-exported here for the modules that still import them from areas)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from loa.errors import InvalidInput
from loa.units.models import UnitKind
from loa.units.paths import ancestor_paths as ancestor_paths  # for speech.overrides, until it imports units

# The two-tier local government took effect on 1 July 2025 (Resolution 202/2025/QH15 and the
# standing committee's resolutions on each province); district-level units ended the day before.
REFORM_EFFECTIVE_ON = date(2025, 7, 1)
DISTRICTS_VALID_TO = date(2025, 6, 30)

# ---------------------------------------------------------------------------------------------
# Folding: "Xã Ba Tơ" → "xa ba to", so that people can search with or without diacritics.

_APOSTROPHES = str.maketrans("", "", "'’‘ʼ`´")
_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lowercase, strip Vietnamese diacritics (đ → d), drop apostrophes, turn punctuation into spaces
    and collapse whitespace."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    lowered = stripped.replace("đ", "d").replace("Đ", "D").lower().translate(_APOSTROPHES)
    return _NON_WORD.sub(" ", lowered).strip()


# Old and new tone placement ("Thuỷ"/"Thủy", "Hoà"/"Hòa") both occur in official data.
_TONE_PLACEMENT = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}  # fmt: skip


def name_key(text: str) -> str:
    """A key that equates spellings of one name (tone placement, apostrophes, dashes, case) but,
    unlike :func:`fold`, keeps "Ba Tơ" and "Ba Tô" apart. Used to match data sets by name."""
    key = unicodedata.normalize("NFC", text).lower().translate(_APOSTROPHES)
    for old, new in _TONE_PLACEMENT.items():
        key = key.replace(old, new)
    return _NON_WORD.sub(" ", key).strip()


# ---------------------------------------------------------------------------------------------
# Kinds of unit: labels and structure as data.


@dataclass(frozen=True)
class UnitKindInfo:
    label: str  # Vietnamese, shown to people
    label_en: str
    level: int  # 1 = province tier, 2 = commune tier, 3 = below the commune
    parents: frozenset[UnitKind]  # kinds that may contain this kind; empty = top level
    historical: bool = False  # abolished kind, kept so that old data still rolls up


_COMMUNE_TIER = frozenset({UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE})
_PROVINCE_TIER = frozenset({UnitKind.PROVINCE, UnitKind.CITY})

UNIT_KINDS: dict[UnitKind, UnitKindInfo] = {
    UnitKind.PROVINCE: UnitKindInfo("Tỉnh", "Province", 1, frozenset()),
    UnitKind.CITY: UnitKindInfo("Thành phố", "Centrally-run city", 1, frozenset()),
    UnitKind.DISTRICT: UnitKindInfo("Quận/huyện (cũ)", "Former district", 2, _PROVINCE_TIER, True),
    UnitKind.COMMUNE: UnitKindInfo("Xã", "Commune", 2, _PROVINCE_TIER),
    UnitKind.WARD: UnitKindInfo("Phường", "Ward", 2, _PROVINCE_TIER),
    UnitKind.SPECIAL_ZONE: UnitKindInfo("Đặc khu", "Special zone", 2, _PROVINCE_TIER),
    UnitKind.VILLAGE: UnitKindInfo("Thôn", "Village", 3, _COMMUNE_TIER),
    UnitKind.RESIDENTIAL_GROUP: UnitKindInfo("Tổ dân phố", "Residential group", 3, _COMMUNE_TIER),
}

PROVINCE_KINDS = _PROVINCE_TIER
COMMUNE_KINDS = _COMMUNE_TIER
VILLAGE_KINDS = frozenset({UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP})


def kind_label(kind: UnitKind) -> str:
    return UNIT_KINDS[kind].label


def may_contain(parent: UnitKind, child: UnitKind) -> bool:
    return parent in UNIT_KINDS[child].parents


def display_name(kind: UnitKind, name: str) -> str:
    """Full name as written in documents: "Quảng Ngãi" → "Tỉnh Quảng Ngãi"; "Xã Ba Tơ" stays."""
    label = UNIT_KINDS[kind].label
    if UNIT_KINDS[kind].historical or fold(name).startswith(fold(label)):
        return name
    return f"{label} {name}"


# ---------------------------------------------------------------------------------------------
# Materialised paths ("/51/21484/" is xã Ba Tơ inside Quảng Ngãi) are in ``loa.units.paths``, below the
# accounts that scope people by them.


# ---------------------------------------------------------------------------------------------
# Villages and residential groups from a CSV file (columns: ten, loai, ma).


@dataclass(frozen=True)
class VillageType:
    kind: UnitKind
    label: str


# Local names for units below the commune differ by region (ấp in the south, bản in the north-west,
# buôn/plei in the Central Highlands, khóm/khu phố in towns).
VILLAGE_TYPES: dict[str, VillageType] = {
    "thon": VillageType(UnitKind.VILLAGE, "Thôn"),
    "ap": VillageType(UnitKind.VILLAGE, "Ấp"),
    "ban": VillageType(UnitKind.VILLAGE, "Bản"),
    "buon": VillageType(UnitKind.VILLAGE, "Buôn"),
    "lang": VillageType(UnitKind.VILLAGE, "Làng"),
    "xom": VillageType(UnitKind.VILLAGE, "Xóm"),
    "soc": VillageType(UnitKind.VILLAGE, "Sóc"),
    "plei": VillageType(UnitKind.VILLAGE, "Plei"),
    "to dan pho": VillageType(UnitKind.RESIDENTIAL_GROUP, "Tổ dân phố"),
    "tdp": VillageType(UnitKind.RESIDENTIAL_GROUP, "Tổ dân phố"),
    "khu pho": VillageType(UnitKind.RESIDENTIAL_GROUP, "Khu phố"),
    "khom": VillageType(UnitKind.RESIDENTIAL_GROUP, "Khóm"),
}
VILLAGE_TYPE_HINT = "thôn, ấp, bản, buôn, làng, xóm, sóc, plei, tổ dân phố, khu phố, khóm"

MAX_NAME_LENGTH = 200
MAX_CSV_ROWS = 5000
LOCAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")
_HEADER_ALIASES = {"ten": "ten", "name": "ten", "loai": "loai", "kind": "loai", "ma": "ma", "code": "ma"}


@dataclass(frozen=True)
class VillageRow:
    line: int  # line number in the file (header = 1), for messages
    name: str
    kind: UnitKind
    local_code: str  # "" = let the system number it


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.line, "field": self.field, "message": self.message}


def _leading_type(folded_name: str) -> VillageType | None:
    for key in sorted(VILLAGE_TYPES, key=len, reverse=True):
        if folded_name == key or folded_name.startswith(key + " "):
            return VILLAGE_TYPES[key]
    return None


def normalise_village(name: str, kind_text: str) -> tuple[str, UnitKind] | RowError:
    """Return (full name, kind), or an error (line 0: the caller knows the line). "Gò Da" with
    loai "thôn" becomes "Thôn Gò Da"; "Tổ dân phố 3" with no loai is recognised from its name."""
    clean = " ".join(name.split())
    if not clean:
        return RowError(0, "ten", "Thiếu tên thôn/tổ dân phố.")
    if len(clean) > MAX_NAME_LENGTH:
        return RowError(0, "ten", f"Tên dài quá {MAX_NAME_LENGTH} ký tự.")
    folded_kind = fold(kind_text)
    if folded_kind:
        vtype = VILLAGE_TYPES.get(folded_kind)
        if vtype is None:
            message = f"Loại «{kind_text.strip()}» không hợp lệ; dùng một trong: {VILLAGE_TYPE_HINT}."
            return RowError(0, "loai", message)
        if not fold(clean).startswith(fold(vtype.label) + " ") and _leading_type(fold(clean)) != vtype:
            clean = f"{vtype.label} {clean}"
        return clean, vtype.kind
    leading = _leading_type(fold(clean))
    if leading is None or fold(clean) == fold(leading.label):
        return RowError(0, "loai", f"Không rõ «{clean}» là thôn hay tổ dân phố: hãy điền cột «loai».")
    return clean, leading.kind


def validate_village_records(
    records: list[tuple[int, dict[str, str]]],
) -> tuple[list[VillageRow], list[RowError]]:
    """Validate (line number, fields) pairs with keys ten/loai/ma. Every row is checked, so that a
    person sees all problems at once."""
    rows: list[VillageRow] = []
    errors: list[RowError] = []
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for line, record in records:
        result = normalise_village(record.get("ten", ""), record.get("loai", ""))
        local_code = (record.get("ma") or "").strip()
        row_ok = True
        if isinstance(result, RowError):
            errors.append(RowError(line, result.field, result.message))
            row_ok = False
        else:
            key = fold(result[0])
            if key in seen_names:
                errors.append(RowError(line, "ten", f"Trùng tên với dòng {seen_names[key]}."))
                row_ok = False
            else:
                seen_names[key] = line
        if local_code:
            if not LOCAL_CODE.match(local_code):
                errors.append(
                    RowError(
                        line,
                        "ma",
                        f"Mã «{local_code}» không hợp lệ (tối đa 20 ký tự: chữ không dấu, số, - _).",
                    )
                )
                row_ok = False
            elif local_code.lower() in seen_codes:
                errors.append(RowError(line, "ma", f"Trùng mã với dòng {seen_codes[local_code.lower()]}."))
                row_ok = False
            else:
                seen_codes[local_code.lower()] = line
        if row_ok and not isinstance(result, RowError):
            rows.append(VillageRow(line, result[0], result[1], local_code))
    return rows, errors


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInput(
            "Tệp không phải mã UTF-8. Trong Excel, hãy lưu bằng «CSV UTF-8 (Comma delimited)».",
            code="csv_encoding",
        ) from err


def parse_village_csv(data: bytes) -> tuple[list[VillageRow], list[RowError]]:
    """Parse a village CSV (UTF-8, comma or semicolon separated, a header row with ``ten`` and
    optionally ``loai``/``ma``; Vietnamese headers with diacritics work too) into valid rows and
    per-row errors. Problems with the file as a whole raise :class:`InvalidInput`."""
    text = _decode(data)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InvalidInput("Tệp CSV trống.", code="csv_empty")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_HEADER_ALIASES.get(fold(cell), fold(cell)) for cell in next(reader)]
    if "ten" not in header:
        raise InvalidInput(
            "Dòng tiêu đề phải có cột «ten» (tên thôn/tổ dân phố); có thể thêm «loai» và «ma».",
            code="csv_header",
        )
    records: list[tuple[int, dict[str, str]]] = []
    for raw in reader:
        if any(cell.strip() for cell in raw):
            fields = {col: raw[i] if i < len(raw) else "" for i, col in enumerate(header)}
            records.append((reader.line_num, fields))
    if not records:
        raise InvalidInput("Tệp CSV không có dòng dữ liệu nào.", code="csv_empty")
    if len(records) > MAX_CSV_ROWS:
        raise InvalidInput(f"Tệp có quá nhiều dòng (tối đa {MAX_CSV_ROWS}).", code="csv_too_long")
    return validate_village_records(records)


def rows_invalid(errors: list[RowError]) -> InvalidInput:
    """The error for a file with bad rows: every row's problem, nothing written."""
    ordered = sorted(errors, key=lambda e: (e.line, e.field))
    return InvalidInput(
        f"Tệp có {len({e.line for e in errors})} dòng lỗi; chưa có dữ liệu nào được ghi.",
        code="csv_rows_invalid",
        details=[e.as_dict() for e in ordered],
    )


def read_village_csv(data: bytes) -> list[VillageRow]:
    """Like :func:`parse_village_csv`, but any bad row raises :class:`InvalidInput` listing them all."""
    rows, errors = parse_village_csv(data)
    if errors:
        raise rows_invalid(errors)
    return rows
