"""The review workflow as data: which action moves a bulletin from which states to which, and who may.

    draft ──submit──▶ submitted ──approve──▶ approved ──publish──▶ published ──archive──▶ archived
      ▲                  │  │                   │                      │
      └──withdraw────────┘  └─return(comment)─▶ returned ──submit──▶ submitted
    edit of approved/published ──▶ new revision in draft (the published revision stays live)

Pure: callers pass what they know about the bulletin (a ``Subject``) and the acting ``Principal``;
a refusal is raised as the matching error with a Vietnamese message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from loa.accounts.principal import Permission, Principal
from loa.content.catalog import STATUSES, Status
from loa.errors import Conflict, InvalidInput, PermissionDenied


class Action(StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    APPROVE = "approve"
    RETURN = "return"
    PUBLISH = "publish"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status
    permissions: frozenset[Permission]  # any one of them suffices
    label: str  # the button
    done: str  # the confirmation
    needs_comment: bool = False
    forbids_own: bool = False  # separation of duties: nobody reviews their own writing

    @property
    def audit_action(self) -> str:
        return f"bulletin.{self.action.value}"


_EDIT = frozenset({Permission.EDIT_CONTENT})
_APPROVE = frozenset({Permission.APPROVE_CONTENT})
_EITHER = _EDIT | _APPROVE

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(
            Action.SUBMIT,
            frozenset({Status.DRAFT, Status.RETURNED}),
            Status.SUBMITTED,
            _EDIT,
            "Gửi duyệt",
            "Đã gửi bản tin để duyệt.",
        ),
        Transition(
            Action.WITHDRAW,
            frozenset({Status.SUBMITTED}),
            Status.DRAFT,
            _EDIT,
            "Rút lại để sửa",
            "Đã rút bản tin về bản nháp.",
        ),
        Transition(
            Action.APPROVE,
            frozenset({Status.SUBMITTED}),
            Status.APPROVED,
            _APPROVE,
            "Duyệt",
            "Đã duyệt bản tin.",
            forbids_own=True,
        ),
        Transition(
            Action.RETURN,
            frozenset({Status.SUBMITTED}),
            Status.RETURNED,
            _APPROVE,
            "Trả lại",
            "Đã trả lại bản tin kèm ý kiến.",
            needs_comment=True,
            forbids_own=True,
        ),
        Transition(
            Action.PUBLISH,
            frozenset({Status.APPROVED}),
            Status.PUBLISHED,
            _EITHER,
            "Phát hành",
            "Đã phát hành bản tin.",
        ),
        Transition(
            Action.ARCHIVE,
            frozenset({Status.DRAFT, Status.RETURNED, Status.APPROVED, Status.PUBLISHED}),
            Status.ARCHIVED,
            _EITHER,
            "Lưu trữ",
            "Đã chuyển bản tin vào lưu trữ.",
        ),
    )
}

# What saving new content does to the status: approval freezes content, so an edit after approval
# starts a new revision that must be reviewed again.
EDIT_RESULT: dict[Status, Status] = {
    Status.DRAFT: Status.DRAFT,
    Status.RETURNED: Status.RETURNED,
    Status.APPROVED: Status.DRAFT,
    Status.PUBLISHED: Status.DRAFT,
}

MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Subject:
    """What the rules need to know about one bulletin."""

    status: Status
    area_path: str
    author_id: int | None
    revision_editor_ids: frozenset[int] = frozenset()  # who wrote the revision under review


def _require_scope(principal: Principal, subject: Subject) -> None:
    if not principal.can_access_path(subject.area_path):
        raise PermissionDenied("Bản tin thuộc địa bàn ngoài phạm vi phụ trách của bạn.")


def is_own(principal: Principal, subject: Subject) -> bool:
    return principal.user_id == subject.author_id or principal.user_id in subject.revision_editor_ids


def check_transition(action: Action, principal: Principal, subject: Subject, comment: str = "") -> Transition:
    """Return the transition when ``principal`` may do ``action`` now, else raise why not."""
    transition = TRANSITIONS[action]
    if not any(principal.has(p) for p in transition.permissions):
        raise PermissionDenied(f"Vai trò của bạn không được phép «{transition.label.lower()}» bản tin.")
    _require_scope(principal, subject)
    if subject.status not in transition.sources:
        raise Conflict(
            f"Không thể «{transition.label.lower()}» bản tin đang ở trạng thái "
            f"«{STATUSES[subject.status].label}».",
            code="invalid_transition",
        )
    if transition.forbids_own and is_own(principal, subject):
        raise PermissionDenied("Bạn không thể tự duyệt hoặc trả lại bản tin do chính mình soạn.")
    if transition.needs_comment:
        cleaned = comment.strip()
        if not cleaned:
            raise InvalidInput(
                "Vui lòng nhập ý kiến (lý do trả lại) cho người soạn.",
                details=[{"field": "comment", "message": "Thiếu ý kiến"}],
            )
        if len(cleaned) > MAX_COMMENT_CHARS:
            raise InvalidInput(f"Ý kiến quá dài (tối đa {MAX_COMMENT_CHARS} ký tự).")
    return transition


def allowed_actions(principal: Principal, subject: Subject) -> list[Transition]:
    """The transitions to offer as buttons (comment requirements are checked on submit)."""
    allowed = []
    for action in TRANSITIONS:
        try:
            check_transition(action, principal, subject, comment="-")
        except (PermissionDenied, Conflict):
            continue
        allowed.append(TRANSITIONS[action])
    return allowed


def check_edit(principal: Principal, subject: Subject) -> Status:
    """Return the status the bulletin takes after the edit, else raise why it may not be edited."""
    if not principal.has(Permission.EDIT_CONTENT):
        raise PermissionDenied("Vai trò của bạn không được phép soạn, sửa bản tin.")
    _require_scope(principal, subject)
    if subject.status is Status.SUBMITTED:
        raise Conflict(
            "Bản tin đang chờ duyệt. Hãy «Rút lại để sửa» trước khi chỉnh sửa.", code="bulletin_locked"
        )
    result = EDIT_RESULT.get(subject.status)
    if result is None:
        raise Conflict("Bản tin đã lưu trữ, không thể chỉnh sửa.", code="bulletin_locked")
    return result


def check_create(principal: Principal, area_path: str) -> None:
    if not principal.has(Permission.EDIT_CONTENT):
        raise PermissionDenied("Vai trò của bạn không được phép soạn bản tin.")
    if not principal.can_access_path(area_path):
        raise PermissionDenied("Bạn chỉ được soạn bản tin cho địa bàn mình phụ trách.")
