"""Per-area abbreviation readings ("từ điển viết tắt của địa bàn").

TT-VH-TT is the "Trung tâm Văn hóa - Thông tin" in one commune and the "Trung tâm Truyền thông - Văn
hóa - Thể thao" in the next, so each area may keep its own ``VIẾT TẮT = cách đọc`` list
(``speech_overrides.text``). The readings used for a bulletin or a TTS job are those of every area on
its path, outermost first, the nearer area winning (a commune's list overrides its province's).

Functions take the session first and never commit (the caller owns the transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope
from loa.areas.logic import COMMUNE_KINDS, PROVINCE_KINDS, display_name
from loa.areas.service import ensure_access, get_unit
from loa.db.base import utcnow
from loa.errors import Conflict, InvalidInput, LoaError, NotFound, PermissionDenied
from loa.speech.models import SpeechOverrides
from loa.speech.normalize import parse_overrides
from loa.units.models import AdminUnit
from loa.units.paths import ancestor_paths
from loa.vocab.numbers import number_text

log = logging.getLogger(__name__)

MAX_OVERRIDES_CHARS = 20_000
EDIT_DENIED = (
    "Bạn không có quyền sửa từ điển viết tắt của địa bàn này "
    "(cần quyền biên tập nội dung hoặc quản lý địa bàn trong phạm vi được giao)."
)
CONFLICT = (
    "Từ điển viết tắt của địa bàn này vừa được người khác sửa. Hãy tải lại trang, xem bản mới "
    "rồi sửa lại; nội dung bạn vừa nhập được giữ bên dưới."
)
TOO_LONG = f"Từ điển viết tắt quá dài (tối đa {number_text(MAX_OVERRIDES_CHARS)} ký tự)."
_AUDIT_KEYS_MAX = 50
# Kinds offered in the area picker (villages inherit their commune's readings).
PICKER_KINDS = frozenset(PROVINCE_KINDS | COMMUNE_KINDS)
PICKER_LIMIT = 5000  # the whole country: 34 provinces and 3,321 communes


@dataclass(frozen=True)
class Layer:
    """One area on a path and the readings it sets itself."""

    unit: AdminUnit
    row: SpeechOverrides | None
    entries: dict[str, str]

    @property
    def name(self) -> str:
        return display_name(self.unit.kind, self.unit.name)


# --- Pure helpers --------------------------------------------------------------------------------------


def merge(layers: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Merge reading lists outermost first: a later (nearer) list wins, whatever the letter case
    it uses for the same abbreviation ("tt-vh-tt" in a commune replaces "TT-VH-TT" of its province)."""
    merged: dict[str, str] = {}
    for layer in layers:
        for key, value in layer.items():
            for existing in [k for k in merged if k.upper() == key.upper()]:
                del merged[existing]
            merged[key] = value
    return merged


def parse_stored(text: str) -> dict[str, str]:
    """Parse a saved list without failing: a line that no longer parses (the rules grew stricter
    since it was saved) is skipped and logged, the others still apply."""
    try:
        return parse_overrides(text)
    except InvalidInput:
        log.warning("stored abbreviation overrides have invalid lines; skipping them")
    result: dict[str, str] = {}
    for line in text.splitlines():
        try:
            result.update(parse_overrides(line))
        except InvalidInput:
            continue
    return result


def check_text(text: str) -> dict[str, str]:
    """Validate what an editor typed; InvalidInput with per-line ``details`` when a line is wrong."""
    if len(text) > MAX_OVERRIDES_CHARS:
        raise InvalidInput(TOO_LONG, code="overrides_too_long")
    try:
        return parse_overrides(text)
    except InvalidInput as err:
        raise InvalidInput(err.message, code="invalid_overrides", details=err.details) from err


def _clean(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


# --- Reading -------------------------------------------------------------------------------------------


def layers_for(session: Session, unit: AdminUnit) -> list[Layer]:
    """The areas on ``unit``'s path (outermost first, ``unit`` last) with their own readings."""
    paths = [*ancestor_paths(unit.path), unit.path]
    rows = session.execute(
        select(AdminUnit, SpeechOverrides)
        .outerjoin(SpeechOverrides, SpeechOverrides.area_id == AdminUnit.id)
        .where(AdminUnit.path.in_(paths))
    ).all()
    order = {path: index for index, path in enumerate(paths)}
    rows = sorted(rows, key=lambda r: order[r[0].path])
    return [Layer(area, row, parse_stored(row.text) if row is not None else {}) for area, row in rows]


def effective_overrides(session: Session, area_id: int | None) -> dict[str, str]:
    """The readings that apply in an area (merged along its path); empty without an area."""
    if area_id is None:
        return {}
    unit = session.get(AdminUnit, area_id)
    if unit is None:
        return {}
    return merge(layer.entries for layer in layers_for(session, unit))


def area_for_request(session: Session, principal: Principal, area_code: str | None) -> AdminUnit | None:
    """The area a request names (``None`` when it names none). Unknown → NotFound; outside the
    principal's scope → PermissionDenied."""
    if not area_code or not area_code.strip():
        return None
    unit = get_unit(session, area_code)
    ensure_access(principal, unit)
    return unit


def require_area(session: Session, principal: Principal, area_code: str) -> AdminUnit:
    unit = area_for_request(session, principal, area_code)
    if unit is None:
        raise NotFound("Không tìm thấy địa bàn.", code="area_not_found")
    return unit


def preview_overrides(session: Session, principal: Principal, area_code: str | None) -> dict[str, str]:
    """Best effort for live previews: the area's readings, or none when the code is empty, unknown
    or outside the principal's scope (a preview never fails because of the area)."""
    try:
        unit = area_for_request(session, principal, area_code)
    except LoaError:
        return {}
    return {} if unit is None else effective_overrides(session, unit.id)


def can_edit(principal: Principal, unit: AdminUnit) -> bool:
    return principal.can_access_path(unit.path) and (
        principal.has(Permission.EDIT_CONTENT) or principal.has(Permission.MANAGE_AREAS)
    )


def ensure_can_edit(principal: Principal, unit: AdminUnit) -> None:
    ensure_access(principal, unit)
    if not can_edit(principal, unit):
        raise PermissionDenied(EDIT_DENIED, code="overrides_edit_denied")


def picker_areas(session: Session, principal: Principal) -> list[AdminUnit]:
    """Provinces and communes the principal may open, in path order (and the principal's own scope
    units whatever their kind)."""
    query = select(AdminUnit).where(AdminUnit.valid_to.is_(None)).order_by(AdminUnit.path)
    own_units = AdminUnit.path.in_(principal.scope_paths)
    query = query.where(
        in_scope(principal, AdminUnit.path), or_(AdminUnit.kind.in_(sorted(PICKER_KINDS)), own_units)
    )
    return list(session.scalars(query.limit(PICKER_LIMIT)))


# --- Writing -------------------------------------------------------------------------------------------


def _changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, list[str]]:
    return {
        "added": sorted(k for k in after if k not in before)[:_AUDIT_KEYS_MAX],
        "removed": sorted(k for k in before if k not in after)[:_AUDIT_KEYS_MAX],
        "changed": sorted(k for k in after if k in before and before[k] != after[k])[:_AUDIT_KEYS_MAX],
    }


def _conflict(current: SpeechOverrides | None, expected: int | None, text: str) -> Conflict:
    return Conflict(
        CONFLICT,
        code="edit_conflict",
        details={
            "current_version": current.version if current else 0,
            "current_text": current.text if current else "",
            "your_version": expected,
            "your_text": text,
        },
    )


def save_overrides(
    session: Session,
    *,
    principal: Principal,
    unit: AdminUnit,
    text: str,
    expected_version: int | None = None,
    ip: str = "",
) -> SpeechOverrides:
    """Replace an area's list after checking every line (nothing is saved when one is wrong).

    ``expected_version`` is the version the editor started from (0: the area had no list); a
    different current version means someone saved in between → Conflict, nothing changes. ``None``
    skips the check (last writer wins)."""
    ensure_can_edit(principal, unit)
    text = _clean(text)
    entries = check_text(text)
    current = session.get(SpeechOverrides, unit.id)
    if expected_version is not None and expected_version != (current.version if current else 0):
        raise _conflict(current, expected_version, text)
    before = parse_stored(current.text) if current is not None else {}
    now = utcnow()
    if current is None:
        row = SpeechOverrides(
            area_id=unit.id, text=text, version=1, updated_by_id=principal.user_id, updated_at=now
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError as err:  # another editor created the list at the same moment
            raise _conflict(session.get(SpeechOverrides, unit.id), expected_version, text) from err
    else:
        version = current.version
        # A conditional UPDATE: of two concurrent saves from the same version, one wins.
        result = session.execute(
            update(SpeechOverrides)
            .where(SpeechOverrides.area_id == unit.id, SpeechOverrides.version == version)
            .values(text=text, version=version + 1, updated_by_id=principal.user_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            session.refresh(current)
            raise _conflict(current, expected_version, text)
        session.refresh(current)
        row = current
    record(
        session,
        action="speech.overrides_update",
        actor=principal,
        target_type="area",
        target_id=unit.code,
        area_id=unit.id,
        details={"version": row.version, "entries": len(entries), **_changes(before, entries)},
        ip=ip,
    )
    return row


def sample_layers(layers: Sequence[Layer], own: Mapping[str, str]) -> dict[str, str]:
    """Readings for a preview while editing the last layer: the inherited ones plus ``own``."""
    return merge([*(layer.entries for layer in layers[:-1]), own])
