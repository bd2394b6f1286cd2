"""Every GET route of the app, walked with the users of two communes of one province, the province's
approver and a system administrator (``world.py``): nobody sees a record of an area outside their scope,
in a list or by its id, in HTML or JSON.

The routes come from the routers of ``loa.app.ROUTER_MODULES``, so a new route is walked without being
listed here. A route whose path names a record must say, in ``world.IDS``, how to name each commune's
record of that kind (and an id that names nothing); a route whose query names one, in ``QUERY_IDS``. A
route that names something no area owns is listed in ``UNSCOPED`` with the reason. Then, for every user:

- lists (no id): the body carries no marker of a commune the user may not see; the administrator's
  body carries the markers of all three communes where ``LIST_SHOWS`` says the route lists that kind;
- ids: another area's record is answered exactly like one that does not exist (the same status: 404,
  or 403 where the role may not use the route at all; never revealing that it exists) and its marker is
  not in the body; a record in scope is not 404, and the administrator opens every one (below 400).

Routes that change a record are tried the same way in ``test_changes.py``. NetBox's generic view tests
are the model: one table of how to make and name a record of each kind, one walk.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from loa.app import ROUTER_MODULES
from tests.scope.world import (
    ADMIN,
    ENUMS,
    IDS,
    LETTERS,
    REPORT_PERIOD,
    SEES,
    SLOT_DAY,
    USERS,
    Commune,
    IdParam,
    opener,
    sees,
)

# Routes whose path names something that no area owns, or that a person's scope does not govern.
UNSCOPED: dict[str, str] = {
    "/api/v1/devices/{uid}/manifest": "a loudspeaker's own credentials, not a person (tests/fleet)",
    "/api/v1/devices/{uid}/audio/{sha256}": "a loudspeaker's own credentials, not a person (tests/fleet)",
    "/api/v1/devices/{uid}/releases/{sha256}/{filename}": "a loudspeaker's own credentials (tests/fleet)",
    "/api/v1/devices/{uid}/sms-key": "a loudspeaker's own credentials, not a person (tests/alerts)",
    "/schedule/static/{name}": "the schedule pages' script files",
    "/locale/{code}": "the interface language a person chooses (its code is a language, not an area)",
    "/gop-y/{commune_code}": "a commune's public feedback form (no account): names the commune only",
    "/feeds/eboards/v1/{code}.json": "a public e-board: published bulletins, public like the e-portal's feed",
    "/feeds/eboards/v1/{code}.atom": "a public e-board: published bulletins, public like the e-portal's feed",
    **{
        f"/api/exchange/v1{path}": "a connected system's own key, not a person: its areas (tests/exchange)"
        for path in (
            "/stations",
            "/clusters",
            "/clusters/status",
            "/area-codes",
            "/bulletins",
            "/bulletins/{remote_id}/status",
            "/schedules",
            "/plays",
            "/statistics",
        )
    },
}

# Query parameters that name a record: walked like path ids (on top of the route's fixed query).
QUERY_IDS: dict[str, dict[str, IdParam]] = {
    "/api/v1/areas": {"parent": IDS["code"]},
    "/areas/tree": {"parent": IDS["code"]},
    "/api/v1/bulletins": {"area": IDS["code"]},
    "/api/v1/activities/{register}": {"area_id": IdParam(lambda c, _: str(c.unit.id), "987654")},
    "/activities": {"area": IDS["code"]},
    "/activities/{register}": {"area": IDS["code"]},
    "/activities/{register}/export.csv": {"area": IDS["code"]},
    "/api/v1/reports/statistics": {
        "area_id": IdParam(lambda c, _: str(c.unit.id), "987654"),
        "area": IDS["code"],
    },
    "/api/v1/reports/assessment": {
        "area_id": IdParam(lambda c, _: str(c.unit.id), "987654"),
        "area": IDS["code"],
    },
    "/reports/new": {"from": IDS["report_id"]},
    "/reports/statistics": {"area": IDS["code"]},
    "/reports/statistics/rows": {"area": IDS["code"]},
    "/reports/statistics/broadcasts": {"area": IDS["code"]},
    "/schedule": {"station": IDS["station_id"], "programme": IDS["programme_id"]},
    "/speech/overrides": {"area": IDS["code"]},
    "/api/v1/audit": {"actor_user_id": IDS["user_id"]},
    "/feeds/bulletins.atom": {"area": IDS["code"]},
    # A connected system's ``area`` (its key, not a person's session: the routes are UNSCOPED).
    "/api/exchange/v1/stations": {"area": IDS["code"]},
    "/api/exchange/v1/clusters": {"area": IDS["code"]},
    "/api/exchange/v1/clusters/status": {"area": IDS["code"]},
}
# Query names that usually name a record: a route taking one must list it in QUERY_IDS.
ID_LIKE_QUERY = frozenset({"area", "area_id", "parent", "station", "programme", "actor_user_id", "uid"})

# Query values a route needs to answer at all (required parameters, or to reach its records).
FIXED_QUERY: dict[str, dict[str, str]] = {
    "/api/v1/areas/search": {"q": "ba"},
    "/api/v1/bulletins/{bulletin_id}/diff": {"from": "1", "to": "1"},
    "/api/v1/programmes/{programme_id}/slots": {"to": SLOT_DAY.isoformat()},
    "/api/v1/reports/statistics": {"kind": "year", "year": str(REPORT_PERIOD.start.year)},
    "/api/v1/reports/assessment": {"kind": "year", "year": str(REPORT_PERIOD.start.year)},
    "/reports/{report_id:int}/rows": {"figure": "events.conference"},
    "/reports/statistics/rows": {"figure": "events.conference"},
    "/api/exchange/v1/area-codes": {"code": "21484"},
}

# Lists that show a kind of record: the administrator's page carries every commune's marker.
LIST_SHOWS: dict[str, str] = {
    "/api/v1/bulletins": "bulletin",
    "/bulletins": "bulletin",
    "/api/v1/bulletins/review": "bulletin",
    "/bulletins/review": "bulletin",
    "/api/v1/activities/{register}": "{register}",
    "/activities/{register}": "{register}",
    "/api/v1/reports": "report",
    "/reports": "report",
    "/api/v1/programmes": "programme",
    "/api/v1/announcements": "announcement",
    "/api/v1/devices": "device",
    "/fleet": "device",
    "/api/v1/alerts": "alert",
    "/alerts": "alert",
    "/exchange": "inbox",
    "/exchange/sent": "sent",
    "/exchange/statistics": "play",
    "/feedback": "feedback",
}


@dataclass(frozen=True)
class Route:
    path: str
    module: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    required_query: tuple[str, ...]

    @property
    def id_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.path_params if p not in ENUMS)

    def __str__(self) -> str:
        return self.path


def _query_fields(route: APIRoute) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    todo = [route.dependant]
    while todo:
        dependant = todo.pop()
        found += [(q.alias, q.field_info.is_required()) for q in dependant.query_params]
        todo += dependant.dependencies
    return found


def app_routes() -> list[Route]:
    routes = []
    for module_name in ROUTER_MODULES:
        for route in importlib.import_module(module_name).router.routes:
            if not isinstance(route, APIRoute) or "GET" not in route.methods:
                continue
            fields = _query_fields(route)
            routes.append(
                Route(
                    path=route.path,
                    module=module_name,
                    path_params=tuple(p.name for p in route.dependant.path_params),
                    query_params=tuple(name for name, _ in fields),
                    required_query=tuple(name for name, required in fields if required),
                )
            )
    return routes


ROUTES = app_routes()


def test_every_route_is_covered_by_the_tables() -> None:
    """A new route cannot slip past the walk: its path and query names must be in the tables."""
    problems = []
    for route in ROUTES:
        unknown = [p for p in route.path_params if p not in ENUMS and p not in IDS]
        if unknown and route.path not in UNSCOPED:
            problems.append(f"{route}: say in IDS how to name a record for {unknown}, or list it in UNSCOPED")
        fixed = FIXED_QUERY.get(route.path, {}) | QUERY_IDS.get(route.path, {})
        missing_required = [q for q in route.required_query if q not in fixed]
        if missing_required:
            problems.append(f"{route}: give a value for {missing_required} in FIXED_QUERY or QUERY_IDS")
        id_like = [
            q for q in route.query_params if q in ID_LIKE_QUERY and q not in QUERY_IDS.get(route.path, {})
        ]
        if id_like:
            problems.append(f"{route}: query {id_like} may name a record; list it in QUERY_IDS")
    for table in (UNSCOPED, QUERY_IDS, FIXED_QUERY, LIST_SHOWS):
        problems += [f"{path}: no such route" for path in table if path not in {r.path for r in ROUTES}]
    assert problems == []
    assert len(ROUTES) > 80  # every router was read


# ------------------------------------------------------------------------------------------- the walk


@dataclass
class Walker:
    clients: dict[str, TestClient]
    communes: dict[str, Commune]

    def get(self, user: str, url: str) -> tuple[int, bytes]:
        response = self.clients[user].get(url)
        assert response.status_code < 500, (user, url, response.text[:500])
        return response.status_code, response.content


@pytest.fixture
def walker(signed_in: dict[str, TestClient], communes: dict[str, Commune]) -> Walker:
    return Walker(signed_in, communes)


def _enum_values(route: Route) -> list[dict[str, str]]:
    names = [p for p in route.path_params if p in ENUMS]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(ENUMS[n] for n in names))]


def _url(route: Route, path_values: dict[str, str], query: dict[str, str]) -> str:
    path = route.path
    for name, value in path_values.items():
        path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:int}}", value)
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def _hidden_markers(user: str) -> list[bytes]:
    return [f"scopemark{letter}".encode() for letter in LETTERS if letter not in SEES[user]]


def _assert_hides(user: str, url: str, body: bytes) -> None:
    leaked = [m.decode() for m in _hidden_markers(user) if m in body]
    assert not leaked, f"{user} sees {leaked} at {url}"


def _walk_list(walker: Walker, route: Route, values: dict[str, str]) -> None:
    url = _url(route, values, FIXED_QUERY.get(route.path, {}))
    for user in USERS:
        _, body = walker.get(user, url)
        _assert_hides(user, url, body)
    shows = LIST_SHOWS.get(route.path)
    if shows is not None:
        _, body = walker.get(ADMIN, url)
        kind = shows.format(**values)
        absent = [letter for letter in LETTERS if f"scopemark{letter}{kind}".encode() not in body]
        assert not absent, f"the administrator's {url} does not list {kind} of {absent}"


def _walk_ids(
    walker: Walker,
    route: Route,
    values: dict[str, str],
    url_for: Callable[[Commune | None], str],
) -> None:
    for user in USERS:
        missing_url = url_for(None)
        missing_status, _ = walker.get(user, missing_url)
        for letter in LETTERS:
            url = url_for(walker.communes[letter])
            status, body = walker.get(user, url)
            _assert_hides(user, url, body)
            if letter in sees(user, route.id_params):
                assert status != 404, (user, url, body[:300])
                if user == opener(letter, route.id_params):
                    assert status < 400, (user, url, body[:300])
            else:
                assert status == missing_status, (user, url, status, missing_url, missing_status, body[:300])
                assert f"scopemark{letter}".encode() not in body, (user, url)


def _walk(walker: Walker, route: Route) -> None:
    fixed = FIXED_QUERY.get(route.path, {})
    for values in _enum_values(route):
        if route.id_params:

            def by_path(commune: Commune | None, values: dict[str, str] = values) -> str:
                named = {
                    p: IDS[p].value(commune, values) if commune is not None else IDS[p].missing
                    for p in route.id_params
                }
                return _url(route, values | named, fixed)

            _walk_ids(walker, route, values, by_path)
        else:
            _walk_list(walker, route, values)
        for name, param in QUERY_IDS.get(route.path, {}).items():
            if route.id_params:
                continue  # the path already names a record of the same commune

            def by_query(
                commune: Commune | None,
                values: dict[str, str] = values,
                name: str = name,
                param: IdParam = param,
            ) -> str:
                value = param.value(commune, values) if commune is not None else param.missing
                return _url(route, values, fixed | {name: value})

            _walk_ids(walker, route, values, by_query)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.path not in UNSCOPED], ids=str)
def test_route_shows_only_what_is_in_scope(walker: Walker, route: Route) -> None:
    _walk(walker, route)
