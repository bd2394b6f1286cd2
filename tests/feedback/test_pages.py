"""Citizens' feedback through the real pages (TestClient): a citizen without an account sends to their
commune with a photo and a voice note, officers of that commune (and only they) see the number, one
answers, the citizen reads the answer by code and gets an SMS; the answer becomes a bulletin draft.
Abuse is refused in Vietnamese: floods, oversized files, script, a wrong or reused challenge, robots
filling the hidden field, a form without its CSRF token, an SMS webhook without its token."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent, User
from loa.content.catalog import Status
from loa.content.models import Bulletin
from loa.feedback.models import Feedback, FeedbackChannel, FeedbackState
from tests.exchange.world import BA_TO, BA_VI
from tests.feedback.conftest import SMS_TOKEN, FakeSms, answer_of, code_of, hidden, jpeg, send_feedback
from tests.fleet.harness import wav_bytes
from tests.support.auth import login_web


def items(world: Session) -> list[Feedback]:
    world.expire_all()
    return list(world.scalars(select(Feedback).order_by(Feedback.id)))


def test_a_citizen_sends_an_officer_answers_and_the_citizen_reads_it_by_code(
    client: TestClient, world: Session, sms: FakeSms
) -> None:
    form = client.get(f"/gop-y/{BA_TO}")
    assert form.status_code == 200 and "Góp ý, phản ánh với Xã Ba Tơ" in form.text
    assert "<script>" not in form.text and "Xã Ba Vì" not in form.text
    status, page = send_feedback(
        client,
        phone="0912 345 678",
        name="Nguyễn Thị Hoa",
        topic="y-te",
        files={
            "photo": ("den.jpg", jpeg(), "image/jpeg"),
            "voice": ("loi-noi.wav", wav_bytes(3.0), "audio/wav"),
        },
    )
    assert status == 200, page
    code = code_of(page)
    [item] = items(world)
    assert (item.phone, item.sender_name, item.channel) == (
        "0912345678",
        "Nguyễn Thị Hoa",
        FeedbackChannel.WEB,
    )
    assert (
        item.photo_type == "image/jpeg"
        and item.voice_type == "audio/wav"
        and 2900 <= (item.voice_ms or 0) <= 3100
    )
    assert "testclient" not in item.source_key and len(item.source_key) == 32  # the address is not kept
    event = world.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.receive")).one()
    assert event.area_id == item.commune_id and "0912345678" not in str(event.details)

    # An officer of the commune sees the number; a province officer sees the item without it; the
    # other commune's officer does not see it at all.
    login_web(client, "bientap.tinh")
    assert "0912 ••• 678" in client.get(f"/feedback/{item.id}").text
    assert "Nguyễn Thị Hoa" not in client.get(f"/feedback/{item.id}").text
    client.post("/logout", data={"csrf_token": hidden(client.get("/").text, "csrf_token")})
    login_web(client, "vanhanh.bavi")
    assert client.get(f"/feedback/{item.id}").status_code == 404
    assert "Gò Khoại" not in client.get("/feedback").text
    client.post("/logout", data={"csrf_token": hidden(client.get("/").text, "csrf_token")})
    csrf = login_web(client, "vanhanh.bato")
    queue = client.get("/feedback").text
    assert "Đèn đường thôn Gò Khoại" in queue and "Mới nhận" in queue
    detail = client.get(f"/feedback/{item.id}").text
    assert "0912345678" in detail and "Nguyễn Thị Hoa" in detail
    assert client.get(f"/feedback/{item.id}/photo").content == jpeg()
    answer = "Xã đã giao tổ điện thôn thay bóng đèn trong tuần này. Cảm ơn bà con."
    replied = client.post(
        f"/feedback/{item.id}/reply",
        data={"csrf_token": csrf, "text": answer, "version": str(item.version)},
        follow_redirects=False,
    )
    assert replied.status_code == 303
    assert len(sms.sent) == 1 and sms.sent[0][0] == "0912345678" and "Xã Ba Tơ đã trả lời" in sms.sent[0][1]
    [item] = items(world)
    assert (
        item.state is FeedbackState.ANSWERED and item.notified_at is not None and item.answered_at is not None
    )

    # The citizen, on another device: only the code.
    citizen = TestClient(client.app)
    lookup = citizen.get("/gop-y/tra-cuu").text
    shown = citizen.post(
        "/gop-y/tra-cuu", data={"csrf_token": hidden(lookup, "csrf_token"), "code": code.lower()}
    )
    assert shown.status_code == 200 and answer in shown.text and "Đã có trả lời" in shown.text
    assert "0912" not in shown.text and "Nguyễn Thị Hoa" not in shown.text
    wrong = citizen.post(
        "/gop-y/tra-cuu", data={"csrf_token": hidden(lookup, "csrf_token"), "code": "AAAAA-BBBBB"}
    )
    assert wrong.status_code == 404 and "Không tìm thấy ý kiến với mã tra cứu này" in wrong.text

    # The answer goes on the loudspeakers only as a draft that still needs approval.
    made = client.post(f"/feedback/{item.id}/bulletin", data={"csrf_token": csrf}, follow_redirects=False)
    assert made.status_code == 303
    bulletin = world.get_one(Bulletin, int(made.headers["location"].rsplit("/", 1)[1]))
    assert bulletin.status is Status.DRAFT and bulletin.body_text == answer and "Hoa" not in bulletin.title
    assert [t.code for t in bulletin.topics] == ["y-te"]


def test_a_flood_of_posts_from_one_source_is_refused(client: TestClient, world: Session) -> None:
    for n in range(3):
        status, page = send_feedback(client, text=f"Phản ánh số {n + 1} về rác thải ở chợ Ba Tơ.")
        assert status == 200, page
    status, page = send_feedback(client, text="Phản ánh số 4 về rác thải ở chợ Ba Tơ.")
    assert status == 429
    assert "Bạn đã gửi 3 ý kiến trong 1 giờ qua" in page and "Phản ánh số 4" in page  # the text is kept
    assert len(items(world)) == 3


def test_oversized_files_are_refused_with_the_limit(client: TestClient, world: Session) -> None:
    big = jpeg() + b"\0" * 250_000
    status, page = send_feedback(client, files={"photo": ("to.jpg", big, "image/jpeg")})
    assert status == 413 and "Ảnh quá lớn" in page
    status, page = send_feedback(
        client, files={"voice": ("dai.wav", wav_bytes(25.0, rate=4000), "audio/wav")}
    )
    assert status == 422 and "Ghi âm dài quá 20 giây" in page
    whole = send_feedback(client, files={"photo": ("a.jpg", b"\0" * 700_000, "image/jpeg")})
    assert whole[0] == 413 and "Tệp gửi kèm quá lớn" in whole[1]
    not_a_photo = send_feedback(
        client, files={"photo": ("a.jpg", b"<html><script>x</script></html>", "image/jpeg")}
    )
    assert not_a_photo[0] == 422 and "không phải ảnh hợp lệ" in not_a_photo[1]
    assert items(world) == []


def test_script_in_the_text_is_refused(client: TestClient, world: Session) -> None:
    status, page = send_feedback(client, text="Đường hỏng <script>alert('x')</script>")
    assert status == 422 and "không được chứa mã HTML hay mã lệnh" in page
    assert "<script>alert" not in page  # shown back escaped, never as markup
    assert items(world) == []


def test_the_challenge_must_be_right_and_is_used_once(client: TestClient, world: Session) -> None:
    status, page = send_feedback(client, answer="99")
    assert status == 422 and "phép tính chưa đúng" in page
    form = client.get(f"/gop-y/{BA_TO}").text
    data = {
        "csrf_token": hidden(form, "csrf_token"),
        "challenge": hidden(form, "challenge"),
        "answer": answer_of(form),
        "text": "Cống thoát nước thôn 1 bị tắc, nước tràn ra đường.",
    }
    assert client.post(f"/gop-y/gui?commune={BA_TO}", data=data).status_code == 200
    replayed = client.post(f"/gop-y/gui?commune={BA_TO}", data=data)
    assert replayed.status_code == 422 and "phép tính" in replayed.text
    assert len(items(world)) == 1


def test_robots_and_forged_forms_are_refused(client: TestClient, world: Session) -> None:
    status, page = send_feedback(client, website="http://spam.example")
    assert status == 422 and "Không gửi được ý kiến" in page
    form = client.get(f"/gop-y/{BA_TO}").text
    forged = client.post(
        f"/gop-y/gui?commune={BA_TO}",
        data={
            "challenge": hidden(form, "challenge"),
            "answer": "3",
            "text": "Một phản ánh không có mã CSRF.",
        },
    )
    assert forged.status_code == 403 and "tải lại trang" in forged.text
    assert client.get("/gop-y/99999").status_code == 404
    assert client.post("/gop-y/gui?commune=99999", data={}).status_code == 404
    assert client.get(f"/gop-y/{BA_VI}").status_code == 200
    assert items(world) == []


def test_the_sms_and_hotline_seam(client: TestClient, world: Session) -> None:
    body = {"from": "+84912000111", "text": "Xin hỏi lịch tiêm chủng cho trẻ ở xã.", "commune": BA_VI}
    assert client.post("/api/feedback/v1/sms", json=body).status_code == 401
    wrong = client.post("/api/feedback/v1/sms", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    sent = client.post("/api/feedback/v1/sms", json=body, headers={"Authorization": f"Bearer {SMS_TOKEN}"})
    assert sent.status_code == 201 and len(sent.json()["tracking_code"]) == 11
    [item] = items(world)
    assert item.channel is FeedbackChannel.SMS and item.phone == "0912000111"
    for _ in range(2):
        client.post("/api/feedback/v1/sms", json=body, headers={"Authorization": f"Bearer {SMS_TOKEN}"})
    flooded = client.post("/api/feedback/v1/sms", json=body, headers={"Authorization": f"Bearer {SMS_TOKEN}"})
    assert flooded.status_code == 429 and flooded.headers["Retry-After"] == "3600"


def test_an_officer_assigns_an_item_to_someone_of_the_commune(client: TestClient, world: Session) -> None:
    assert client.get("/gop-y").status_code == 200
    status, _page = send_feedback(client)
    assert status == 200
    [item] = items(world)
    users = {u.username: u.id for u in world.scalars(select(User))}
    csrf = login_web(client, "vanhanh.bato")
    refused = client.post(
        f"/feedback/{item.id}/assign",
        data={"csrf_token": csrf, "user_id": str(users["vanhanh.bavi"]), "version": str(item.version)},
    )
    assert refused.status_code == 422 and "cán bộ phụ trách xã này" in refused.text
    done = client.post(
        f"/feedback/{item.id}/assign",
        data={"csrf_token": csrf, "user_id": str(users["bientap.tinh"]), "version": str(item.version)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    [item] = items(world)
    assert item.state is FeedbackState.ASSIGNED and item.assignee_id == users["bientap.tinh"]
    stale = client.post(
        f"/feedback/{item.id}/assign",
        data={"csrf_token": csrf, "user_id": str(users["vanhanh.bato"]), "version": "1"},
    )
    assert stale.status_code == 409 and "người khác cập nhật" in stale.text
    assert "Đang xử lý" in client.get("/feedback?state=assigned").text
    assert "Đèn đường" not in client.get("/feedback?state=answered").text
