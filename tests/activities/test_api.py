"""The registers' HTTP API: CRUD, CSV import with per-row errors, export, scope and permissions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.activities.textcodec import encode_tcvn3
from loa.content.catalog import BulletinKind
from tests.activities.areas import Tree, build_tree
from tests.reports.world import bulletin, topic
from tests.support.auth import bearer, make_user

ACT = "/api/v1/activities"


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "xabato", Role.COMMUNE_OPERATOR, area_code="21484")
    make_user(session, "xem", Role.VIEWER, area_code="21484")
    make_user(session, "tinh", Role.PROVINCE_EDITOR, area_code="51")
    session.commit()
    return tree


PANEL = {
    "kind": "Pa nô",
    "place": "Ngã ba UBND xã",
    "width_m": "1,8",
    "height_m": 1.2,
    "sides": 2,
    "installed_on": "2024-01-02",
    "area_code": "21484",
    "topics": ["cchc"],
    "photo_refs": ["anh-1.jpg"],
}


def test_crud_round_trip(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    created = client.post(f"{ACT}/visual-items", headers=headers, json=PANEL)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["kind"] == "panel" and item["kind_label"] == "Pa nô" and item["width_m"] == 1.8
    assert (
        item["area"]["code"] == "21484" and item["topics"] == ["cchc"] and item["photo_refs"] == ["anh-1.jpg"]
    )
    url = f"{ACT}/visual-items/{item['id']}"
    patched = client.patch(url, headers=headers, json={"quantity": 3, "removed_on": "2024-01-10"})
    assert patched.status_code == 200 and patched.json()["quantity"] == 3
    bad = client.patch(url, headers=headers, json={"removed_on": "2023-12-31"})
    assert bad.status_code == 422 and "Ngày tháo dỡ phải sau ngày lắp đặt" in bad.json()["title"]
    listed = client.get(f"{ACT}/visual-items", headers=headers).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == item["id"]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_invalid_json_fields_get_vietnamese_errors(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    body = {**PANEL, "width_m": -1, "height_m": "0", "sides": 3, "installed_on": "2099-01-01"}
    response = client.post(f"{ACT}/visual-items", headers=headers, json=body)
    assert response.status_code == 422
    fields = {d["field"]: d["message"] for d in response.json()["details"]}
    assert fields["Rộng (m)"] == "Rộng (m) phải lớn hơn 0: -1"
    assert fields["Cao (m)"] == "Cao (m) phải lớn hơn 0: 0"
    assert "Số mặt" in fields and "tương lai" in fields["Ngày lắp đặt"]
    not_object = client.post(f"{ACT}/visual-items", headers=headers, json=[1, 2])
    assert not_object.status_code == 422
    assert client.get(f"{ACT}/khong-co", headers=headers).status_code == 404


def test_scope_and_permissions(client: TestClient, tree: Tree) -> None:
    operator, viewer, province = bearer(client, "xabato"), bearer(client, "xem"), bearer(client, "tinh")
    outside = {**PANEL, "area_code": "21490"}
    response = client.post(f"{ACT}/visual-items", headers=operator, json=outside)
    assert response.status_code == 422 and "ngoài phạm vi" in response.json()["title"]
    created = client.post(f"{ACT}/visual-items", headers=province, json=outside).json()
    assert client.get(f"{ACT}/visual-items/{created['id']}", headers=operator).status_code == 404
    assert client.get(f"{ACT}/visual-items", headers=operator).json()["total"] == 0
    assert client.post(f"{ACT}/visual-items", headers=viewer, json=PANEL).status_code == 403
    assert client.get(f"{ACT}/visual-items", headers=viewer).status_code == 200
    assert client.get(f"{ACT}/visual-items").status_code == 401


def test_csv_import_and_export_over_http(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "tinh")
    good = encode_tcvn3(
        "Loại,Địa điểm,Rộng (m),Cao (m),Ngày lắp đặt,Mã địa bàn\n"
        'băng rôn,chợ ba tơ,"0,8",6,01/02/2023,21484\n'
    )
    response = client.post(
        f"{ACT}/visual-items/import", headers=headers, files={"file": ("tcvn3.csv", good, "text/csv")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["created"] == 1 and response.json()["encoding"] == "TCVN3 (ABC)"
    bad = (
        "Loại,Địa điểm,Rộng (m),Cao (m),Ngày lắp đặt,Mã địa bàn\nPa nô,Chợ,-1,6,01/02/2023,21484\n"
        "Pa nô,Chợ,2,1,01/02/2030,XX\n"
    )
    response = client.post(
        f"{ACT}/visual-items/import", headers=headers, files={"file": ("loi.csv", bad.encode(), "text/csv")}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "import_failed" and "chưa nhập dòng nào" in problem["title"]
    assert [(e["row"], e["column"]) for e in problem["details"]["errors"]] == [
        (2, "Rộng (m)"),
        (3, "Ngày lắp đặt"),
        (3, "Mã địa bàn"),
    ]
    exported = client.get(f"{ACT}/visual-items/export.csv", headers=headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Loại,Địa điểm,Rộng (m),Cao (m)") and "chợ ba tơ" in lines[1]
    assert len(lines) == 2  # the refused file added nothing


def test_registers_and_topics_are_listed(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xem")
    keys = [r["key"] for r in client.get(ACT, headers=headers).json()]
    assert keys == ["radio-items", "portal-posts", "press-items", "visual-items", "mobile-trips", "events"]
    topics = client.get(f"{ACT}/topics", headers=headers).json()
    assert {"code": "cchc", "name": "Cải cách hành chính", "abbreviation": "CCHC"} in topics


def test_a_portal_entry_may_name_the_bulletin_it_repeats(
    client: TestClient, session: Session, tree: Tree
) -> None:
    """The link that keeps the report from counting a published bulletin twice: only a bulletin the
    person may see, named by its number (or "TB12" as reports show it)."""
    own = bulletin(session, BulletinKind.NEWS, "Tin của xã", tree.new_x, [topic(session, "cchc")])
    other = bulletin(session, BulletinKind.NEWS, "Tin của xã khác", tree.new_y, [])
    session.commit()
    headers = bearer(client, "xabato")
    post = {"kind": "Tin", "posted_on": "2024-03-01", "area_code": "21484", "title": "Tin của xã"}
    made = client.post(f"{ACT}/portal-posts", headers=headers, json={**post, "bulletin_id": f"TB{own.id}"})
    assert made.status_code == 201, made.text
    assert made.json()["bulletin_id"] == own.id
    for bad in (str(other.id), "999999", "không"):
        refused = client.post(f"{ACT}/portal-posts", headers=headers, json={**post, "bulletin_id": bad})
        assert refused.status_code == 422, refused.text
        assert "Mã tin bài trên Loa" in refused.text
    csv = f"Loại,Ngày đăng,Mã địa bàn,Mã tin bài trên Loa\nTin,02/03/2024,21484,{own.id}\n".encode()
    imported = client.post(
        f"{ACT}/portal-posts/import", headers=headers, files={"file": ("a.csv", csv, "text/csv")}
    )
    assert imported.status_code == 201, imported.text
