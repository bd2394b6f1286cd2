"""The fleet table at scale: one page of devices and the counts by state, both computed by the database
(``LIMIT``/``OFFSET``, ``GROUP BY``), so a page costs the same with 100 devices or 100,000."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.areas import picker
from loa.errors import InvalidInput, LoaError
from loa.fleet.models import Device
from loa.fleet.present import STATES
from loa.fleet.queries import DeviceRow, _scoped, _with_commune
from loa.units.models import AdminUnit
from loa.vocab.numbers import number_text

PER_PAGE = 50
MAX_PAGE = 100_000


@dataclass(frozen=True)
class FleetFilter:
    """What the person narrowed the table to: a commune (unit id), words, a state key."""

    commune_id: int | None = None
    commune_code: str = ""
    search: str = ""
    state: str = ""

    def query(self, **extra: Any) -> str:
        """The filter as a query string (with ``extra``, e.g. the page), empty values left out."""
        params = {"commune": self.commune_code, "q": self.search.strip(), "state": self.state, **extra}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


@dataclass(frozen=True)
class DevicePage:
    rows: list[DeviceRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def label(self) -> str:
        return f"Trang {number_text(self.page)}/{number_text(self.pages)}"


def _state_of() -> ColumnElement[str]:
    """The state key of a device in SQL, as ``present.state_of`` reads it in Python."""
    return case(
        (and_(Device.enrolled_at.is_(None), Device.online.is_(False)), "new"),
        (Device.online.is_(True), "online"),
        else_="offline",
    )


def _conditions(f: FleetFilter, *, with_state: bool) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [Device.active.is_(True)]
    if f.commune_id is not None:
        out.append(Device.commune_id == f.commune_id)
    if f.search.strip():
        like = f"%{f.search.strip()}%"
        out.append(Device.name.ilike(like) | Device.uid.ilike(like) | Device.village.ilike(like))
    if with_state and f.state in STATES:
        out.append(_state_of() == f.state)
    return out


def state_counts(
    session: Session, *, principal: Principal | None, f: FleetFilter | None = None
) -> dict[str, int]:
    """Devices by state (``total``, ``online``, ``offline``, ``new``) within the filter's commune and
    words (not its state: the counts say what each state would show), counted by the database."""
    state = _state_of()
    stmt = (
        select(state, func.count())
        .select_from(Device)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(*_conditions(f or FleetFilter(), with_state=False))
        .group_by(state)
    )
    found = {str(key): int(n) for key, n in session.execute(_scoped(stmt, principal)).all()}
    counts = {key: found.get(key, 0) for key in STATES}
    return {"total": sum(counts.values()), **counts}


def devices_page(
    session: Session, *, principal: Principal | None, f: FleetFilter, page: int = 1, per_page: int = PER_PAGE
) -> DevicePage:
    """One page of the devices the filter keeps, by commune then name; a page past the end shows the
    last one."""
    conditions = _conditions(f, with_state=True)
    count = select(func.count()).select_from(Device).outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
    total = int(session.scalar(_scoped(count.where(*conditions), principal)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    stmt = (
        _scoped(_with_commune().where(*conditions), principal)
        .order_by(AdminUnit.name, Device.name, Device.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    rows = [DeviceRow(d, name, path) for d, name, path in session.execute(stmt).all()]
    return DevicePage(rows, total, page, per_page)


def filter_from(
    params: Mapping[str, str], db: Session, principal: Principal
) -> tuple[FleetFilter, int, str | None]:
    """The table's filter and page from the query string (``commune`` code, ``q`` words, ``state``,
    ``page``); a commune outside the person's areas or unknown is refused in words, never shown."""
    search, state = params.get("q", "")[:200], params.get("state", "")
    code = params.get("commune", "")[:64].strip()
    text = params.get("commune_text", "")[:200].strip()
    error, commune_id = None, None
    try:
        page = min(max(1, int(params.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    try:
        if not code and text:  # typed, not chosen (no JavaScript)
            code = picker.resolve(db, principal, code="", text=text, kinds=picker.kinds_of(("commune",))).code
        if code:
            unit = db.query(AdminUnit).filter(AdminUnit.code == code).one_or_none()
            if unit is None or not principal.can_access_path(unit.path):
                raise InvalidInput(
                    "Không tìm thấy xã/phường này trong địa bàn của bạn.", code="unknown_commune"
                )
            commune_id = unit.id
    except LoaError as err:
        error, code = err.message, ""
    state = state if state in STATES else ""
    return FleetFilter(commune_id, code, search, state), page, error
