"""The leader (approver) draws up, reads and downloads the reports of their areas, through the API and
the pages, and nowhere else; a viewer may read but not make them. Making and downloading are audited,
and the audit page names them in Vietnamese."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.accounts.principal import ROLES, Permission, Principal, Role
from loa.activities import service
from loa.activities.registers import MOBILE
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, login_web, make_user

ADMIN = Principal(user_id=0, username="admin", display_name="Quản trị", role=Role.ADMIN)
YEAR_2024 = {"kind": "year", "year": 2024}


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "lanhdao.bato", Role.APPROVER, area_code="21484", display_name="Trần Văn Bình")
    make_user(session, "xem", Role.VIEWER, area_code="21484")
    service.create_record(
        session,
        spec=MOBILE,
        principal=ADMIN,
        data={"trip_on": "2024-01-01", "ends_on": "2024-12-31", "quantity": 14, "area": "21484"},
        today=date(2025, 1, 5),
    )
    session.commit()
    return tree


def _events(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def test_which_roles_make_reports() -> None:
    makers = {role for role, info in ROLES.items() if Permission.MAKE_REPORTS in info.permissions}
    assert makers == {Role.ADMIN, Role.PROVINCE_EDITOR, Role.APPROVER, Role.COMMUNE_OPERATOR}


def test_a_leader_generates_reads_and_downloads_through_the_api(
    client: TestClient, session: Session, tree: Tree
) -> None:
    headers = bearer(client, "lanhdao.bato")
    made = client.post(
        "/api/v1/reports", headers=headers, json={"period": YEAR_2024, "area_id": tree.new_x.id}
    )
    assert made.status_code == 201, made.text
    report = made.json()
    assert {f["key"]: f["value"] for f in report["figures"]}["mobile.trip"] == 14
    assert client.get(f"/api/v1/reports/{report['id']}", headers=headers).status_code == 200
    assert [r["id"] for r in client.get("/api/v1/reports", headers=headers).json()] == [report["id"]]
    docx = client.get(f"/api/v1/reports/{report['id']}/report.docx", headers=headers)
    assert docx.status_code == 200 and docx.content[:2] == b"PK"

    # Only within the leader's areas.
    outside = client.post(
        "/api/v1/reports", headers=headers, json={"period": YEAR_2024, "area_id": tree.new_y.id}
    )
    assert outside.status_code == 404
    # A viewer reads but does not make reports.
    viewer = bearer(client, "xem")
    refused = client.post(
        "/api/v1/reports", headers=viewer, json={"period": YEAR_2024, "area_id": tree.new_x.id}
    )
    assert refused.status_code == 403
    assert client.get(f"/api/v1/reports/{report['id']}", headers=viewer).status_code == 200

    made_events = _events(session, "report.generate")
    assert [(e.actor_name, e.target_id, e.area_id) for e in made_events] == [
        ("lanhdao.bato", str(report["id"]), tree.new_x.id)
    ]
    assert made_events[0].details["title"] == report["title"]
    downloads = _events(session, "report.download")
    assert [(e.actor_name, e.details["format"]) for e in downloads] == [("lanhdao.bato", "docx")]


def test_a_leader_draws_up_a_report_on_the_pages(client: TestClient, session: Session, tree: Tree) -> None:
    csrf = login_web(client, "lanhdao.bato")
    listing = client.get("/reports").text
    assert 'data-testid="new-report"' in listing
    form = client.get("/reports/new")
    assert form.status_code == 200 and 'value="21484"' in form.text
    posted = client.post(
        "/reports",
        data={"csrf_token": csrf, "period": "year", "year": "2024", "area": "21484", "number": "07"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    page = client.get(posted.headers["location"]).text
    assert 'data-testid="figure-mobile.trip"' in page
    report_id = int(posted.headers["location"].rsplit("/", 1)[1])
    download = client.get(f"/reports/{report_id}/files/xlsx")
    assert download.status_code == 200
    audit_page = client.get("/audit").text
    table = audit_page.split('data-testid="audit-table"', 1)[1].split("</table>", 1)[0]
    assert ">Lập báo cáo</td>" in table and ">Tải tệp báo cáo</td>" in table

    viewer = TestClient(client.app)
    login_web(viewer, "xem")
    assert 'data-testid="new-report"' not in viewer.get("/reports").text
    assert viewer.get("/reports/new").status_code == 403
