"""Targets in the database: what a person names (a province, commune or village code, a station, a
device group, a device) resolved to rows, their area path (for scope checks) and the compiler's
``Target`` tokens. Devices are *not* listed here: they are resolved at compile time, so a device
added to a commune later picks up the commune's schedule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.content.catalog import DEFAULT_LANGUAGE, LANGUAGES
from loa.errors import InvalidInput, NotFound, PermissionDenied
from loa.fleet.models import Device, DeviceGroup
from loa.schedule.snapshot import TARGET_KIND_LABELS, Target, TargetKind
from loa.units.models import AdminUnit, Station, UnitKind

UNIT_KINDS_OF: dict[TargetKind, frozenset[UnitKind]] = {
    TargetKind.PROVINCE: frozenset({UnitKind.PROVINCE, UnitKind.CITY}),
    TargetKind.COMMUNE: frozenset({UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE}),
    TargetKind.VILLAGE: frozenset({UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP}),
}
OUT_OF_SCOPE = "Nơi phát «{label}» nằm ngoài địa bàn bạn phụ trách."


@dataclass(frozen=True)
class TargetInput:
    """As a person gives it: ``code`` is a unit code, a station or group id, or a device id."""

    kind: str
    code: str
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class ResolvedTarget:
    kind: TargetKind
    ref_id: int
    token: Target  # what the compiler matches against device memberships
    label: str  # Vietnamese
    path: str  # area path ("/51/21484/"); "/" when it belongs to no area
    language: str

    @property
    def code(self) -> str:
        return self.token.code


def check_language(code: str) -> str:
    code = (code or DEFAULT_LANGUAGE).strip()
    if code not in LANGUAGES:
        raise InvalidInput(f"Ngôn ngữ «{code}» không có trong danh mục.", code="language_unknown")
    return code


def _kind(raw: str) -> TargetKind:
    try:
        return TargetKind(raw)
    except ValueError as err:
        kinds = ", ".join(TARGET_KIND_LABELS.values()).lower()
        raise InvalidInput(
            f"Loại nơi phát không hợp lệ (chọn một trong: {kinds}).", code="target_kind"
        ) from err


def _int(code: str, what: str) -> int:
    try:
        return int(code)
    except ValueError as err:
        raise InvalidInput(f"Mã {what} phải là số: «{code}».", code="target_invalid") from err


def _unit_path(session: Session, unit_id: int | None) -> str:
    if unit_id is None:
        return "/"
    return session.scalar(select(AdminUnit.path).where(AdminUnit.id == unit_id)) or "/"


def resolve_target(session: Session, given: TargetInput) -> ResolvedTarget:
    kind = _kind(given.kind)
    language = check_language(given.language)
    code = given.code.strip()
    if not code:
        raise InvalidInput("Thiếu mã nơi phát.", code="target_invalid")
    if kind in UNIT_KINDS_OF:
        unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code))
        if unit is None:
            raise InvalidInput(f"Không tìm thấy địa bàn có mã «{code}».", code="target_unknown")
        if unit.kind not in UNIT_KINDS_OF[kind]:
            raise InvalidInput(
                f"«{unit.name}» không phải {TARGET_KIND_LABELS[kind].lower()}.", code="target_kind_mismatch"
            )
        if unit.valid_to is not None:
            raise InvalidInput(f"«{unit.name}» đã hết hiệu lực (sáp nhập/giải thể).", code="target_retired")
        return ResolvedTarget(kind, unit.id, Target(kind, unit.code), unit.name, unit.path, language)
    if kind is TargetKind.STATION:
        station = session.get(Station, _int(code, "đài"))
        if station is None:
            raise InvalidInput(f"Không tìm thấy đài truyền thanh số {code}.", code="target_unknown")
        path = _unit_path(session, station.commune_id)
        return ResolvedTarget(kind, station.id, Target(kind, str(station.id)), station.name, path, language)
    if kind is TargetKind.GROUP:
        group = session.get(DeviceGroup, _int(code, "nhóm thiết bị"))
        if group is None:
            raise InvalidInput(f"Không tìm thấy nhóm thiết bị số {code}.", code="target_unknown")
        path = _unit_path(session, group.commune_id)
        label = f"Nhóm {group.name}"
        return ResolvedTarget(kind, group.id, Target(kind, str(group.id)), label, path, language)
    device = session.scalar(select(Device).where(Device.uid == code))
    if device is None:
        raise InvalidInput(f"Không tìm thấy cụm loa «{code}».", code="target_unknown")
    commune_id = device.commune_id
    if commune_id is None and device.station_id is not None:
        commune_id = session.scalar(select(Station.commune_id).where(Station.id == device.station_id))
    path = _unit_path(session, commune_id)
    return ResolvedTarget(kind, device.id, Target(kind, device.uid), f"Cụm loa {device.name}", path, language)


def resolve_targets(
    session: Session, given: Sequence[TargetInput], *, principal: Principal | None
) -> list[ResolvedTarget]:
    """Resolve and scope-check every target (at least one; no duplicates)."""
    if not given:
        raise InvalidInput("Hãy chọn ít nhất một nơi phát.", code="target_missing")
    if len(given) > 500:
        raise InvalidInput("Tối đa 500 nơi phát cho một chương trình.", code="target_too_many")
    out: list[ResolvedTarget] = []
    seen: set[tuple[TargetKind, int]] = set()
    for item in given:
        target = resolve_target(session, item)
        if (target.kind, target.ref_id) in seen:
            raise InvalidInput(f"Nơi phát «{target.label}» được chọn hai lần.", code="target_duplicate")
        seen.add((target.kind, target.ref_id))
        if principal is not None and not principal.can_access_path(target.path):
            raise PermissionDenied(OUT_OF_SCOPE.format(label=target.label), code="out_of_scope")
        out.append(target)
    return out


def common_area_id(session: Session, targets: Iterable[ResolvedTarget]) -> int | None:
    """The deepest unit whose subtree holds every target (None when they share no unit)."""
    paths = [[c for c in t.path.split("/") if c] for t in targets]
    if not paths:
        return None
    common: list[str] = []
    for codes in zip(*paths, strict=False):
        if len(set(codes)) != 1:
            break
        common.append(codes[0])
    if not common:
        return None
    return session.scalar(select(AdminUnit.id).where(AdminUnit.code == common[-1]))


@dataclass(frozen=True)
class StoredTarget:
    """A target row as loaded for compilation and display."""

    kind: TargetKind
    ref_id: int
    language: str


def load_tokens(session: Session, stored: Iterable[StoredTarget]) -> dict[tuple[TargetKind, int], Target]:
    """Compiler tokens of stored targets, in a few queries (rows deleted since give no token)."""
    by_kind: dict[TargetKind, set[int]] = defaultdict(set)
    for t in stored:
        by_kind[t.kind].add(t.ref_id)
    out: dict[tuple[TargetKind, int], Target] = {}
    unit_ids = set().union(*(by_kind.get(k, set()) for k in UNIT_KINDS_OF))
    if unit_ids:
        codes = dict(
            session.execute(select(AdminUnit.id, AdminUnit.code).where(AdminUnit.id.in_(unit_ids))).all()
        )
        for kind in UNIT_KINDS_OF:
            for ref in by_kind.get(kind, ()):
                if ref in codes:
                    out[(kind, ref)] = Target(kind, codes[ref])
    for kind in (TargetKind.STATION, TargetKind.GROUP):
        for ref in by_kind.get(kind, ()):
            out[(kind, ref)] = Target(kind, str(ref))
    device_ids = by_kind.get(TargetKind.DEVICE, set())
    if device_ids:
        for ref, uid in session.execute(select(Device.id, Device.uid).where(Device.id.in_(device_ids))).all():
            out[(TargetKind.DEVICE, ref)] = Target(TargetKind.DEVICE, uid)
    return out


def describe(session: Session, stored: Sequence[StoredTarget]) -> list[ResolvedTarget]:
    """Labels and paths of stored targets, for pages and the API."""
    out = []
    for t in stored:
        try:
            code = _code_of(session, t)
            resolved = resolve_target(session, TargetInput(t.kind.value, code, t.language))
        except (InvalidInput, NotFound):
            continue
        out.append(resolved)
    return out


def _code_of(session: Session, t: StoredTarget) -> str:
    if t.kind in UNIT_KINDS_OF:
        code = session.scalar(select(AdminUnit.code).where(AdminUnit.id == t.ref_id))
    elif t.kind is TargetKind.DEVICE:
        code = session.scalar(select(Device.uid).where(Device.id == t.ref_id))
    else:
        code = str(t.ref_id)
    if code is None:
        raise NotFound("Nơi phát không còn tồn tại.")
    return code
