"""The second language: catalogs keyed by the Vietnamese text, chosen by the person (a cookie) or by a
browser that asks for English and not Vietnamese; Vietnamese otherwise. Every marked string of the
pages has its English; every English entry is still used; placeholders agree."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.navigation import NAVIGATION
from loa.web.i18n import CATALOG_DIR, LOCALES, accepted_locale, catalog, translate
from tests.support.auth import login_web, make_user

SRC = Path(__file__).resolve().parent.parent / "src" / "loa"
MARKED = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def _marked() -> set[str]:
    found = set()
    for path in SRC.rglob("*.html"):
        for match in MARKED.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", None),  # Vietnamese asked for: Vietnamese
        ("en-GB,en;q=0.9,vi;q=0.5", None),
        ("fr-FR,fr;q=0.9", None),
        ("en;q=0", None),
        ("", None),
        (None, None),
    ],
)
def test_accept_language_chooses_english_only_without_vietnamese(
    header: str | None, expected: str | None
) -> None:
    assert accepted_locale(header) == expected


def test_translate_falls_back_to_vietnamese_and_fills_values() -> None:
    assert translate("en", "Lịch phát sóng") == "Broadcast schedule"
    assert translate("en", "Một câu chưa dịch") == "Một câu chưa dịch"
    assert translate("vi", "Lịch phát sóng") == "Lịch phát sóng"
    assert translate("en", "{n} thôn có tọa độ", n=4) == "4 villages with coordinates"
    assert translate("xx", "Lịch phát sóng") == "Lịch phát sóng"


def test_every_marked_string_and_the_navigation_have_english() -> None:
    english = catalog("en")
    wanted = _marked() | {item.label for item in NAVIGATION}
    missing = sorted(wanted - set(english))
    assert not missing, missing


def test_every_english_entry_is_used_and_keeps_its_placeholders() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*") if p.suffix in (".html", ".py"))
    for code in LOCALES:
        if code == "vi":
            continue
        assert (CATALOG_DIR / f"{code}.json").exists()
        for message, translated in catalog(code).items():
            assert message in sources, f"{code}: «{message}» is no longer on any page"
            assert _fields(message) == _fields(translated), message
            assert translated.strip() and translated != message, message


@pytest.fixture
def operator(session: Session) -> str:
    make_user(session, "vanhanh", Role.ADMIN)
    session.commit()
    return "vanhanh"


def test_the_pages_follow_the_choice(client: TestClient, operator: str) -> None:
    login_web(client, operator)
    page = client.get("/schedule/programmes/new")
    assert '<html lang="vi">' in page.text and "Lịch phát sóng" in page.text
    english_browser = client.get("/schedule/programmes/new", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english_browser.text and ">Broadcast schedule<" in english_browser.text

    switched = client.get("/locale/en", params={"next": "/map"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/map"
    page = client.get("/schedule/programmes/new", headers={"Accept-Language": "vi"})
    assert '<html lang="en">' in page.text  # a person's choice beats the browser
    assert "Save programme" in page.text and "Several times a day, at …" in page.text
    assert ">Loudspeakers<" in page.text and ">Audit log<" in page.text

    back = client.get("/locale/vi", params={"next": "//evil.example/x"}, follow_redirects=False)
    assert back.headers["location"] == "/"  # never another site
    assert '<html lang="vi">' in client.get("/map").text
    assert client.get("/locale/fr").status_code == 404
