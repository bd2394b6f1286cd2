"""E-boards: each area's board carries the live published bulletins of that unit and the levels above it
(never a neighbour's, never a draft), as canonical JSON signed with the server's Ed25519 key (a board
checks it with the published key; a changed byte fails) and as Atom."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.principal import Role
from loa.accounts.service import principal_for
from loa.content import photos, renditions
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.workflow import Action
from loa.db import make_session_factory
from loa.eboards import signing
from loa.settings import Settings
from tests.exchange.world import BA_TO, BA_VI, PROVINCE, seed_areas
from tests.feedback.conftest import jpeg
from tests.schedule.world import audio_asset
from tests.support.auth import make_user

ATOM = "{http://www.w3.org/2005/Atom}"


def _bulletin(
    s: Session, settings: Settings, title: str, area: str, *, publish: bool = True, photo: bool = False
) -> int:
    people = {u.username: principal_for(s, u) for u in s.scalars(select(User))}
    editor, approver = people["bientap"], people["duyet"]
    b = content.create_bulletin(
        s, principal=editor, draft=DraftInput(title=title, body=f"{title}: nội dung.", area_code=area)
    )
    sha = audio_asset(s, title, 12.0)
    renditions.attach_recording(
        s, principal=editor, bulletin_id=b.id, language="vi", audio_sha256=sha, duration_ms=12000
    )
    if photo:
        photos.add_photo(
            s,
            principal=editor,
            store=photos.PhotoStore(settings.data_dir / "photos"),
            bulletin_id=b.id,
            data=jpeg(),
            caption="Hiện trường",
        )
    if publish:
        content.transition(s, principal=editor, bulletin_id=b.id, action=Action.SUBMIT)
        content.transition(s, principal=approver, bulletin_id=b.id, action=Action.APPROVE)
        content.transition(s, principal=approver, bulletin_id=b.id, action=Action.PUBLISH)
    return b.id


@pytest.fixture
def client(app: FastAPI, engine: object, settings: Settings) -> Iterator[TestClient]:
    with make_session_factory(app.state.engine)() as s:
        seed_areas(s)
        make_user(s, "bientap", Role.PROVINCE_EDITOR, PROVINCE)
        make_user(s, "duyet", Role.APPROVER, PROVINCE)
        _bulletin(s, settings, "Tỉnh: lịch nghỉ lễ", PROVINCE)
        _bulletin(s, settings, "Ba Tơ: sửa đường liên thôn", BA_TO, photo=True)
        _bulletin(s, settings, "Ba Vì: họp dân", BA_VI)
        _bulletin(s, settings, "Ba Tơ: bản nháp chưa duyệt", BA_TO, publish=False)
        s.commit()
    with TestClient(app) as c:
        yield c


def test_a_communes_board_has_its_own_and_the_provinces_bulletins_signed(
    client: TestClient, tmp_path: Path
) -> None:
    response = client.get(f"/feeds/eboards/v1/{BA_TO}.json")
    assert response.status_code == 200
    document = response.json()
    assert document["area"] == {"code": BA_TO, "name": "Xã Ba Tơ"}
    assert sorted(i["title"] for i in document["items"]) == [
        "Ba Tơ: sửa đường liên thôn",
        "Tỉnh: lịch nghỉ lễ",
    ]
    ba_to = next(i for i in document["items"] if i["area"]["code"] == BA_TO)
    assert ba_to["photos"][0]["caption"] == "Hiện trường" and ba_to["photos"][0]["url"].endswith(
        ba_to["photos"][0]["sha256"]
    )
    assert ba_to["audio"][0]["language"] == "vi" and ba_to["audio"][0]["duration_ms"] == 12000
    assert client.get(ba_to["photos"][0]["url"]).status_code == 200  # public once published

    key = client.get("/feeds/eboards/v1/key").json()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    assert response.headers["X-Loa-Key-Id"] == key["key_id"]
    signature = response.headers["X-Loa-Signature"]
    assert signing.verify(response.content, signature, public)
    assert not signing.verify(
        response.content.replace("Ba Tơ".encode(), "Ba Tô".encode(), 1), signature, public
    )
    public.verify(base64.b64decode(signature), b"loa-eboard/v1\n" + response.content)  # as documented
    province = client.get(f"/feeds/eboards/v1/{PROVINCE}.json").json()
    assert [i["title"] for i in province["items"]] == ["Tỉnh: lịch nghỉ lễ"]  # not the communes'


def test_the_same_board_as_atom(client: TestClient) -> None:
    response = client.get(f"/feeds/eboards/v1/{BA_VI}.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.findtext(f"{ATOM}id") == f"urn:loa:eboards:{BA_VI}"
    titles = sorted(e.findtext(f"{ATOM}title") or "" for e in feed.findall(f"{ATOM}entry"))
    assert titles == ["Ba Vì: họp dân", "Tỉnh: lịch nghỉ lễ"]
    enclosures = [
        link.get("type")
        for e in feed.findall(f"{ATOM}entry")
        for link in e.findall(f"{ATOM}link")
        if link.get("rel") == "enclosure"
    ]
    assert enclosures == ["audio/mpeg", "audio/mpeg"]


def test_an_unknown_area_has_no_board(client: TestClient) -> None:
    response = client.get("/feeds/eboards/v1/99999.json")
    assert response.status_code == 404 and response.json()["title"] == "Không có địa bàn với mã này."
