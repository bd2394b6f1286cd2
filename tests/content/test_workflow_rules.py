"""The review workflow as a table: every (role, state, action) combination that matters."""

from __future__ import annotations

import pytest

from loa.accounts.principal import Principal, Role
from loa.content.catalog import KINDS, LANGUAGES, PRIORITIES, STATUSES, BulletinKind, Priority, Status
from loa.content.workflow import (
    TRANSITIONS,
    Action,
    Subject,
    allowed_actions,
    check_edit,
    check_transition,
)
from loa.errors import Conflict, InvalidInput, PermissionDenied

AREA = "/51/21484/"
OTHER = "/51/21490/"


def who(role: Role, user_id: int = 1, scope: str = AREA) -> Principal:
    return Principal(
        user_id, f"u{user_id}", f"Người {user_id}", role, (scope,) if role is not Role.ADMIN else ()
    )


EDITOR = who(Role.PROVINCE_EDITOR, 1)
OPERATOR = who(Role.COMMUNE_OPERATOR, 2)
APPROVER = who(Role.APPROVER, 3)
APPROVER_ELSEWHERE = who(Role.APPROVER, 4, OTHER)
PROVINCE_APPROVER = who(Role.APPROVER, 5, "/51/")
ADMIN = who(Role.ADMIN, 6)
VIEWER = who(Role.VIEWER, 7)


def subject(status: Status, author: int = 1, editors: frozenset[int] = frozenset({1})) -> Subject:
    return Subject(status=status, area_path=AREA, author_id=author, revision_editor_ids=editors)


# (principal, status, action, expected target or the error raised)
CASES: list[tuple[Principal, Status, Action, Status | type[Exception]]] = [
    (EDITOR, Status.DRAFT, Action.SUBMIT, Status.SUBMITTED),
    (OPERATOR, Status.DRAFT, Action.SUBMIT, Status.SUBMITTED),
    (EDITOR, Status.RETURNED, Action.SUBMIT, Status.SUBMITTED),
    (EDITOR, Status.SUBMITTED, Action.SUBMIT, Conflict),
    (EDITOR, Status.SUBMITTED, Action.WITHDRAW, Status.DRAFT),
    (APPROVER, Status.DRAFT, Action.SUBMIT, PermissionDenied),  # approvers do not write
    (APPROVER, Status.SUBMITTED, Action.APPROVE, Status.APPROVED),
    (PROVINCE_APPROVER, Status.SUBMITTED, Action.APPROVE, Status.APPROVED),  # province covers communes
    (APPROVER_ELSEWHERE, Status.SUBMITTED, Action.APPROVE, PermissionDenied),
    (APPROVER, Status.DRAFT, Action.APPROVE, Conflict),
    (APPROVER, Status.APPROVED, Action.APPROVE, Conflict),
    (EDITOR, Status.SUBMITTED, Action.APPROVE, PermissionDenied),
    (VIEWER, Status.SUBMITTED, Action.APPROVE, PermissionDenied),
    (APPROVER, Status.SUBMITTED, Action.RETURN, Status.RETURNED),
    (APPROVER, Status.APPROVED, Action.PUBLISH, Status.PUBLISHED),
    (EDITOR, Status.APPROVED, Action.PUBLISH, Status.PUBLISHED),
    (EDITOR, Status.SUBMITTED, Action.PUBLISH, Conflict),  # never publish unapproved content
    (EDITOR, Status.DRAFT, Action.PUBLISH, Conflict),
    (VIEWER, Status.APPROVED, Action.PUBLISH, PermissionDenied),
    (EDITOR, Status.PUBLISHED, Action.ARCHIVE, Status.ARCHIVED),
    (EDITOR, Status.ARCHIVED, Action.ARCHIVE, Conflict),
    (ADMIN, Status.SUBMITTED, Action.APPROVE, Status.APPROVED),
]


@pytest.mark.parametrize(("principal", "status", "action", "expected"), CASES)
def test_transition_table(
    principal: Principal, status: Status, action: Action, expected: Status | type[Exception]
) -> None:
    s = subject(status, author=99, editors=frozenset({99}))
    if isinstance(expected, Status):
        assert check_transition(action, principal, s, comment="Cần bổ sung số liệu").target is expected
    else:
        with pytest.raises(expected) as err:
            check_transition(action, principal, s, comment="Cần bổ sung số liệu")
        assert err.value.message  # a Vietnamese explanation, never empty


@pytest.mark.parametrize("action", [Action.APPROVE, Action.RETURN])
def test_nobody_reviews_their_own_writing(action: Action) -> None:
    # An admin who wrote (or edited) the revision under review may not approve it either.
    for s in (
        subject(Status.SUBMITTED, author=6),
        subject(Status.SUBMITTED, author=1, editors=frozenset({1, 6})),
    ):
        with pytest.raises(PermissionDenied, match="tự duyệt"):
            check_transition(action, ADMIN, s, comment="x")


@pytest.mark.parametrize("comment", ["", "   \n "])
def test_return_needs_a_comment(comment: str) -> None:
    with pytest.raises(InvalidInput, match="ý kiến"):
        check_transition(Action.RETURN, APPROVER, subject(Status.SUBMITTED), comment=comment)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.DRAFT, Status.DRAFT),
        (Status.RETURNED, Status.RETURNED),
        (Status.APPROVED, Status.DRAFT),  # approval froze it: the edit needs a new approval
        (Status.PUBLISHED, Status.DRAFT),
        (Status.SUBMITTED, Conflict),
        (Status.ARCHIVED, Conflict),
    ],
)
def test_edit_rules(status: Status, expected: Status | type[Exception]) -> None:
    if isinstance(expected, Status):
        assert check_edit(EDITOR, subject(status)) is expected
    else:
        with pytest.raises(expected):
            check_edit(EDITOR, subject(status))


def test_edit_needs_permission_and_area() -> None:
    with pytest.raises(PermissionDenied):
        check_edit(APPROVER, subject(Status.DRAFT))
    with pytest.raises(PermissionDenied, match="địa bàn"):
        check_edit(who(Role.PROVINCE_EDITOR, 1, OTHER), subject(Status.DRAFT))


def test_buttons_offered_match_the_rules() -> None:
    assert [t.action for t in allowed_actions(APPROVER, subject(Status.SUBMITTED))] == [
        Action.APPROVE,
        Action.RETURN,
    ]
    assert [t.action for t in allowed_actions(EDITOR, subject(Status.SUBMITTED))] == [Action.WITHDRAW]
    assert allowed_actions(APPROVER_ELSEWHERE, subject(Status.SUBMITTED)) == []


def test_every_variant_has_a_vietnamese_label() -> None:
    assert {KINDS[k].label for k in BulletinKind} == {"Tin", "Bài", "Phóng sự", "Thông báo", "Chuyên mục"}
    assert [PRIORITIES[p].label for p in Priority] == ["Thông thường", "Ưu tiên", "Khẩn cấp"]
    assert [PRIORITIES[p].rank for p in Priority] == sorted(PRIORITIES[p].rank for p in Priority)
    assert all(STATUSES[s].label for s in Status)
    assert all(t.audit_action == f"bulletin.{a.value}" for a, t in TRANSITIONS.items())
    assert LANGUAGES["hre"].label == "Tiếng Hrê" and LANGUAGES["vi"].label == "Tiếng Việt"
