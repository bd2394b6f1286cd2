"""Use cases of citizens' feedback: a citizen sends (public form or SMS/hotline), looks up the answer by
tracking code; officers of the commune see their queue, assign, answer, and turn an answer into a
bulletin draft for the loudspeakers (it still goes through approval). Keyword-only, session first,
never commits; every write is audited (a citizen's post under the commune, without personal data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.models import User, UserArea
from loa.accounts.principal import ROLES, Permission, Principal
from loa.areas.logic import COMMUNE_KINDS
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooManyRequests
from loa.feedback import logic
from loa.feedback.media import Attachments
from loa.feedback.models import Feedback, FeedbackChannel, FeedbackState
from loa.topics.models import Topic
from loa.units.models import AdminUnit

NOT_FOUND = "Không tìm thấy ý kiến (hoặc ý kiến không thuộc địa bàn của bạn)."
NO_SUCH_CODE = (
    "Không tìm thấy ý kiến với mã tra cứu này. Vui lòng kiểm tra lại mã (10 ký tự, ví dụ K7M3Q-9X2WA)."
)
HANDLE = frozenset({Permission.EDIT_CONTENT, Permission.OPERATE_STATION})


@dataclass(frozen=True)
class Limits:
    """From the settings: posts per source per hour and per day, the answer deadline."""

    per_hour: int
    per_day: int
    answer_days: int


def public_commune(session: Session, code: str) -> AdminUnit:
    """A commune in force, for its public page (anything else: not found, naming nothing)."""
    unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code.strip()))
    if unit is None or unit.kind not in COMMUNE_KINDS or unit.valid_to is not None:
        raise NotFound("Không tìm thấy xã, phường hoặc đặc khu này.", code="commune_not_found")
    return unit


def _check_rate(session: Session, *, source: str, limits: Limits, now: datetime) -> None:
    for window, limit, words in (
        (timedelta(hours=1), limits.per_hour, "1 giờ"),
        (timedelta(days=1), limits.per_day, "24 giờ"),
    ):
        count = session.scalar(
            select(func.count()).where(Feedback.source_key == source, Feedback.received_at > now - window)
        )
        if (count or 0) >= limit:
            raise TooManyRequests(
                f"Bạn đã gửi {limit} ý kiến trong {words} qua. Để tránh tin rác, vui lòng gửi lại sau; "
                "việc gấp xin gọi trực tiếp Ủy ban nhân dân xã.",
                code="feedback_rate_limited",
                details={"retry_after_s": int(window.total_seconds())},
            )


def _topic(session: Session, code: str) -> Topic | None:
    if not code:
        return None
    topic = session.scalar(select(Topic).where(Topic.code == code, Topic.active.is_(True)))
    if topic is None:
        raise InvalidInput(
            "Chủ đề không có trong danh sách.", code="feedback_topic", details=[{"field": "topic"}]
        )
    return topic


@dataclass(frozen=True)
class Submission:
    text: str
    name: str = ""
    phone: str = ""
    topic: str = ""


def submit(
    session: Session,
    *,
    commune: AdminUnit,
    data: Submission,
    attachments: Attachments,
    source: str,
    challenge_nonce: str | None,
    channel: FeedbackChannel,
    limits: Limits,
    now: datetime,
) -> tuple[Feedback, str]:
    """Record one item; returns it with its tracking code (shown once: only its hash is kept)."""
    voice_only = not data.text.strip() and attachments.voice is not None
    text = "" if voice_only else logic.check_text(data.text)
    name = logic.check_name(data.name)
    phone = logic.check_phone(data.phone)
    topic = _topic(session, data.topic)
    _check_rate(session, source=source, limits=limits, now=now)
    if challenge_nonce is not None and session.scalar(
        select(Feedback.id).where(Feedback.challenge_nonce == challenge_nonce)
    ):
        raise InvalidInput(logic.CHALLENGE_FAILED, code="challenge_reused", details=[{"field": "answer"}])
    code = logic.new_tracking_code()
    item = Feedback(
        commune_id=commune.id,
        tracking_sha256=logic.code_hash(code),
        channel=channel,
        topic_id=topic.id if topic else None,
        text=text,
        sender_name=name,
        phone=phone,
        photo_sha256=attachments.photo.sha256 if attachments.photo else None,
        photo_type=attachments.photo.content_type if attachments.photo else None,
        voice_sha256=attachments.voice.sha256 if attachments.voice else None,
        voice_type=attachments.voice.content_type if attachments.voice else None,
        voice_ms=attachments.voice.duration_ms if attachments.voice else None,
        source_key=source,
        challenge_nonce=challenge_nonce,
        state=FeedbackState.NEW,
        received_at=now,
        due_at=now + timedelta(days=limits.answer_days),
        reply="",
        replied_by="",
        notify_error="",
        version=1,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        action="feedback.receive",
        actor_name=logic.CHANNELS[channel],
        target_type="feedback",
        target_id=item.id,
        area_id=commune.id,
        details={"channel": channel.value, **({"topic": topic.code} if topic else {})},
    )
    return item, code


def lookup(session: Session, *, code: str) -> Feedback:
    """The item of a tracking code (public: the caller shows no personal data)."""
    normal = logic.normalise_code(code)
    item = (
        session.scalar(select(Feedback).where(Feedback.tracking_sha256 == logic.code_hash(normal)))
        if len(normal) == logic.CODE_LENGTH
        else None
    )
    if item is None:
        raise NotFound(NO_SUCH_CODE, code="feedback_code_unknown")
    return item


# --- officers ----------------------------------------------------------------------------------------


def commune_of(session: Session, item: Feedback) -> AdminUnit:
    return session.get_one(AdminUnit, item.commune_id)


def can_handle(principal: Principal, path: str) -> bool:
    return principal.can_access_path(path) and any(principal.has(p) for p in HANDLE)


def sees_personal_data(principal: Principal, commune_path: str) -> bool:
    """Only officers *of that commune* (a scope on the commune or inside it) see the phone number and
    name: province officers and administrators see the item without them."""
    return any(scope.startswith(commune_path) for scope in principal.scope_paths)


def get_item(session: Session, *, principal: Principal, item_id: int) -> Feedback:
    item = session.get(Feedback, item_id)
    if item is None or not principal.can_access_path(commune_of(session, item).path):
        raise NotFound(NOT_FOUND, code="feedback_not_found")
    return item


def queue(
    session: Session,
    *,
    principal: Principal,
    state: FeedbackState | None = None,
    commune_code: str | None = None,
    limit: int = 200,
) -> list[tuple[Feedback, AdminUnit]]:
    """Items of the principal's communes, waiting ones first (oldest deadline first), then answered."""
    if not principal.has(Permission.VIEW):
        raise PermissionDenied("Vai trò của bạn không được xem ý kiến người dân.")
    stmt = select(Feedback, AdminUnit).join(AdminUnit, AdminUnit.id == Feedback.commune_id)
    if not principal.is_admin:
        scopes = [AdminUnit.path.startswith(p, autoescape=True) for p in principal.scope_paths]
        stmt = stmt.where(or_(*scopes) if scopes else false())
    if state is not None:
        stmt = stmt.where(Feedback.state == state)
    if commune_code:
        stmt = stmt.where(AdminUnit.code == commune_code)
    rows = [(f, u) for f, u in session.execute(stmt.order_by(Feedback.id.desc()).limit(2000))]
    rows.sort(key=_queue_order)
    return rows[:limit]


def _queue_order(row: tuple[Feedback, AdminUnit]) -> tuple[int, float, int]:
    item = row[0]
    if item.state is FeedbackState.ANSWERED:
        return (1, 0.0, -item.id)
    return (0, item.due_at.timestamp(), item.id)


def assignable(session: Session, *, commune: AdminUnit) -> list[User]:
    """Active users who may handle the commune's feedback (a scope that holds the commune)."""
    ancestors = [
        "/" + "/".join(commune.path.strip("/").split("/")[:i]) + "/"
        for i in range(1, commune.path.count("/"))
    ]
    users = session.scalars(
        select(User)
        .join(UserArea, UserArea.user_id == User.id)
        .join(AdminUnit, AdminUnit.id == UserArea.admin_unit_id)
        .where(User.active.is_(True), AdminUnit.path.in_(ancestors))
        .distinct()
        .order_by(User.display_name)
    )
    return [u for u in users if any(p in ROLES[u.role].permissions for p in HANDLE)]


def _handled(
    session: Session, principal: Principal, item_id: int, version: int | None
) -> tuple[Feedback, AdminUnit]:
    item = get_item(session, principal=principal, item_id=item_id)
    commune = commune_of(session, item)
    if not can_handle(principal, commune.path):
        raise PermissionDenied("Vai trò của bạn không được xử lý ý kiến người dân.", code="feedback_handle")
    if version is not None and version != item.version:
        raise Conflict(
            "Ý kiến vừa được người khác cập nhật. Vui lòng tải lại trang.", code="feedback_changed"
        )
    return item, commune


def assign(
    session: Session,
    *,
    principal: Principal,
    item_id: int,
    user_id: int,
    version: int | None = None,
    ip: str = "",
) -> Feedback:
    item, commune = _handled(session, principal, item_id, version)
    user = next((u for u in assignable(session, commune=commune) if u.id == user_id), None)
    if user is None:
        raise InvalidInput("Người được giao phải là cán bộ phụ trách xã này.", code="feedback_assignee")
    item.assignee_id = user.id
    if item.state is FeedbackState.NEW:
        item.state = FeedbackState.ASSIGNED
    item.version += 1
    _audit(session, principal, "feedback.assign", item, commune, {"username": user.username}, ip)
    return item


def reply(
    session: Session,
    *,
    principal: Principal,
    item_id: int,
    text: str,
    now: datetime,
    version: int | None = None,
    ip: str = "",
) -> Feedback:
    """Answer (or correct the answer); the first answer's time is what "on time" is judged by."""
    item, commune = _handled(session, principal, item_id, version)
    item.reply = logic.check_reply(text)
    item.replied_by = principal.display_name
    item.answered_at = item.answered_at or now
    item.state = FeedbackState.ANSWERED
    item.notified_at, item.notify_error = None, ""
    item.version += 1
    _audit(session, principal, "feedback.reply", item, commune, {"chars": len(item.reply)}, ip)
    return item


def draft_bulletin(session: Session, *, principal: Principal, item_id: int, ip: str = "") -> Bulletin:
    """A bulletin draft for the loudspeakers made of the answer (never of the citizen's words or data);
    it goes through the editorial workflow like any other."""
    item, commune = _handled(session, principal, item_id, None)
    if item.state is not FeedbackState.ANSWERED:
        raise Conflict("Hãy trả lời ý kiến trước khi đưa câu trả lời lên loa.", code="feedback_not_answered")
    if item.bulletin_id is not None and session.get(Bulletin, item.bulletin_id) is not None:
        raise Conflict("Câu trả lời này đã có bản tin nháp.", code="feedback_has_bulletin")
    topic = session.get(Topic, item.topic_id) if item.topic_id else None
    about = f" về {topic.name.lower()}" if topic else ""
    bulletin = content.create_bulletin(
        session,
        principal=principal,
        draft=DraftInput(
            title=f"Trả lời ý kiến của người dân{about}"[:300],
            body=item.reply,
            kind="announcement",
            area_code=commune.code,
            topics=[topic.code] if topic else [],
        ),
    )
    item.bulletin_id = bulletin.id
    item.version += 1
    _audit(session, principal, "feedback.to_bulletin", item, commune, {"bulletin_id": bulletin.id}, ip)
    return bulletin


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    item: Feedback,
    commune: AdminUnit,
    details: dict[str, object],
    ip: str,
) -> None:
    audit.record(
        session,
        action=action,
        actor=principal,
        target_type="feedback",
        target_id=item.id,
        area_id=commune.id,
        details=details,
        ip=ip,
    )


def record_notice(session: Session, *, item_id: int, error: str, now: datetime) -> None:
    """What became of the SMS telling the citizen an answer exists."""
    item = session.get_one(Feedback, item_id)
    if error:
        item.notify_error = error[:300]
    else:
        item.notified_at, item.notify_error = now, ""


def counts_by_state(
    session: Session, *, principal: Principal, communes: Sequence[AdminUnit]
) -> dict[FeedbackState, int]:
    ids = [c.id for c in communes if principal.can_access_path(c.path)]
    if not ids:
        return {}
    return {
        state: int(n)
        for state, n in session.execute(
            select(Feedback.state, func.count()).where(Feedback.commune_id.in_(ids)).group_by(Feedback.state)
        )
    }
