"""Commands from an operator to loudspeakers: permission, scope, validation, outbox rows and the audit
log, in one place for the API and the dashboard. Keyword-only, session first, never commits.

"Play now" defaults to the *priority bulletin* rung (500): it pre-empts scheduled programmes but not
live broadcasts (700) or emergencies (900). An operator raises it to the emergency rung explicitly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.errors import InvalidInput
from loa.fleet import queries, service
from loa.fleet.playable import get_playable
from loa.protocol.messages import COMMAND_KINDS, REPEAT_GAP_MAX_S
from loa.protocol.priority import Priority
from loa.speech.store import is_sha256

BROADCAST_COMMANDS = frozenset({"play_now", "stop", "volume"})
PLAY_NOW_PRIORITY = int(Priority.PRIORITY_BULLETIN)
MAX_AUDITED_UIDS = 50
DEFAULT_REPEAT_GAP_S = 30  # what the forms offer between two rounds of a repeated message


def check_repeat_gap(gap_s: int) -> int:
    if not 0 <= gap_s <= REPEAT_GAP_MAX_S:
        raise InvalidInput(
            f"Số giây nghỉ giữa hai lần phát phải từ 0 đến {REPEAT_GAP_MAX_S}.", code="bad_repeat_gap"
        )
    return gap_s


def parse_repeat_gap(raw: str) -> int:
    """Seconds of silence between two rounds of a repeated message, from a form field (empty: the
    default)."""
    try:
        gap_s = int(raw.strip() or DEFAULT_REPEAT_GAP_S)
    except ValueError:
        raise InvalidInput(
            "Số giây nghỉ giữa hai lần phát phải là số nguyên.", code="bad_repeat_gap"
        ) from None
    return check_repeat_gap(gap_s)


@dataclass(frozen=True)
class KindInfo:
    label: str
    permission: Permission


COMMAND_INFO: dict[str, KindInfo] = {
    "play_now": KindInfo("Phát ngay", Permission.BROADCAST),
    "stop": KindInfo("Dừng phát", Permission.BROADCAST),
    "volume": KindInfo("Đặt âm lượng", Permission.BROADCAST),
    "sync": KindInfo("Đồng bộ lịch phát", Permission.OPERATE_STATION),
    "reboot": KindInfo("Khởi động lại", Permission.OPERATE_STATION),
    "update": KindInfo("Cập nhật phần mềm", Permission.OPERATE_STATION),
}
assert set(COMMAND_INFO) == set(COMMAND_KINDS)

RESULT_LABELS: dict[str | None, str] = {
    None: "Chưa phản hồi",
    "done": "Đã thực hiện",
    "rejected": "Bị từ chối",
    "expired": "Quá hạn, không thực hiện",
    "failed": "Thất bại",
}


def command_label(kind: str) -> str:
    info = COMMAND_INFO.get(kind)
    return info.label if info else kind


def payload_title(payload: str | None) -> str | None:
    """The title a command carried (``args.title`` of its v1 JSON), if any."""
    try:
        args = json.loads(payload or "{}").get("args") or {}
    except (ValueError, AttributeError):
        return None
    title = args.get("title") if isinstance(args, dict) else None
    return str(title) if title else None


def command_text(kind: str, payload: str | None) -> str:
    """A sent command for a list: its label, and for "play now" the title it carried."""
    title = payload_title(payload) if kind == "play_now" else None
    return f"{command_label(kind)} «{title}»" if title else command_label(kind)


def check_command_permission(principal: Principal, kind: str) -> None:
    info = COMMAND_INFO.get(kind)
    if info is None:
        raise InvalidInput("Lệnh không được hỗ trợ.", code="unknown_command")
    require(principal, info.permission)


def send_commands(
    session: Session,
    *,
    principal: Principal,
    device_uids: Sequence[str],
    kind: str,
    args: dict[str, Any],
    ttl: timedelta = service.COMMAND_TTL,
    ip: str = "",
) -> list[service.IssuedCommand]:
    """Queue ``kind`` for each device (the gateway sends them) and write one audit event per commune."""
    check_command_permission(principal, kind)
    if not device_uids:
        raise InvalidInput("Chưa chọn cụm loa nào.", code="no_devices")
    devices = queries.visible_devices(session, principal=principal, uids=device_uids)
    if kind == "play_now":
        # Only audio of the person's areas, refused like a missing file otherwise (issue 20, point 8);
        # a malformed hash is left to the command's own validation.
        sha = args.get("audio_sha256")
        if isinstance(sha, str) and is_sha256(sha):
            get_playable(session, principal, sha)
        args = {"priority": PLAY_NOW_PRIORITY, **args}
    rows = service.issue_command(
        session, devices=devices, kind=kind, args=args, issued_by=principal.username, ttl=ttl
    )
    by_commune: dict[int | None, list[service.Commandable]] = defaultdict(list)
    for device in devices:
        by_commune[device.commune_id].append(device)
    for commune_id, group in by_commune.items():
        uids = sorted(d.uid for d in group)
        audit.record(
            session,
            action=f"device.{kind}",
            actor=principal,
            target_type="device",
            target_id=uids[0] if len(uids) == 1 else f"{len(uids)} cụm loa",
            area_id=commune_id,
            details={
                "kind": kind,
                "args": args,
                "devices": uids[:MAX_AUDITED_UIDS],
                "device_count": len(uids),
                "ttl_s": int(ttl.total_seconds()),
            },
            ip=ip,
        )
    return rows
