"""Bulletin use cases on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.content import queries, service
from loa.content.catalog import Status
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.content.queries import Filters, parse_filters
from loa.content.workflow import Action
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.content.conftest import COMMUNE_A, COMMUNE_B, World


def draft(**overrides: object) -> DraftInput:
    values: dict[str, object] = {
        "title": "Thông báo lịch tiếp công dân tháng 3",
        "body": "UBND xã **Ba Tơ** tiếp công dân vào sáng thứ Hai hằng tuần.",
        "kind": "announcement",
        "priority": "normal",
        "topics": ["cchc"],
        "area_code": COMMUNE_A,
        "organisation": "UBND xã Ba Tơ",
        "tags": ["tiếp dân", "#CCHC"],
    }
    values.update(overrides)
    return DraftInput(**values)  # type: ignore[arg-type]


def test_create_validates_and_records(session: Session, world: World) -> None:
    b = service.create_bulletin(session, principal=world.editor_a, draft=draft())
    session.commit()
    assert b.status is Status.DRAFT and b.version == 1 and b.revision_no == 1
    assert [t.code for t in b.topics] == ["cchc"]
    assert b.tags == ["tiếp dân", "CCHC"]
    assert b.body_html == "<p>UBND xã <strong>Ba Tơ</strong> tiếp công dân vào sáng thứ Hai hằng tuần.</p>"
    assert "ba to" in b.search_folded
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "bulletin")).all()
    assert actions == ["bulletin.create"]
    with pytest.raises(InvalidInput, match="Chủ đề"):
        service.create_bulletin(session, principal=world.editor_a, draft=draft(topics=["khong-co"]))
    with pytest.raises(PermissionDenied):
        service.create_bulletin(session, principal=world.editor_a, draft=draft(area_code=COMMUNE_B))
    with pytest.raises(PermissionDenied):
        service.create_bulletin(session, principal=world.approver_a, draft=draft())


def test_stale_save_is_refused_and_the_text_returned(session: Session, world: World) -> None:
    b = service.create_bulletin(session, principal=world.editor_a, draft=draft())
    session.commit()
    first = service.update_bulletin(
        session,
        principal=world.operator_a,
        bulletin_id=b.id,
        draft=draft(title="Bản của người thứ nhất"),
        expected_version=1,
    )
    session.commit()
    assert first.version == 2
    mine = draft(title="Bản của người thứ hai", body="Đoạn văn dài tôi vừa gõ")
    with pytest.raises(Conflict) as err:
        service.update_bulletin(
            session, principal=world.editor_a, bulletin_id=b.id, draft=mine, expected_version=1
        )
    assert err.value.message.startswith("Bản tin đã được người khác sửa. Vui lòng tải lại")
    assert err.value.details["your_changes"]["body"] == "Đoạn văn dài tôi vừa gõ"
    assert err.value.details["current_version"] == 2
    session.rollback()
    assert session.get_one(Bulletin, b.id).title == "Bản của người thứ nhất"


def test_concurrent_sessions_cannot_both_win(session: Session, world: World) -> None:
    """Both read version 1 before either writes: the row version check at flush stops the second."""
    b = service.create_bulletin(session, principal=world.editor_a, draft=draft())
    session.commit()
    bind = session.get_bind()
    with Session(bind) as one, Session(bind) as two:
        service.get_bulletin(one, principal=world.editor_a, bulletin_id=b.id)
        service.get_bulletin(two, principal=world.operator_a, bulletin_id=b.id)
        service.update_bulletin(
            one, principal=world.editor_a, bulletin_id=b.id, draft=draft(title="Một"), expected_version=1
        )
        one.commit()
        with pytest.raises(Conflict):
            service.update_bulletin(
                two,
                principal=world.operator_a,
                bulletin_id=b.id,
                draft=draft(title="Hai"),
                expected_version=1,
            )
        two.rollback()
    session.expire_all()
    assert session.get_one(Bulletin, b.id).title == "Một"


def _through_review(session: Session, world: World) -> Bulletin:
    b = service.create_bulletin(session, principal=world.editor_a, draft=draft())
    service.transition(session, principal=world.editor_a, bulletin_id=b.id, action=Action.SUBMIT)
    service.transition(session, principal=world.approver_a, bulletin_id=b.id, action=Action.APPROVE)
    service.transition(session, principal=world.editor_a, bulletin_id=b.id, action=Action.PUBLISH)
    session.commit()
    return b


def test_edit_after_publication_needs_new_approval_and_keeps_the_live_text(
    session: Session, world: World
) -> None:
    b = _through_review(session, world)
    assert (b.status, b.approved_revision_no, b.published_revision_no) == (Status.PUBLISHED, 1, 1)
    service.update_bulletin(
        session,
        principal=world.editor_a,
        bulletin_id=b.id,
        draft=draft(body="UBND xã Ba Tơ tiếp công dân vào sáng thứ Ba hằng tuần."),
        expected_version=b.version,
    )
    session.commit()
    assert (b.status, b.revision_no, b.published_revision_no) == (Status.DRAFT, 2, 1)
    live = queries.published(session, filters=Filters())
    assert [p.bulletin.id for p in live] == [b.id]
    assert "thứ Hai" in live[0].content["body_text"]  # the approved text stays live
    diff = queries.revision_diff(session, principal=world.approver_a, bulletin_id=b.id, old=1, new=2)
    body = next(d for d in diff if d.field == "body")
    assert "<del>Hai</del>" in body.html and "<ins>Ba</ins>" in body.html
    assert not next(d for d in diff if d.field == "title").changed
    # The second revision goes through review again; the approver may not approve stale content.
    service.transition(session, principal=world.editor_a, bulletin_id=b.id, action=Action.SUBMIT)
    with pytest.raises(Conflict):
        service.transition(
            session, principal=world.approver_a, bulletin_id=b.id, action=Action.APPROVE, expected_version=1
        )
    service.transition(session, principal=world.approver_a, bulletin_id=b.id, action=Action.APPROVE)
    service.transition(session, principal=world.approver_a, bulletin_id=b.id, action=Action.PUBLISH)
    session.commit()
    assert "thứ Ba" in queries.published(session, filters=Filters())[0].content["body_text"]
    assert [r.number for r in queries.revisions(session, principal=world.editor_a, bulletin_id=b.id)] == [
        1,
        2,
    ]


def test_return_resubmit_and_audit_trail(session: Session, world: World) -> None:
    b = service.create_bulletin(session, principal=world.editor_a, draft=draft())
    service.transition(session, principal=world.editor_a, bulletin_id=b.id, action=Action.SUBMIT)
    with pytest.raises(PermissionDenied):
        service.transition(session, principal=world.editor_a, bulletin_id=b.id, action=Action.APPROVE)
    with pytest.raises(NotFound):  # outside their area it does not even exist for them
        service.transition(session, principal=world.approver_b, bulletin_id=b.id, action=Action.APPROVE)
    service.transition(
        session,
        principal=world.approver_a,
        bulletin_id=b.id,
        action=Action.RETURN,
        comment="Ghi rõ giờ tiếp dân.",
    )
    assert (b.status, b.review_comment) == (Status.RETURNED, "Ghi rõ giờ tiếp dân.")
    service.update_bulletin(
        session,
        principal=world.editor_a,
        bulletin_id=b.id,
        draft=draft(body="Từ 7 giờ 30 sáng thứ Hai."),
        expected_version=b.version,
    )
    assert b.status is Status.RETURNED and b.revision_no == 2
    service.transition(session, principal=world.editor_a, bulletin_id=b.id, action=Action.SUBMIT)
    service.transition(session, principal=world.approver_province, bulletin_id=b.id, action=Action.APPROVE)
    session.commit()
    trail = session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_type == "bulletin").order_by(AuditEvent.id)
    ).all()
    assert trail == [
        "bulletin.create",
        "bulletin.submit",
        "bulletin.return",
        "bulletin.update",
        "bulletin.submit",
        "bulletin.approve",
    ]
    events = queries.events(session, bulletin_id=b.id)
    assert [e.comment for e in events if e.action == "return"] == ["Ghi rõ giờ tiếp dân."]


def test_list_filters_search_and_visibility(session: Session, world: World) -> None:
    service.create_bulletin(
        session,
        principal=world.editor_a,
        draft=draft(
            title="Phòng chống bão số 3",
            body="Bà con gia cố nhà cửa.",
            topics=["phong-chong-thien-tai"],
            priority="emergency",
            kind="news",
        ),
    )
    service.create_bulletin(session, principal=world.editor_a, draft=draft())
    session.commit()

    def titles(principal: object, **raw: str) -> list[str]:
        page = queries.list_bulletins(session, principal=principal, filters=parse_filters(dict(raw)))  # type: ignore[arg-type]
        return sorted(b.title for b in page.items)

    assert titles(world.editor_a, q="bão") == ["Phòng chống bão số 3"]
    assert titles(world.editor_a, q="BAO SO 3") == ["Phòng chống bão số 3"]
    assert titles(world.editor_a, q="tiep cong dan") == ["Thông báo lịch tiếp công dân tháng 3"]
    assert titles(world.editor_a, q="50%_") == []
    assert titles(world.editor_a, topic="cchc") == ["Thông báo lịch tiếp công dân tháng 3"]
    assert titles(world.editor_a, priority="emergency", kind="news") == ["Phòng chống bão số 3"]
    assert len(titles(world.approver_province, area=COMMUNE_A)) == 2
    assert titles(world.approver_b) == []  # another commune's drafts are not theirs to see
    with pytest.raises(InvalidInput):
        parse_filters({"status": "xoa"})
