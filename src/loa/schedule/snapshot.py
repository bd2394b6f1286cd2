"""The input of the manifest compiler: a plain, immutable picture of everything that is scheduled.

The service layer builds a ``Snapshot`` from the database (programmes, their airings' running orders,
one-off announcements, device memberships); the compiler never touches the database. Targets name
areas, stations, groups or single devices and are resolved to devices at compile time, so a device
added later picks up everything its village, commune or group already receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from loa.errors import InvalidInput
from loa.protocol.manifest import AudioKind, Clip
from loa.protocol.priority import PreemptRule, Priority
from loa.schedule.recurrence import VIETNAM_TZ, Recurrence, validate
from loa.vocab.ladder import check_priority

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_SLOT_MS = 24 * 3600 * 1000


class TargetKind(StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"
    VILLAGE = "village"
    STATION = "station"
    GROUP = "group"
    DEVICE = "device"


TARGET_KIND_LABELS: MappingProxyType[TargetKind, str] = MappingProxyType(
    {
        TargetKind.PROVINCE: "Tỉnh, thành phố",
        TargetKind.COMMUNE: "Xã, phường, đặc khu",
        TargetKind.VILLAGE: "Thôn, tổ dân phố",
        TargetKind.STATION: "Đài truyền thanh",
        TargetKind.GROUP: "Nhóm thiết bị",
        TargetKind.DEVICE: "Thiết bị",
    }
)


class Target(NamedTuple):
    """Where something plays. A tuple, because a fleet's worth of them is built and hashed per compile."""

    kind: TargetKind
    code: str

    def label_vi(self) -> str:
        return f"{TARGET_KIND_LABELS[self.kind]} {self.code}"


@dataclass(frozen=True)
class DeviceMembership:
    """Where a loudspeaker cluster belongs. Codes are those of ``admin_units``, stations and groups."""

    device_id: str
    province: str | None = None
    commune: str | None = None
    village: str | None = None
    station: str | None = None
    groups: tuple[str, ...] = ()
    # The commune group codes whose signed commands the device listens to (``loa.fleet.fanout``: the
    # code of the device's own commune), written into its manifest. Not a schedule target.
    command_groups: tuple[str, ...] = ()

    def tokens(self) -> tuple[Target, ...]:
        """Every target that reaches this device."""
        out = [Target(TargetKind.DEVICE, self.device_id)]
        if self.province:
            out.append(Target(TargetKind.PROVINCE, self.province))
        if self.commune:
            out.append(Target(TargetKind.COMMUNE, self.commune))
        if self.village:
            out.append(Target(TargetKind.VILLAGE, self.village))
        if self.station:
            out.append(Target(TargetKind.STATION, self.station))
        out.extend(Target(TargetKind.GROUP, g) for g in self.groups)
        return tuple(out)


@dataclass(frozen=True)
class AudioRef:
    """Audio by content: a file (SHA-256, size, duration) or a relayed stream (fills its slot)."""

    url: str
    duration_ms: int | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    kind: AudioKind = AudioKind.FILE
    smaller: tuple[str, int] | None = None  # (sha256, size) of the Opus rendition, for tight budgets


@dataclass(frozen=True)
class Entry:
    """One line of a running order. ``targets`` (optional) narrows it to some of the programme's devices:
    two villages of one commune may hear different notices in the same slot."""

    bulletin_id: str
    title: str
    audio: AudioRef
    targets: tuple[Target, ...] = ()
    volume_percent: int | None = None


@dataclass(frozen=True)
class Programme:
    """A regular programme or daily slot: when (recurrence), how long (slot), where (targets) and,
    by default, what (running order; a single airing may have its own, see ``Episode``).

    ``fallback`` is what plays in an airing that has nothing else for a device (an empty running order,
    or one whose every line is aimed elsewhere): at the background rung, so it never pre-empts anything,
    and never a conflict."""

    id: str
    title: str
    recurrence: Recurrence
    slot_duration_ms: int
    targets: tuple[Target, ...]
    running_order: tuple[Entry, ...] = ()
    priority: int = Priority.SCHEDULED
    preempt_rule: PreemptRule = PreemptRule.RESUME
    volume_percent: int = 100
    fallback: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Episode:
    """The running order of one airing of a programme (e.g. the CCHC programme of 16/01/2023)."""

    programme_id: str
    airing_local: datetime  # naive local start, equal to one occurrence of the programme
    running_order: tuple[Entry, ...]


@dataclass(frozen=True)
class Announcement:
    """A one-off item (thông báo) at a fixed instant."""

    id: str
    title: str
    start_at: datetime
    audio: AudioRef
    targets: tuple[Target, ...]
    priority: int = Priority.PRIORITY_BULLETIN
    preempt_rule: PreemptRule = PreemptRule.RESTART
    not_after_at: datetime | None = None
    volume_percent: int = 100
    bulletin_id: str | None = None
    # The manifest item id, when not ``itemids.announcement_item(id)``: an alert's rounds carry the ids
    # of its "play now" repetition (``loa.schedule.alertrounds``).
    item_id: str | None = None


@dataclass(frozen=True)
class Snapshot:
    programmes: tuple[Programme, ...] = ()
    episodes: tuple[Episode, ...] = ()
    announcements: tuple[Announcement, ...] = ()
    devices: tuple[DeviceMembership, ...] = ()
    extra_holidays: tuple[date, ...] = ()  # a station's own days off (when a programme skips holidays)
    timezone: str = VIETNAM_TZ
    clips: tuple[Clip, ...] = ()  # pre-positioned clips every manifest carries (cache-only)


# --- validation: every problem, in Vietnamese, at once -------------------------------------------------


def _audio_problems(audio: AudioRef, where: str) -> list[str]:
    out = []
    if not audio.url:
        out.append(f"{where}: thiếu địa chỉ tệp âm thanh.")
    if audio.kind is AudioKind.FILE:
        if audio.sha256 is None or not _SHA256.match(audio.sha256):
            out.append(f"{where}: mã SHA-256 của tệp âm thanh không hợp lệ.")
        if audio.size_bytes is None or audio.size_bytes <= 0:
            out.append(f"{where}: kích thước tệp âm thanh không hợp lệ.")
        if audio.duration_ms is None or audio.duration_ms <= 0:
            out.append(f"{where}: thời lượng âm thanh phải lớn hơn 0.")
    return out


def _common(priority: int, volume: int, where: str) -> list[str]:
    out = []
    try:
        check_priority(priority)
    except InvalidInput as err:
        out.append(f"{where}: {err.message}")
    if not 0 <= volume <= 100:
        out.append(f"{where}: âm lượng phải từ 0 đến 100%.")
    return out


def snapshot_problems(snapshot: Snapshot) -> list[str]:
    """Everything that makes a snapshot uncompilable (empty list: fine)."""
    problems: list[str] = []
    seen: dict[str, set[str]] = {"p": set(), "a": set(), "d": set()}
    for p in snapshot.programmes:
        where = f"Chương trình «{p.title}»"
        if p.id in seen["p"]:
            problems.append(f"{where}: mã {p.id} bị trùng.")
        seen["p"].add(p.id)
        if not p.targets:
            problems.append(f"{where}: chưa chọn nơi phát.")
        if not 0 < p.slot_duration_ms <= MAX_SLOT_MS:
            problems.append(f"{where}: độ dài khung giờ phải từ 1 giây đến 24 giờ.")
        try:
            validate(p.recurrence)
        except InvalidInput as err:
            problems.append(f"{where}: {err.message}")
        problems += _common(p.priority, p.volume_percent, where)
        for e in p.running_order:
            problems += _audio_problems(e.audio, f"{where}, mục «{e.title}»")
        for e in p.fallback:
            problems += _audio_problems(e.audio, f"{where}, mục dự phòng «{e.title}»")
    programme_ids = seen["p"]
    for ep in snapshot.episodes:
        if ep.programme_id not in programme_ids:
            problems.append(f"Nội dung buổi phát {ep.airing_local:%d/%m/%Y %H:%M}: không có chương trình.")
        for e in ep.running_order:
            problems += _audio_problems(e.audio, f"Buổi phát {ep.airing_local:%d/%m/%Y %H:%M}, «{e.title}»")
    for a in snapshot.announcements:
        where = f"Thông báo «{a.title}»"
        if a.id in seen["a"]:
            problems.append(f"{where}: mã {a.id} bị trùng.")
        seen["a"].add(a.id)
        if a.start_at.tzinfo is None:
            problems.append(f"{where}: giờ phát phải có múi giờ.")
        elif a.not_after_at is not None and a.not_after_at <= a.start_at:
            problems.append(f"{where}: hạn phát phải sau giờ phát.")
        if not a.targets:
            problems.append(f"{where}: chưa chọn nơi phát.")
        if a.audio.kind is AudioKind.STREAM and (a.not_after_at is None or not a.audio.duration_ms):
            # A live broadcast or relay (loa.live) is a stream with a planned end; its slot is its length.
            problems.append(f"{where}: buổi phát trực tiếp, tiếp sóng phải có giờ kết thúc.")
        problems += _audio_problems(a.audio, where) + _common(a.priority, a.volume_percent, where)
    for d in snapshot.devices:
        if d.device_id in seen["d"]:
            problems.append(f"Thiết bị {d.device_id}: bị khai báo hai lần.")
        seen["d"].add(d.device_id)
    return problems


def check_snapshot(snapshot: Snapshot) -> None:
    problems = snapshot_problems(snapshot)
    if problems:
        raise InvalidInput(
            f"Không thể lập lịch phát: có {len(problems)} lỗi trong dữ liệu lịch.",
            code="schedule_invalid",
            details=problems,
        )
