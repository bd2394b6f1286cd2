"""Every route that changes a record named in its path (POST, PUT, PATCH, DELETE; HTML forms and JSON),
tried by people who may not see that record: the two communes' operators on each other's records and on
a Hà Nội commune's, the province's approver on the Hà Nội one. Each attempt is answered exactly like the
same request for an id that names nothing, and leaves no trace in the audit log (every write is
audited, so nothing was written). Then the administrator sends the same request for commune B's record
and gets an answer that differs from the missing id's and is not a 422: the request was valid and
reached the record, so the refusals above were the scope at work, not a malformed body.

The routes come from ``loa.app.ROUTER_MODULES``; ``REQUESTS`` says what to send to each (a new route
that changes a record fails ``test_every_change_route_has_a_request`` until it is added).
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from loa.accounts.models import AuditEvent
from loa.app import ROUTER_MODULES, create_app
from loa.content.workflow import Action
from loa.db import make_session_factory
from loa.settings import Settings
from tests.conftest import Backend
from tests.scope.world import (
    ENUMS,
    IDS,
    OPERATORS,
    PROVINCE_USER,
    SEES,
    SLOT_DAY,
    Commune,
    load_communes,
    opener,
    png_bytes,
    register_row,
    seed_scope_world,
    sees,
)
from tests.support.auth import login_web

TRIERS = (OPERATORS["a"], OPERATORS["b"], PROVINCE_USER)

Body = Callable[[Commune, dict[str, str]], dict[str, Any]]


def _none(c: Commune, v: dict[str, str]) -> dict[str, Any]:
    return {}


def _json(payload: dict[str, Any]) -> Body:
    return lambda c, v: {"json": payload}


def _form(payload: dict[str, Any]) -> Body:
    return lambda c, v: {"data": payload}


def _photo(c: Commune, v: dict[str, str]) -> dict[str, Any]:
    return {"files": {"file": ("anh.png", png_bytes(9), "image/png")}}


def _programme(c: Commune, v: dict[str, str]) -> dict[str, Any]:
    return {
        "json": {
            "name": "Chương trình sửa",
            "start_local": f"{SLOT_DAY.isoformat()}T06:30",
            "slot_minutes": 15,
            "rrule": "FREQ=DAILY",
            "until_cancelled": True,
            "targets": [{"kind": "station", "code": str(c.station_id)}],
        }
    }


def _programme_form(c: Commune, v: dict[str, str]) -> dict[str, Any]:
    """The programme form as the page posts it; ``version`` is stale, so the change is refused (409)
    after the programme was found."""
    return {
        "data": {
            "name": "Chương trình sửa",
            "targets": f"station:{c.station_id}",
            "start_date": SLOT_DAY.isoformat(),
            "start_time": "06:30",
            "slot_minutes": "15",
            "rule_kind": "daily",
            "until_cancelled": "1",
            "version": "999",
        }
    }


# A village, not the commune, is what these routes name by ``code``.
VILLAGE_ROUTES = frozenset({"/api/v1/areas/{code}/place", "/areas/{code}/place"})

VILLAGES_CSV = "ten,loai\nThôn Mới,thôn\n".encode()

# What each route that changes a record is sent (the same for every person and every record).
REQUESTS: dict[tuple[str, str], Body] = {
    ("PATCH", "/api/v1/users/{user_id}"): _json({"active": False}),
    ("POST", "/users/{user_id}/role"): lambda c, v: {"data": {"role": "viewer", "areas": c.unit.code}},
    ("POST", "/users/{user_id}/active"): _form({"active": "0"}),
    ("POST", "/users/{user_id}/password"): _form({"password": "mat-khau-moi-du-dai-456"}),
    ("POST", "/api/v1/areas/{code}/villages"): _json({"name": "Thôn Mới"}),
    ("POST", "/api/v1/areas/{code}/villages/csv"): lambda c, v: {
        "content": VILLAGES_CSV,
        "headers": {"Content-Type": "text/csv"},
    },
    ("POST", "/api/v1/areas/{code}/stations"): _json({"name": "Đài mới"}),
    ("POST", "/areas/{code}/villages"): _form({"name": "Thôn Mới"}),
    ("POST", "/areas/{code}/villages/csv"): lambda c, v: {
        "files": {"file": ("thon.csv", VILLAGES_CSV, "text/csv")}
    },
    ("POST", "/areas/{code}/stations"): _form({"name": "Đài mới", "technology": "ip"}),
    ("PUT", "/api/v1/bulletins/{bulletin_id}"): _json({"title": "Tin sửa", "version": 999}),
    ("PATCH", "/api/v1/bulletins/{bulletin_id}"): _json({"title": "Tin sửa", "version": 999}),
    **{
        ("POST", f"/api/v1/bulletins/{{bulletin_id}}/{a.value}"): _json({"comment": "Ghi chú"})
        for a in Action
    },
    ("POST", "/api/v1/bulletins/{bulletin_id}/renditions"): _json({"language": "vi", "text": "Nội dung"}),
    ("POST", "/api/v1/bulletins/{bulletin_id}/attachments"): _photo,
    ("DELETE", "/api/v1/bulletins/{bulletin_id}/attachments/{attachment_id}"): _none,
    ("POST", "/bulletins/{bulletin_id}"): _form({"title": "Tin sửa", "body": "Nội dung", "version": "999"}),
    ("POST", "/bulletins/{bulletin_id}/step/{action}"): _form({"comment": "Ghi chú"}),
    ("POST", "/bulletins/{bulletin_id}/renditions"): _form({"language": "vi", "text": "Nội dung"}),
    ("POST", "/bulletins/{bulletin_id}/photos"): _photo,
    ("POST", "/bulletins/{bulletin_id}/photos/{attachment_id}/delete"): _none,
    ("PATCH", "/api/v1/activities/{register}/{record_id}"): _json({"notes": "Ghi chú sửa"}),
    ("DELETE", "/api/v1/activities/{register}/{record_id}"): _none,
    ("POST", "/activities/{register}/{record_id:int}"): lambda c, v: {
        "data": register_row(c.letter, v["register"], c.unit.code)
    },
    ("POST", "/activities/{register}/{record_id:int}/delete"): _none,
    ("POST", "/api/v1/devices/{uid}/enrol-code"): _none,
    ("PUT", "/api/v1/programmes/{programme_id}"): _programme,
    ("DELETE", "/api/v1/programmes/{programme_id}"): _none,
    ("PUT", "/api/v1/programmes/{programme_id}/running-order"): _json({"items": []}),
    ("PUT", "/api/v1/slots/{slot_id}/running-order"): _json({"items": []}),
    ("POST", "/api/v1/slots/{slot_id}/move"): _json(
        {"start_local": f"{(SLOT_DAY + timedelta(days=1)).isoformat()}T09:00"}
    ),
    ("POST", "/api/v1/slots/{slot_id}/cancel"): _none,
    ("POST", "/api/v1/slots/{slot_id}/restore"): _none,
    ("DELETE", "/api/v1/announcements/{announcement_id}"): _none,
    ("POST", "/schedule/slots/{key}/running-order"): _form({"action": "save"}),
    ("POST", "/fleet/devices/{uid}/volume"): _form({"level": "50"}),
    ("POST", "/fleet/devices/{uid}/stop"): _none,
    ("POST", "/fleet/devices/{uid}/enrol-code"): _none,
    ("POST", "/api/v1/users/{user_id}/sessions/revoke"): _none,
    ("POST", "/users/{user_id}/sessions/revoke"): _none,
    ("POST", "/api/v1/activities/{register}/imports/{import_id}"): _json({"include_all": False}),
    ("DELETE", "/api/v1/activities/{register}/imports/{import_id}"): _none,
    ("POST", "/activities/{register}/imports/{import_id:int}"): _form({"action": "cancel"}),
    ("POST", "/api/v1/alerts/{alert_id}/stop"): _none,
    ("POST", "/alerts/{alert_id}/stop"): _none,
    ("POST", "/api/v1/alerts/{alert_id}/confirm"): _none,
    ("POST", "/alerts/{alert_id}/confirm"): _none,
    ("POST", "/api/v1/live/sessions/{stream_id}/stop"): _none,
    ("POST", "/live/{stream_id}/stop"): _none,
    ("POST", "/api/v1/cap/drafts/{alert_id}/send"): _none,
    ("POST", "/alerts/cap/{alert_id}/send"): _none,
    ("POST", "/alerts/cap/{alert_id}/withdraw"): _none,
    ("PUT", "/api/v1/speech/overrides/{area_code}"): _json({"text": "HTX = hợp tác xã"}),
    ("PUT", "/api/v1/areas/{code}/place"): _json({"latitude": 14.77, "longitude": 108.72, "population": 500}),
    ("POST", "/areas/{code}/place"): _form({"latitude": "14.77", "longitude": "108.72", "population": "500"}),
    ("PUT", "/api/v1/programmes/{programme_id}/fallback"): _json({"items": []}),
    ("POST", "/schedule/programmes/{programme_id:int}/edit"): _programme_form,
    ("POST", "/schedule/programmes/{programme_id:int}/end"): _none,
    ("POST", "/schedule/programmes/{programme_id:int}/running-order"): _form({"action": "save"}),
    ("POST", "/schedule/programmes/{programme_id:int}/fallback"): _form({"action": "save"}),
    ("POST", "/schedule/slots/{key}/cancel"): _none,
    ("POST", "/schedule/slots/{key}/restore"): _none,
    ("POST", "/schedule/slots/{key}/move"): _form(
        {"date": (SLOT_DAY + timedelta(days=1)).isoformat(), "time": "09:00"}
    ),
    ("POST", "/exchange/inbox/{inbox_id}/schedule"): _form({"start_local": f"{SLOT_DAY.isoformat()}T09:00"}),
    ("POST", "/exchange/inbox/{inbox_id}/order"): _form({"place": "ahead"}),
    ("POST", "/exchange/inbox/{inbox_id}/decline"): _form({"reason": "Nội dung không phù hợp với xã."}),
    ("POST", "/exchange/connections/{peer_id}/keys"): _none,
    ("POST", "/exchange/connections/{peer_id}/push"): _form(
        {"push_url": "https://khac.example/api/exchange/v1"}
    ),
    ("POST", "/exchange/connections/{peer_id}/active"): _form({"active": "0"}),
    ("POST", "/exchange/connections/keys/{key_id}/revoke"): _none,
    ("POST", "/exchange/connections/messages/{message_id}/retry"): _none,
    ("POST", "/feedback/{feedback_id}/assign"): lambda c, v: {
        "data": {"user_id": str(c.user_id), "version": "1"}
    },
    ("POST", "/feedback/{feedback_id}/reply"): _form({"text": "Xã đã cử cán bộ kiểm tra."}),
    ("POST", "/feedback/{feedback_id}/bulletin"): _none,
}


@dataclass(frozen=True)
class ChangeRoute:
    method: str
    path: str
    path_params: tuple[str, ...]

    @property
    def id_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.path_params if p not in ENUMS)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def change_routes() -> list[ChangeRoute]:
    """Every route that changes something and names a record in its path (creating in a register,
    whose path names only the register, is not one)."""
    found = []
    for module_name in ROUTER_MODULES:
        for route in importlib.import_module(module_name).router.routes:
            if not isinstance(route, APIRoute):
                continue
            params = tuple(p.name for p in route.dependant.path_params)
            for method in sorted(route.methods - {"GET", "HEAD"}):
                candidate = ChangeRoute(method, route.path, params)
                if candidate.id_params:
                    found.append(candidate)
    return found


ROUTES = change_routes()


def test_every_change_route_has_a_request() -> None:
    listed = {(r.method, r.path) for r in ROUTES}
    assert sorted(listed - set(REQUESTS)) == []  # say what to send to the new route
    assert sorted(set(REQUESTS) - listed) == []  # no such route any more
    unknown = sorted({p for r in ROUTES for p in r.id_params} - set(IDS))
    assert unknown == []  # say in IDS how to name a record for these


# ----------------------------------------------------------------------------------------- the tries


@dataclass
class Tries:
    engine: Engine
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    communes: dict[str, Commune]

    def send(
        self, user: str, route: ChangeRoute, values: dict[str, str], commune: Commune, *, missing: bool
    ) -> httpx.Response:
        named = {p: IDS[p].missing if missing else IDS[p].value(commune, values) for p in route.id_params}
        if route.path in VILLAGE_ROUTES:
            named["code"] = "99999.001" if missing else commune.village_code
        path = route.path
        for name, value in (values | named).items():
            path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:int}}", value)
        request = REQUESTS[(route.method, route.path)](commune, values)
        headers = {"X-CSRF-Token": self.csrf[user], **request.pop("headers", {})}
        response = self.clients[user].request(
            route.method, path, headers=headers, follow_redirects=False, **request
        )
        assert response.status_code < 500, (user, route, path, response.text[:500])
        return response

    def audit_rows(self) -> int:
        with make_session_factory(self.engine)() as session:
            return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.fixture
def tries(backend: Backend, scope_data_dir: Path) -> Iterator[Tries]:
    """A fresh copy of the world per route (the administrator's tries change it), people signed in."""
    with backend.database("scope-world", seed=partial(seed_scope_world, data_dir=scope_data_dir)) as engine:
        with make_session_factory(engine)() as session:
            communes = load_communes(session)
        settings = Settings(demo=True, data_dir=scope_data_dir, secret_key="test-secret-key-0123456789abcdef")  # type: ignore[arg-type]
        app = create_app(settings, engine=engine)
        with ExitStack() as stack:
            clients, csrf = {}, {}
            for user in SEES:
                clients[user] = stack.enter_context(TestClient(app))
                csrf[user] = login_web(clients[user], user)
            yield Tries(engine, clients, csrf, communes)


def _enum_values(route: ChangeRoute) -> list[dict[str, str]]:
    names = [p for p in route.path_params if p in ENUMS]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(ENUMS[n] for n in names))]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_nobody_changes_a_record_outside_their_scope(tries: Tries, route: ChangeRoute) -> None:
    for values in _enum_values(route):
        for user in TRIERS:
            for letter in sorted(set(tries.communes) - sees(user, route.id_params)):
                commune = tries.communes[letter]
                missing = tries.send(user, route, values, commune, missing=True)
                before = tries.audit_rows()
                response = tries.send(user, route, values, commune, missing=False)
                assert response.status_code == missing.status_code, (
                    user,
                    str(route),
                    values,
                    letter,
                    response.text[:300],
                    missing.text[:300],
                )
                assert f"scopemark{letter}".encode() not in response.content
                assert tries.audit_rows() == before, (user, str(route), values, letter)
        b, prover = tries.communes["b"], opener("b", route.id_params)
        missing = tries.send(prover, route, values, b, missing=True)
        reached = tries.send(prover, route, values, b, missing=False)
        assert reached.status_code not in (missing.status_code, 422), (str(route), values, reached.text[:300])
