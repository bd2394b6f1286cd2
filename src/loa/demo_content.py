"""Demo content for ``loa demo``: real bulletins read by the real TTS chain, approved through the real
workflow, and programmes on xã Ba Tơ's loudspeakers, so every page has something to show.

Runs after the base demo data is committed, in several short transactions (a TTS job is processed by
the same job runner the web application uses). Idempotent: bulletins and the morning programme are
skipped when Ba Tơ already has bulletins, the hourly news when it exists.

The demo's simulated loudspeakers play their manifests: the hourly news gives a report of the last
hour something real to count, and at every start one announcement goes out a minute later
(``announce_demo_start``), so a person trying Loa sees receipts arrive within minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loa.accounts.principal import Principal
from loa.accounts.service import get_user_by_username, principal_for
from loa.content import service as content
from loa.content.audio import request_tts
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.schedule import checks, hooks, running_orders, service
from loa.schedule import models as sm
from loa.schedule.announcements import AnnouncementInput, create_announcement
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.settings import Settings
from loa.speech.jobs import run_job
from loa.speech.runtime import SpeechRuntime
from loa.units.models import AdminUnit

COMMUNE = "21484"
HOURLY_NEWS = "Điểm tin mỗi giờ xã Ba Tơ"
START_ANNOUNCEMENT_AFTER = timedelta(minutes=1)

# (kind, topics, priority, title, body): written in the style of a commune's announcements.
DEMO_BULLETINS: tuple[tuple[str, tuple[str, ...], str, str, str], ...] = (
    (
        "news",
        ("cchc",),
        "normal",
        "Xã Ba Tơ đẩy mạnh dịch vụ công trực tuyến",
        "Từ ngày 01/12/2026, UBND xã Ba Tơ tiếp nhận hồ sơ thủ tục hành chính qua Cổng dịch vụ công "
        "quốc gia. Người dân có thể nộp hồ sơ trực tuyến, theo dõi kết quả và nhận kết quả qua dịch vụ "
        "bưu chính công ích. Mọi thắc mắc xin liên hệ bộ phận một cửa, số điện thoại 0255.3862.123.",
    ),
    (
        "announcement",
        ("y-te",),
        "priority",
        "Thông báo tiêm chủng cho trẻ em tháng 12",
        "Trạm Y tế xã Ba Tơ tổ chức tiêm chủng mở rộng cho trẻ dưới 5 tuổi vào sáng ngày 15/12/2026, "
        "từ 7h30 đến 11h, tại nhà văn hóa thôn 1 và tổ dân phố 2. Phụ huynh mang theo sổ tiêm chủng.",
    ),
    (
        "article",
        ("cchc", "chuyen-doi-so"),
        "normal",
        "Cải cách hành chính: một năm chính quyền hai cấp",
        "Sau hơn một năm thực hiện mô hình chính quyền địa phương hai cấp theo Nghị quyết của Quốc hội, "
        "xã Ba Tơ đã giải quyết 1.250 hồ sơ, đạt tỷ lệ 98,5% đúng hạn. Thời gian tới, xã tiếp tục "
        "đẩy mạnh chuyển đổi số và nâng cao chất lượng phục vụ người dân.",
    ),
)


def seed_demo_content(factory: sessionmaker[Session], settings: Settings) -> list[str]:
    with factory() as session:
        commune = session.scalars(select(AdminUnit).where(AdminUnit.code == COMMUNE)).one()
        existing = session.scalar(
            select(func.count()).select_from(Bulletin).where(Bulletin.area_id == commune.id)
        )
        if existing:
            return []
    drafts = [
        DraftInput(
            title=title,
            body=body,
            kind=kind,
            priority=priority,
            topics=topics,
            area_code=COMMUNE,
            organisation="UBND xã Ba Tơ",
        )
        for kind, topics, priority, title, body in DEMO_BULLETINS
    ]
    bulletin_ids = publish_bulletins(factory, settings, drafts)
    morning = ProgrammeInput(
        name="Bản tin sáng xã Ba Tơ",
        start_local=datetime(utcnow().year, 1, 1, 6, 0),
        slot_minutes=15,
        targets=(TargetInput("commune", COMMUNE),),
        rrule="FREQ=DAILY",
        until_cancelled=True,
        owner_organisation="UBND xã Ba Tơ",
    )
    with factory() as session, session.begin():
        schedule_programme(session, settings, morning, bulletin_ids)
    return [
        f"Tin bài mẫu: {len(bulletin_ids)} bản tin đã đọc bằng giọng máy, duyệt và phát hành; "
        "chuyên mục «Bản tin sáng xã Ba Tơ» phát lúc 6 giờ hằng ngày."
    ]


def publish_bulletins(
    factory: sessionmaker[Session], settings: Settings, drafts: Sequence[DraftInput]
) -> list[int]:
    """Write ``drafts`` as the demo's editor, read them aloud with the real TTS chain, and submit,
    approve and publish them as the demo's leader: bulletins ready to schedule."""
    with factory() as session:
        editor = principal_for(session, get_user_by_username(session, "bientap.quangngai"))
        approver = principal_for(session, get_user_by_username(session, "lanhdao.quangngai"))
    runtime = SpeechRuntime.build(settings, factory, recover=False)
    try:
        bulletin_ids, job_ids = _write_and_request_tts(factory, runtime, editor, drafts)
        for job_id in job_ids:
            run_job(factory, runtime.context, job_id)  # the real TTS chain, synchronously
    finally:
        runtime.close()
    with factory() as session, session.begin():
        for bulletin_id in bulletin_ids:
            content.transition(session, principal=editor, bulletin_id=bulletin_id, action=Action.SUBMIT)
            content.transition(session, principal=approver, bulletin_id=bulletin_id, action=Action.APPROVE)
            content.transition(session, principal=approver, bulletin_id=bulletin_id, action=Action.PUBLISH)
    return bulletin_ids


def _write_and_request_tts(
    factory: sessionmaker[Session], runtime: SpeechRuntime, editor: Principal, drafts: Sequence[DraftInput]
) -> tuple[list[int], list[str]]:
    bulletin_ids: list[int] = []
    job_ids: list[str] = []
    with factory() as session, session.begin():
        for draft in drafts:
            bulletin = content.create_bulletin(session, principal=editor, draft=draft)
            job = request_tts(
                session, context=runtime.context, principal=editor, bulletin_id=bulletin.id, language="vi"
            )
            bulletin_ids.append(bulletin.id)
            job_ids.append(job.id)
    return bulletin_ids, job_ids


def _bulletin(session: Session, title: str) -> Bulletin | None:
    commune = session.scalars(select(AdminUnit).where(AdminUnit.code == COMMUNE)).one()
    return session.scalars(
        select(Bulletin).where(Bulletin.area_id == commune.id, Bulletin.title == title)
    ).first()


def seed_hourly_news(factory: sessionmaker[Session], settings: Settings) -> list[str]:
    """A five-minute news slot at half past every hour (the news of the day, one bulletin): between
    the morning programme's slots, so it conflicts with nothing. Idempotent."""
    with factory() as session, session.begin():
        if session.scalar(select(sm.Programme.id).where(sm.Programme.name == HOURLY_NEWS)) is not None:
            return []
        bulletin = _bulletin(session, DEMO_BULLETINS[0][3])
        if bulletin is None:
            return []
        hourly = ProgrammeInput(
            name=HOURLY_NEWS,
            start_local=to_local(utcnow()).replace(hour=0, minute=30, second=0, microsecond=0),
            slot_minutes=5,
            targets=(TargetInput("commune", COMMUNE),),
            rrule="FREQ=HOURLY",
            until_cancelled=True,
            owner_organisation="UBND xã Ba Tơ",
        )
        schedule_programme(session, settings, hourly, [bulletin.id])
    return [f"Chuyên mục «{HOURLY_NEWS}» phát lúc 30 phút mỗi giờ."]


def announce_demo_start(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> list[str]:
    """At every start of the demo: the vaccination notice as an announcement on xã Ba Tơ's
    loudspeakers a minute later (unless one is already waiting), through the real service as the
    commune's operator would, so receipts arrive within minutes of ``make run``."""
    now = now or utcnow()
    with factory() as session, session.begin():
        bulletin = _bulletin(session, DEMO_BULLETINS[1][3])
        if bulletin is None:
            return []
        title = bulletin.title
        waiting = session.scalars(
            select(sm.Announcement).where(
                sm.Announcement.bulletin_id == bulletin.id,
                sm.Announcement.status == sm.AnnouncementStatus.SCHEDULED,
                sm.Announcement.start_at > now,
            )
        ).first()
        if waiting is not None:
            start_at = waiting.start_at
        else:
            start_at = now + START_ANNOUNCEMENT_AFTER
            announce_bulletin(session, settings, bulletin.id, start_at, now=now)
    return [f"Thông báo «{title}» phát lúc {to_local(start_at):%H:%M} trên các cụm loa xã Ba Tơ."]


def schedule_programme(
    session: Session,
    settings: Settings,
    data: ProgrammeInput,
    bulletin_ids: Sequence[int],
    *,
    accept: checks.Accept | None = None,
) -> int:
    """A programme with these bulletins as its running order, made by the commune's operator through
    the real services, and the manifests compiled (as the scheduling API does)."""
    operator = principal_for(session, get_user_by_username(session, "canbo.bato"))
    now = utcnow()
    outcome = service.create_programme(session, principal=operator, data=data, accept=accept, now=now)
    assert outcome.programme is not None
    items = [running_orders.ItemInput("bulletin", bulletin_id) for bulletin_id in bulletin_ids]
    running_orders.set_running_order(
        session, principal=operator, key=None, programme_id=outcome.programme.id, items=items, now=now
    )
    hooks.publish(session, data_dir=settings.data_dir, reason="demo")
    return outcome.programme.id


def announce_bulletin(
    session: Session,
    settings: Settings,
    bulletin_id: int,
    start_at: datetime,
    *,
    now: datetime | None = None,
    accept: checks.Accept | None = None,
) -> int:
    """An announcement of the bulletin on xã Ba Tơ's loudspeakers, made by the commune's operator
    through the real service, and the manifests compiled."""
    operator = principal_for(session, get_user_by_username(session, "canbo.bato"))
    a, _ = create_announcement(
        session,
        principal=operator,
        data=AnnouncementInput(
            title="", targets=(TargetInput("commune", COMMUNE),), start_at=start_at, bulletin_id=bulletin_id
        ),
        accept=accept,
        now=now or utcnow(),
    )
    hooks.publish(session, data_dir=settings.data_dir, reason="demo")
    return a.id
