"""The HTML pages: list with search, editor with reading preview, review queue, history with diff."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.content.conftest import COMMUNE_A, World
from tests.support.auth import csrf_token, login_web

SCRIPT = "<script>alert('x')</script>"


def create_via_form(client: TestClient, csrf: str, **fields: str | list[str]) -> int:
    data: dict[str, str | list[str]] = {
        "csrf_token": csrf,
        "title": "Lịch tiếp công dân",
        "body": "UBND xã tiếp công dân lúc 7h30 ngày 15/3/2025.",
        "kind": "announcement",
        "priority": "normal",
        "topics": ["cchc"],
        "area_code": COMMUNE_A,
    }
    data.update(fields)
    response = client.post("/bulletins/new", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/bulletins/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


def test_editor_list_search_and_escaping(client: TestClient, world: World) -> None:
    csrf = login_web(client, "bientap.a")
    bid = create_via_form(client, csrf, title=f"Cải cách hành chính {SCRIPT}", body=f"Nội dung {SCRIPT}")
    page = client.get(f"/bulletins/{bid}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    listing = client.get("/bulletins", params={"q": "cai cach"})
    assert f'href="/bulletins/{bid}"' in listing.text
    assert "<script>alert" not in listing.text
    assert f'href="/bulletins/{bid}"' not in client.get("/bulletins", params={"q": "bão lũ"}).text
    preview = client.post(
        "/bulletins/preview",
        data={"title": "Họp", "body": "Họp lúc 7h30 ngày 15/3/2025 tại UBND, gọi 0912345678."},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert "bảy giờ ba mươi" in preview.text or "bảy giờ" in preview.text
    assert 'id="reading-preview"' in preview.text


def test_conflict_in_the_form_keeps_the_typed_text(client: TestClient, world: World) -> None:
    csrf = login_web(client, "bientap.a")
    bid = create_via_form(client, csrf)
    base = {"csrf_token": csrf, "kind": "news", "priority": "normal", "area_code": COMMUNE_A, "version": "1"}
    first = client.post(
        f"/bulletins/{bid}", data={**base, "title": "Bản thứ nhất", "body": "A"}, follow_redirects=False
    )
    assert first.status_code == 303
    second = client.post(
        f"/bulletins/{bid}", data={**base, "title": "Bản thứ hai", "body": "Văn bản quý không được mất"}
    )
    assert second.status_code == 409
    assert "Bản tin đã được người khác sửa. Vui lòng tải lại" in second.text
    assert "Văn bản quý không được mất" in second.text  # kept for copying
    assert 'value="Bản thứ nhất"' in second.text  # the form now shows the newer saved version


def test_review_queue_return_and_history(client: TestClient, world: World) -> None:
    csrf = login_web(client, "bientap.a")
    bid = create_via_form(client, csrf)
    client.post(f"/bulletins/{bid}/step/submit", data={"csrf_token": csrf}, follow_redirects=False)
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login_web(client, "duyet.a")
    queue = client.get("/bulletins/review")
    assert f"/bulletins/{bid}/step/approve" in queue.text and "Trả lại" in queue.text
    returned = client.post(
        f"/bulletins/{bid}/step/return",
        data={"csrf_token": csrf, "comment": "Ghi rõ địa điểm.", "back": "review"},
        follow_redirects=False,
    )
    assert returned.status_code == 303 and returned.headers["location"] == "/bulletins/review"
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login_web(client, "bientap.a")
    page = client.get(f"/bulletins/{bid}")
    assert "Ghi rõ địa điểm." in page.text and "Bị trả lại" in page.text
    edited = client.post(
        f"/bulletins/{bid}",
        follow_redirects=False,
        data={
            "csrf_token": csrf,
            "title": "Lịch tiếp công dân",
            "body": "UBND xã tiếp công dân lúc 7h30 ngày 15/3/2025 tại hội trường.",
            "kind": "announcement",
            "priority": "normal",
            "area_code": COMMUNE_A,
            "version": re.search(r'name="version" value="(\d+)"', page.text).group(1),  # type: ignore[union-attr]
        },
    )
    assert edited.status_code == 303, edited.text[-3000:]
    history = client.get(f"/bulletins/{bid}/revisions")
    assert history.status_code == 200
    assert "<del>15/3/2025.</del><ins>15/3/2025 tại hội trường.</ins>" in history.text


def test_the_approver_reads_the_words_the_voice_will_say(client: TestClient, world: World) -> None:
    """What is approved includes the reading (issue 20, point 1): the page shows the sealed words."""
    csrf = login_web(client, "bientap.a")
    bid = create_via_form(client, csrf)
    assert 'data-testid="sealed-readings"' not in client.get(f"/bulletins/{bid}").text  # still a draft
    client.post(f"/bulletins/{bid}/step/submit", data={"csrf_token": csrf}, follow_redirects=False)
    client.post("/logout", data={"csrf_token": csrf})
    login_web(client, "duyet.a")
    page = client.get(f"/bulletins/{bid}")
    sealed = page.text.split('data-testid="sealed-readings"', 1)[1].split("</section>", 1)[0]
    assert "Tiếng Việt" in sealed and "ủy ban nhân dân xã tiếp công dân lúc bảy giờ ba mươi" in sealed
    approved = client.post(
        f"/bulletins/{bid}/step/approve", data={"csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert approved.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_web(client, "bientap.a")
    page = client.get(f"/bulletins/{bid}")  # new speech of approved text must be approved again
    assert 'data-testid="tts-new-revision"' in page.text and "phải duyệt lại" in page.text
