"""Topics: seeded by ``loa db upgrade`` (and only there: a page that lists them never writes), added
by administrators and approvers through the API, audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.accounts.principal import Role
from loa.db.migrate import downgrade, upgrade
from loa.topics.models import Topic
from loa.units.models import AdminUnit, UnitKind
from tests.support.auth import bearer, login_web, make_user

DEFAULT_CODES = [
    "cchc",
    "chinh-sach-phap-luat",
    "nong-nghiep",
    "y-te",
    "giao-duc",
    "phong-chong-thien-tai",
    "an-ninh-trat-tu",
    "van-hoa-xa-hoi",
    "chuyen-doi-so",
    "dan-toc-ton-giao",
]


def topics(session: Session) -> list[Topic]:
    session.expire_all()
    return list(session.scalars(select(Topic).order_by(Topic.id)))


@pytest.fixture
def people(session: Session) -> None:
    session.add(
        AdminUnit(code="51", kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/")
    )
    session.flush()
    make_user(session, "quantri", Role.ADMIN)
    make_user(session, "lanhdao", Role.APPROVER, "51")
    make_user(session, "xem", Role.VIEWER, "51")
    session.commit()


def test_the_upgrade_seeds_the_default_topics_and_keeps_what_people_changed(
    engine: Engine, session: Session
) -> None:
    seeded = topics(session)
    assert [t.code for t in seeded] == DEFAULT_CODES
    assert (seeded[0].name, seeded[0].abbreviation, seeded[0].active) == ("Cải cách hành chính", "CCHC", True)

    session.execute(update(Topic).where(Topic.code == "y-te").values(active=False))
    session.execute(update(Topic).where(Topic.code == "cchc").values(name="Cải cách hành chính công"))
    session.execute(delete(Topic).where(Topic.code == "giao-duc"))
    session.commit()
    downgrade(engine, "0002")
    upgrade(engine)

    again = {t.code: t for t in topics(session)}
    assert sorted(again) == sorted(DEFAULT_CODES)  # the missing one is back, nothing doubled
    assert again["cchc"].name == "Cải cách hành chính công" and not again["y-te"].active


def test_pages_and_routes_that_list_topics_never_write(
    client: TestClient, session: Session, people: None
) -> None:
    session.execute(delete(Topic))
    session.commit()
    headers = bearer(client, "quantri")
    assert client.get("/api/v1/topics", headers=headers).json() == []
    assert client.get("/api/v1/activities/topics", headers=headers).json() == []
    login_web(client, "quantri")
    for page in (
        "/bulletins",
        "/bulletins/new",
        "/activities/visual-items",
        "/reports/new",
        "/reports/statistics",
    ):
        assert client.get(page).status_code == 200, page
    assert topics(session) == []


def test_approvers_add_topics_and_each_addition_is_audited(
    client: TestClient, session: Session, people: None
) -> None:
    created = client.post(
        "/api/v1/topics", json={"code": " Biển-Đảo ", "name": "Biển,  đảo"}, headers=bearer(client, "lanhdao")
    )
    assert created.status_code == 201 and created.json() == {"code": "biển-đảo", "name": "Biển, đảo"}
    listed = client.get("/api/v1/topics", headers=bearer(client, "xem")).json()
    assert listed[-1] == {"code": "biển-đảo", "name": "Biển, đảo"} and len(listed) == len(DEFAULT_CODES) + 1
    topic_id = session.scalar(select(Topic.id).where(Topic.code == "biển-đảo"))
    audited = session.scalar(
        select(func.count()).where(AuditEvent.action == "topic.create", AuditEvent.target_id == str(topic_id))
    )
    assert audited == 1

    again = client.post(
        "/api/v1/topics", json={"code": "biển-đảo", "name": "Khác"}, headers=bearer(client, "quantri")
    )
    assert again.status_code == 409 and again.json()["code"] == "duplicate_topic"
    refused = client.post(
        "/api/v1/topics", json={"code": "khac", "name": "Khác"}, headers=bearer(client, "xem")
    )
    assert refused.status_code == 403
    assert len(topics(session)) == len(DEFAULT_CODES) + 1
