"""Fixtures for areas tests: a session on the imported country, and principals of each kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.app import create_app
from loa.db import make_session_factory
from loa.settings import Settings
from tests.support.auth import make_user


@pytest.fixture
def country(areas_engine: Engine) -> Iterator[Session]:
    """A session on a copy of the database with every unit (and the history) imported."""
    factory = make_session_factory(areas_engine)
    with factory() as s:
        yield s


ADMIN = Principal(user_id=1, username="admin", display_name="Quản trị", role=Role.ADMIN)
BA_TO_OPERATOR = Principal(
    user_id=2,
    username="bato",
    display_name="Cán bộ đài xã Ba Tơ",
    role=Role.COMMUNE_OPERATOR,
    scope_paths=("/51/21484/",),
    scope_label="Xã Ba Tơ",
)
PROVINCE_EDITOR = Principal(
    user_id=3,
    username="bientap",
    display_name="Biên tập viên tỉnh",
    role=Role.PROVINCE_EDITOR,
    scope_paths=("/51/",),
    scope_label="Quảng Ngãi",
)
VIEWER_BA_TO = Principal(
    user_id=4, username="xem", display_name="Người xem", role=Role.VIEWER, scope_paths=("/51/21484/",)
)


@pytest.fixture
def country_client(settings: Settings, areas_engine: Engine) -> Iterator[TestClient]:
    """A web client on the imported country."""
    with TestClient(create_app(settings, engine=areas_engine)) as client:
        yield client


@pytest.fixture
def people(country: Session) -> None:
    """Users through the real accounts service: an administrator, Ba Tơ's operator, a viewer of
    Ba Tơ and an editor of the whole province."""
    make_user(country, "quantri", Role.ADMIN)
    make_user(country, "bato", Role.COMMUNE_OPERATOR, "21484")
    make_user(country, "xembato", Role.VIEWER, "21484")
    make_user(country, "bientap", Role.PROVINCE_EDITOR, "51")
    country.commit()
