"""The installable app's files as the server sends them: the worker from the site's root with its
cache version filled in and never cached by HTTP, under the same security headers as every page;
the offline page the same for everyone (nothing of a signed-in person, so the worker may keep it);
and the worker's source keeps nothing but its shell."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.web.pwa import SHELL, SW_SOURCE, cache_version
from loa.web.security import CONTENT_SECURITY_POLICY
from tests.support.auth import login_web, make_user


def test_the_worker_is_served_from_the_root_with_its_version(client: TestClient) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert f'var VERSION = "{cache_version()}";' in response.text
    assert re.fullmatch(r"[0-9a-f]{12}", cache_version())


def test_the_worker_keeps_only_its_shell() -> None:
    source = SW_SOURCE.read_text("utf-8")
    listed = re.search(r"var SHELL = \[(.*?)\];", source)
    assert listed is not None
    assert tuple(re.findall(r'"([^"]+)"', listed[1])) == SHELL
    # The only write to a cache is the install's addAll of SHELL: no cache.put of what passes by.
    assert ".put(" not in source and source.count("addAll(") == 1


def test_the_offline_page_is_the_same_for_everyone(client: TestClient, session: Session) -> None:
    anonymous = client.get("/offline")
    assert anonymous.status_code == 200
    assert "Không có kết nối mạng" in anonymous.text
    assert "<script" not in anonymous.text and "set-cookie" not in anonymous.headers
    make_user(session, "vanhanh.pwa", "admin", display_name="Nguyễn Văn Pwa")
    session.commit()
    login_web(client, "vanhanh.pwa")
    signed_in = client.get("/offline")
    assert signed_in.text == anonymous.text
    assert "Pwa" not in signed_in.text and "csrf" not in signed_in.text


def test_the_manifest_names_the_app_in_vietnamese(client: TestClient) -> None:
    manifest = client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert (body["name"], body["short_name"], body["lang"]) == ("Loa — Hệ thống thông tin cơ sở", "Loa", "vi")
    assert [s["name"] for s in body["shortcuts"]] == ["Cụm loa", "Cảnh báo khẩn cấp"]
    assert 'rel="manifest" href="/manifest.webmanifest"' in client.get("/login").text
