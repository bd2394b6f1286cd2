"""JSON shapes of the scheduling API (pydantic), and their conversion from service results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from loa.schedule import models as m
from loa.schedule.acceptance import Outcome
from loa.schedule.announcements import AnnouncementInput
from loa.schedule.checks import describe
from loa.schedule.recurrence import VIETNAM_TZ
from loa.schedule.running_orders import ItemInput, RunningOrderView
from loa.schedule.service import ProgrammeInput, describe_recurrence, programme_targets
from loa.schedule.slots import SlotView
from loa.schedule.targets import TargetInput
from loa.topics.models import Topic
from loa.units.models import AdminUnit
from loa.vocab.ladder import PREEMPT_RULES, rung_of


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetIn(_In):
    kind: str = Field(max_length=16)
    code: str = Field(max_length=64)
    language: str = Field(default="vi", max_length=24)


class ItemIn(_In):
    kind: str = Field(max_length=16)
    bulletin_id: int | None = None
    audio_sha256: str | None = Field(default=None, max_length=64)
    title: str = Field(default="", max_length=300)

    def to_input(self) -> ItemInput:
        return ItemInput(self.kind, self.bulletin_id, self.audio_sha256, self.title)


class ProgrammeIn(_In):
    name: str = Field(max_length=300)
    start_local: datetime
    slot_minutes: int
    targets: list[TargetIn] = Field(max_length=500)
    rrule: str | None = Field(default=None, max_length=500)
    until_cancelled: bool = False
    timezone: str = Field(default=VIETNAM_TZ, max_length=64)
    except_dates: list[date] = Field(default_factory=list, max_length=1000)
    except_local: list[datetime] = Field(default_factory=list, max_length=1000)
    extra_local: list[datetime] = Field(default_factory=list, max_length=1000)
    skip_holidays: bool = False
    max_per_day: int | None = Field(default=None, description="tối đa số lần phát mỗi ngày (chiến dịch)")
    priority: int | str = "normal"
    preempt_rule: str | None = None
    volume_percent: int = 100
    topic: str | None = Field(default=None, max_length=64)
    owner_organisation: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=5000)
    running_order: list[ItemIn] | None = Field(default=None, max_length=100)
    accept: str | None = None
    expected_version: int | None = None

    def to_input(self) -> ProgrammeInput:
        return ProgrammeInput(
            name=self.name,
            start_local=self.start_local,
            slot_minutes=self.slot_minutes,
            targets=[TargetInput(t.kind, t.code, t.language) for t in self.targets],
            rrule=self.rrule,
            until_cancelled=self.until_cancelled,
            timezone=self.timezone,
            except_dates=self.except_dates,
            except_local=self.except_local,
            extra_local=self.extra_local,
            skip_holidays=self.skip_holidays,
            max_per_day=self.max_per_day,
            priority=self.priority,
            preempt_rule=self.preempt_rule,
            volume_percent=self.volume_percent,
            topic_code=self.topic,
            owner_organisation=self.owner_organisation,
            description=self.description,
        )


class RunningOrderIn(_In):
    items: list[ItemIn] = Field(max_length=100)


class MoveIn(_In):
    start_local: datetime
    accept: str | None = None


class AnnouncementIn(_In):
    title: str = Field(default="", max_length=300)
    targets: list[TargetIn] = Field(max_length=500)
    start_at: datetime | None = None
    asap: bool = False
    bulletin_id: int | None = None
    audio_sha256: str | None = Field(default=None, max_length=64)
    priority: int | str | None = None
    preempt_rule: str | None = None
    not_after_minutes: int | None = None
    volume_percent: int = 100
    accept: str | None = None

    def to_input(self) -> AnnouncementInput:
        return AnnouncementInput(
            title=self.title,
            targets=[TargetInput(t.kind, t.code, t.language) for t in self.targets],
            start_at=self.start_at,
            asap=self.asap,
            bulletin_id=self.bulletin_id,
            audio_sha256=self.audio_sha256,
            priority=self.priority,
            preempt_rule=self.preempt_rule,
            not_after_minutes=self.not_after_minutes,
            volume_percent=self.volume_percent,
        )


class TargetOut(BaseModel):
    kind: str
    code: str
    label: str
    language: str


class ProgrammeOut(BaseModel):
    id: int
    name: str
    description: str
    topic: str | None
    owner_organisation: str
    area_code: str | None
    start_local: datetime
    rrule: str | None
    until_cancelled: bool
    timezone: str
    recurrence_text: str
    except_dates: list[str]
    except_local: list[str]
    extra_local: list[str]
    skip_holidays: bool
    max_per_day: int | None
    slot_minutes: int
    priority: int
    priority_label: str
    preempt_rule: str
    preempt_rule_label: str
    volume_percent: int
    active: bool
    version: int
    targets: list[TargetOut]
    accepted_conflicts: list[dict[str, Any]] = Field(default_factory=list)
    applied_proposals: list[str] = Field(default_factory=list)
    manifests: dict[str, Any] | None = None


def programme_out(session: Session, p: m.Programme, outcome: Outcome | None = None) -> ProgrammeOut:
    topic = session.get(Topic, p.topic_id) if p.topic_id else None
    area = session.get(AdminUnit, p.area_id) if p.area_id else None
    rule = p.preempt_rule
    return ProgrammeOut(
        id=p.id,
        name=p.name,
        description=p.description,
        topic=topic.code if topic else None,
        owner_organisation=p.owner_organisation,
        area_code=area.code if area else None,
        start_local=p.start_local,
        rrule=p.rrule,
        until_cancelled=p.until_cancelled,
        timezone=p.timezone,
        recurrence_text=describe_recurrence(p),
        except_dates=list(p.except_dates),
        except_local=list(p.except_local),
        extra_local=list(p.extra_local),
        skip_holidays=p.skip_holidays,
        max_per_day=p.max_per_day,
        slot_minutes=p.slot_duration_ms // 60_000,
        priority=p.priority,
        priority_label=rung_of(p.priority).label,
        preempt_rule=rule,
        preempt_rule_label=next((v for k, v in PREEMPT_RULES.items() if k.value == rule), rule),
        volume_percent=p.volume_percent,
        active=p.active,
        version=p.version,
        targets=[
            TargetOut(kind=t.kind.value, code=t.code, label=t.label, language=t.language)
            for t in programme_targets(session, p.id)
        ],
        accepted_conflicts=describe(outcome.accepted_conflicts) if outcome else [],
        applied_proposals=list(outcome.applied) if outcome else [],
    )


class SlotOut(BaseModel):
    id: str
    programme_id: int
    programme_name: str
    occurrence_local: datetime
    start_local: datetime
    end_local: datetime
    start_at: datetime
    end_at: datetime
    status: str
    own_running_order: bool
    uses_fallback: bool
    item_count: int
    total_ms: int
    slot_ms: int
    overfull: bool


def slot_out(s: SlotView) -> SlotOut:
    return SlotOut(
        id=s.key,
        programme_id=s.programme_id,
        programme_name=s.programme_name,
        occurrence_local=s.occurrence_local,
        start_local=s.start_local,
        end_local=s.end_local,
        start_at=s.start_at,
        end_at=s.end_at,
        status=s.status.value,
        own_running_order=s.own_running_order,
        uses_fallback=s.uses_fallback,
        item_count=s.item_count,
        total_ms=s.total_ms,
        slot_ms=s.slot_ms,
        overfull=s.overfull,
    )


class LineOut(BaseModel):
    position: int
    kind: str
    bulletin_id: int | None
    audio_sha256: str | None
    title: str
    duration_ms: int


class RunningOrderOut(BaseModel):
    slot: SlotOut | None
    items: list[LineOut]
    total_ms: int
    slot_ms: int
    overfull: bool
    overrun_ms: int
    warning: str | None
    fallback: bool = False
    manifests: dict[str, Any] | None = None


def running_order_out(view: RunningOrderView) -> RunningOrderOut:
    return RunningOrderOut(
        slot=slot_out(view.slot) if view.slot is not None else None,
        items=[
            LineOut(
                position=line.position,
                kind=line.kind.value,
                bulletin_id=line.bulletin_id,
                audio_sha256=line.audio_sha256,
                title=line.title,
                duration_ms=line.duration_ms,
            )
            for line in view.lines
        ],
        total_ms=view.total_ms,
        slot_ms=view.slot_ms,
        overfull=view.overfull,
        overrun_ms=view.overrun_ms,
        warning=view.warning,
        fallback=view.fallback,
    )


class AnnouncementOut(BaseModel):
    id: int
    title: str
    bulletin_id: int | None
    audio_sha256: str | None
    start_at: datetime
    not_after_at: datetime | None
    asap: bool
    priority: int
    priority_label: str
    status: str
    accepted_conflicts: list[dict[str, Any]] = Field(default_factory=list)
    applied_proposals: list[str] = Field(default_factory=list)
    manifests: dict[str, Any] | None = None


def announcement_out(a: m.Announcement, outcome: Outcome | None = None) -> AnnouncementOut:
    return AnnouncementOut(
        id=a.id,
        title=a.title,
        bulletin_id=a.bulletin_id,
        audio_sha256=a.audio_sha256,
        start_at=a.start_at,
        not_after_at=a.not_after_at,
        asap=a.asap,
        priority=a.priority,
        priority_label=rung_of(a.priority).label,
        status=a.status.value,
        accepted_conflicts=describe(outcome.accepted_conflicts) if outcome else [],
        applied_proposals=list(outcome.applied) if outcome else [],
    )
