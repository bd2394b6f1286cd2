"""Read official unit lists from installed packages (offline; nothing is downloaded).

- Current units (34 provinces, 3,321 communes/wards/special zones with official codes): PyPI
  ``vietnam-provinces`` (data from the General Statistics Office list, see its ``__data_version__``).
- Former districts and which old communes became which new ones: PyPI ``vietnamadminunits`` (MIT,
  Tran Ngoc Minh Hieu), files ``data/dataset.db`` (official pre-2025 codes of provinces, districts
  and communes) and ``data/converter_2025.json`` (old commune → new commune). That data set keys new
  communes by name and a few of its new-commune codes differ from the official list, so new communes
  are matched to ``vietnam-provinces`` by province code and name (:func:`loa.areas.logic.name_key`).

The package's modules are not imported (they pull in geocoding libraries); only its data files are read.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from loa.areas.logic import name_key
from loa.errors import LoaError
from loa.units.models import UnitKind

HISTORY_PACKAGE = "vietnamadminunits"


@dataclass(frozen=True)
class SourceUnit:
    code: str
    name: str
    kind: UnitKind
    parent_code: str | None


def province_code(code: int) -> str:
    return f"{code:02d}"


def commune_code(code: int) -> str:
    return f"{code:05d}"


def current_units() -> tuple[list[SourceUnit], str]:
    """All current units, provinces first, and the data version of the package."""
    import vietnam_provinces as vp

    kinds = {
        vp.VietNamDivisionType.TINH: UnitKind.PROVINCE,
        vp.VietNamDivisionType.THANH_PHO_TRUNG_UONG: UnitKind.CITY,
        vp.VietNamDivisionType.XA: UnitKind.COMMUNE,
        vp.VietNamDivisionType.PHUONG: UnitKind.WARD,
        vp.VietNamDivisionType.DAC_KHU: UnitKind.SPECIAL_ZONE,
    }
    units = [
        SourceUnit(province_code(int(p.code)), p.name, kinds[p.division_type], None)
        for p in sorted(vp.Province.iter_all(), key=lambda p: int(p.code))
    ]
    units += [
        SourceUnit(
            commune_code(int(w.code)), w.name, kinds[w.division_type], province_code(int(w.province_code))
        )
        for w in sorted(vp.Ward.iter_all(), key=lambda w: int(w.code))
    ]
    return units, f"vietnam-provinces {vp.__version__} (dữ liệu {vp.__data_version__})"


@dataclass(frozen=True)
class FormerDistrict:
    code: str  # official pre-2025 district code, e.g. "535" (huyện Ba Tơ)
    name: str  # "Huyện Ba Tơ"
    former_province_name: str  # "Tỉnh Quảng Ngãi"
    province_code: str  # the current province it lies in


@dataclass(frozen=True)
class DistrictLink:
    """Part of a former district became (part of) a current commune."""

    district_code: str
    commune_code: str
    old_units: tuple[str, ...]  # e.g. ("Thị trấn Ba Tơ (21484)", "Xã Ba Cung (21511)", "Xã X (… một phần)")


@dataclass
class History:
    districts: list[FormerDistrict] = field(default_factory=list)
    links: list[DistrictLink] = field(default_factory=list)
    former_district_of: dict[str, str] = field(default_factory=dict)  # commune code → district code
    unmatched: list[str] = field(default_factory=list)  # names that could not be matched (for the report)
    source: str = ""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LoaError(
            f"Chưa cài gói «{name}» (dữ liệu quận/huyện cũ). Cài bằng: pip install {name}",
            code="history_package_missing",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def history(current: list[SourceUnit]) -> History:
    """Former districts and the old → new mapping, matched to the current official units."""
    data_dir = _package_dir(HISTORY_PACKAGE) / "data"
    converter = json.loads((data_dir / "converter_2025.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(f"file:{data_dir / 'dataset.db'}?mode=ro", uri=True)
    try:
        new_rows = db.execute("SELECT provinceKey, wardKey, provinceCode, ward FROM admin_units").fetchall()
        legacy_rows = db.execute(
            "SELECT provinceKey, districtKey, wardKey, province, districtCode, district, wardCode, ward "
            "FROM admin_units_legacy"
        ).fetchall()
    finally:
        db.close()

    result = History(source=f"{HISTORY_PACKAGE} (dữ liệu chuyển đổi 2025)")
    ours = {(u.parent_code, name_key(u.name)): u.code for u in current if u.parent_code}
    new_code: dict[tuple[str, str], str] = {}
    for prov_key, ward_key, prov_code, ward_name in new_rows:
        code = ours.get((province_code(int(prov_code)), name_key(ward_name)))
        if code is None:
            result.unmatched.append(f"{ward_name} ({prov_code})")
        else:
            new_code[(prov_key, ward_key)] = code

    # old key "province_district_ward" (ward empty for island districts without communes)
    legacy: dict[str, tuple[str, str, str, str, str | None]] = {}
    for prov_key, dist_key, ward_key, prov_name, dist_code, dist_name, ward_code, ward_name in legacy_rows:
        legacy[f"{prov_key}_{dist_key}_{ward_key or ''}"] = (
            prov_name,
            dist_code,
            dist_name,
            ward_name or "",
            ward_code,
        )

    parts: dict[tuple[str, str], list[str]] = defaultdict(list)
    whole_counts: dict[str, Counter[str]] = defaultdict(Counter)

    def link(old_key: str, new_prov_key: str, new_ward_key: str, partial: bool) -> None:
        old = legacy.get(old_key)
        target = new_code.get((new_prov_key, new_ward_key))
        if old is None or target is None:
            if old is None:
                result.unmatched.append(old_key)
            return
        _prov_name, dist_code, _dist_name, ward_name, ward_code = old
        pieces = parts.setdefault((dist_code, target), [])  # no ward: the district itself became the unit
        if ward_name:
            pieces.append(f"{ward_name} ({ward_code}{', một phần' if partial else ''})")
        if ward_code == target:
            whole_counts[target][dist_code] += 1000  # the new commune kept this old commune's code
        whole_counts[target][dist_code] += 1 if not partial else 0

    for prov_key, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward_key, old_keys in wards.items():
            for old_key in old_keys:
                link(old_key, prov_key, ward_key, partial=False)
    for prov_key, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, targets in olds.items():
            for target in targets:
                link(old_key, prov_key, target["newWardKey"], partial=True)

    province_of = {u.code: u.parent_code for u in current if u.parent_code}
    district_province: dict[str, Counter[str]] = defaultdict(Counter)
    for dist_code, commune in parts:
        district_province[dist_code][province_of[commune] or ""] += 1
    names = {v[1]: (v[2], v[0]) for v in legacy.values()}
    for dist_code in sorted(district_province):
        dist_name, prov_name = names[dist_code]
        new_prov = district_province[dist_code].most_common(1)[0][0]
        result.districts.append(FormerDistrict(dist_code, dist_name, prov_name, new_prov))
    result.links = [
        DistrictLink(dist_code, commune, tuple(sorted(set(old_units))))
        for (dist_code, commune), old_units in sorted(parts.items())
    ]
    for commune, counts in whole_counts.items():
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        result.former_district_of[commune] = ranked[0][0]
    for dist_code, commune in parts:
        result.former_district_of.setdefault(commune, dist_code)
    return result
