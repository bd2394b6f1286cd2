"""Choosing an area by its name, never by its code: the options of the area combobox ("Ba Tơ" →
"Xã Ba Tơ (Quảng Ngãi)"), their labels for a form shown again, and the server's reading of what was
posted — the chosen code, or, without JavaScript, the name typed (accepted when it names exactly one
unit of the kinds asked for).

The combobox (``loa/web/static/combobox.js``, markup in ``web/templates/_combobox.html``) asks
``GET /areas/choices?q=…&kinds=commune,village`` (``loa.areas.picker_views``) and receives
``[{"value": code, "label": …}]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.areas.logic import UNIT_KINDS, display_name, fold
from loa.areas.service import search
from loa.errors import InvalidInput
from loa.units.models import AdminUnit, UnitKind

# What a form may ask for, by name: the kinds of unit each word stands for.
KIND_GROUPS: Mapping[str, frozenset[UnitKind]] = MappingProxyType(
    {
        "province": frozenset({UnitKind.PROVINCE, UnitKind.CITY}),
        "commune": frozenset({UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE}),
        "village": frozenset({UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP}),
        "district": frozenset({UnitKind.DISTRICT}),
    }
)
MAX_CHOICES = 12


@dataclass(frozen=True)
class Choice:
    value: str  # the unit code: travels in a hidden field, never shown
    label: str  # "Xã Ba Tơ (Quảng Ngãi)"


def kinds_of(groups: Iterable[str]) -> frozenset[UnitKind]:
    """The unit kinds of the named groups (all current kinds when none is named)."""
    wanted = [g.strip() for g in groups if g.strip()]
    if not wanted:
        return frozenset(k for k, info in UNIT_KINDS.items() if not info.historical)
    return frozenset(k for g in wanted for k in KIND_GROUPS.get(g, frozenset()))


def _short(unit: AdminUnit) -> str:
    """ "Quảng Ngãi" for "Tỉnh Quảng Ngãi", "Xã Ba Tơ" for a commune: how the context reads."""
    if unit.kind in KIND_GROUPS["province"]:
        label = UNIT_KINDS[unit.kind].label
        return unit.name[len(label) + 1 :] if fold(unit.name).startswith(fold(label) + " ") else unit.name
    return display_name(unit.kind, unit.name)


def labels(session: Session, units: Iterable[AdminUnit]) -> dict[str, str]:
    """Code → "Xã Ba Tơ (Quảng Ngãi)", "Thôn Làng Mâm (Xã Ba Tơ, Quảng Ngãi)", "Tỉnh Quảng Ngãi"; the
    units above come from the materialised paths in one query."""
    units = list(units)
    above = {c for u in units for c in u.path.strip("/").split("/")[:-1] if c}
    parents = (
        {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(above)))}
        if above
        else {}
    )
    out: dict[str, str] = {}
    for unit in units:
        chain = [parents[c] for c in reversed(unit.path.strip("/").split("/")[:-1]) if c in parents]
        notes = [", ".join(_short(p) for p in chain)] if chain else []
        if unit.valid_to is not None:
            notes.append("đã sáp nhập")
        name = display_name(unit.kind, unit.name)
        out[unit.code] = f"{name} ({'; '.join(notes)})" if notes else name
    return out


def _matching(
    session: Session, principal: Principal, query: str, kinds: frozenset[UnitKind], limit: int
) -> list[AdminUnit]:
    if not fold(query) or not kinds:
        return []
    return [u for u in search(session, query, principal, limit=limit * 4) if u.kind in kinds][:limit]


def choices(
    session: Session, principal: Principal, query: str, kinds: frozenset[UnitKind], limit: int = MAX_CHOICES
) -> list[Choice]:
    """Units of ``kinds`` inside the principal's areas whose name matches ``query`` (with or without
    diacritics), best matches first."""
    found = _matching(session, principal, query, kinds, limit)
    named = labels(session, found)
    return [Choice(u.code, named[u.code]) for u in found]


def chosen_labels(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Labels of codes already chosen (a form shown again, an edit form)."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    return labels(session, session.scalars(select(AdminUnit).where(AdminUnit.code.in_(wanted))))


def resolve(
    session: Session,
    principal: Principal,
    *,
    code: str,
    text: str,
    kinds: frozenset[UnitKind],
    what: str = "địa bàn",
) -> AdminUnit:
    """The unit a person chose: by the posted code when the combobox set one, else by the name typed
    (exactly one match needed). Every refusal says what to do, in Vietnamese."""
    code, text = code.strip(), " ".join(text.split())
    if code:
        unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code))
        if unit is None or unit.kind not in kinds:
            raise InvalidInput(
                f"Không tìm thấy {what} đã chọn. Hãy gõ tên rồi chọn lại.", code="area_unknown"
            )
        return unit
    if not text:
        raise InvalidInput(f"Hãy gõ tên {what} rồi chọn trong danh sách.", code="area_missing")
    found = _matching(session, principal, text, kinds, MAX_CHOICES)
    wanted = fold(text)
    # "Ba Tơ" and "Xã Ba Tơ" both name xã Ba Tơ exactly, even when "Ba Tơ" also starts "Ba Tơ Bắc".
    exact = [u for u in found if wanted in (fold(u.name), fold(display_name(u.kind, u.name)))]
    picked = exact if len(exact) == 1 else found if len(found) == 1 else []
    if picked:
        return picked[0]
    if not found:
        raise InvalidInput(f"Không tìm thấy {what} nào tên «{text}».", code="area_unknown")
    raise InvalidInput(
        f"«{text}» khớp với nhiều {what}: hãy chọn một trong danh sách gợi ý.", code="area_ambiguous"
    )
