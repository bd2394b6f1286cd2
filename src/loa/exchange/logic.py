"""The rules of the exchange as data, and the small pure functions around them: how each regulated
priority is put on air (Circular 39/2020/TT-BTTTT), the inbox states and their order, the keys of
connected systems, and when a failed delivery is tried again. No database, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from loa.exchange.models import InboxState, PeerRelation, Priority
from loa.protocol.priority import Priority as Rung


class Handling(StrEnum):
    """How a received bulletin of one priority reaches the loudspeakers."""

    COMMUNE_CHOOSES = "commune_chooses"  # normal: waits in the inbox for a time
    AHEAD = "ahead"  # priority: at once, ahead of the commune's own programmes
    AT_ONCE = "at_once"  # emergency: the alert path, interrupting everything


@dataclass(frozen=True)
class PriorityRule:
    label: str
    colour: str
    handling: Handling
    rung: int  # on the ladder (loa.protocol.priority)
    rule: str  # Vietnamese, for the inbox page


PRIORITY_RULES: MappingProxyType[Priority, PriorityRule] = MappingProxyType(
    {
        Priority.NORMAL: PriorityRule(
            "Thông thường",
            "grey",
            Handling.COMMUNE_CHOOSES,
            int(Rung.SCHEDULED),
            "Xã chọn thời điểm phát trong lịch của mình.",
        ),
        Priority.PRIORITY: PriorityRule(
            "Ưu tiên",
            "orange",
            Handling.AHEAD,
            int(Rung.PRIORITY_BULLETIN),
            "Phát ngay, trước các chương trình của xã; trùng với tin ưu tiên của xã thì "
            "cán bộ xã sắp thứ tự.",
        ),
        Priority.EMERGENCY: PriorityRule(
            "Khẩn cấp",
            "red",
            Handling.AT_ONCE,
            int(Rung.EMERGENCY),
            "Phát ngay lập tức, ngắt mọi nội dung khác.",
        ),
    }
)

# The operator puts a priority bulletin from above ahead of the commune's own priority item: one step
# above the priority rung (the ladder leaves room between rungs for this), still below live and
# emergency. "After" keeps the priority rung and starts when the commune's item ends.
AHEAD_OF_OWN_RUNG = int(Rung.PRIORITY_BULLETIN) + 10


@dataclass(frozen=True)
class StateInfo:
    label: str
    colour: str
    rank: int  # acknowledgements only move forward: a late "scheduled" never undoes "aired"


INBOX_STATES: MappingProxyType[InboxState, StateInfo] = MappingProxyType(
    {
        InboxState.RECEIVED: StateInfo("Chờ xã xếp lịch", "blue", 1),
        InboxState.NEEDS_ORDER: StateInfo("Trùng tin ưu tiên của xã, chờ sắp thứ tự", "orange", 2),
        InboxState.SCHEDULED: StateInfo("Đã xếp lịch phát", "teal", 3),
        InboxState.AIRED: StateInfo("Đã phát", "green", 4),
        InboxState.DECLINED: StateInfo("Từ chối phát", "grey", 4),
    }
)

RELATIONS: MappingProxyType[PeerRelation, str] = MappingProxyType(
    {
        PeerRelation.UPPER: "Hệ thống cấp trên (gửi tin xuống, đọc số liệu)",
        PeerRelation.LOWER: "Hệ thống cấp dưới (báo cáo lên)",
    }
)


def state_label(state: InboxState | str) -> str:
    try:
        return INBOX_STATES[InboxState(state)].label
    except ValueError:
        return "Đã gửi, chưa có phản hồi"


def moves_forward(current: str, new: InboxState) -> bool:
    """Whether an acknowledgement in state ``new`` replaces what is known (``current``, "" if none)."""
    if not current:
        return True
    try:
        before = INBOX_STATES[InboxState(current)].rank
    except ValueError:
        return True
    return INBOX_STATES[new].rank >= before


# --- keys ------------------------------------------------------------------------------------------

KEY_PREFIX = "lx_"
SECRET_BYTES = 32


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str

    @property
    def token(self) -> str:
        """What the connected system sends: ``<key id>.<secret>``."""
        return f"{self.key_id}.{self.secret}"


def new_key() -> NewKey:
    return NewKey(KEY_PREFIX + secrets.token_hex(8), secrets.token_urlsafe(SECRET_BYTES))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a presented token, or None when it is not of that shape."""
    key_id, dot, secret = token.strip().partition(".")
    if not dot or not key_id.startswith(KEY_PREFIX) or len(key_id) > 40 or not secret or len(secret) > 200:
        return None
    return key_id, secret


def secret_matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_sha256)


# --- delivery --------------------------------------------------------------------------------------

FIRST_RETRY_S = 5.0
MAX_RETRY_S = 3600.0
# Answers worth trying again: the other side was busy, throttled us or failed; anything else in 4xx
# means the message itself is refused and resending it unchanged cannot help.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def retry_after_s(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: 5 s, 10 s, 20 s … at most an hour."""
    return float(min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1)))


def worth_retrying(status: int | None) -> bool:
    """None: no answer at all (connection refused, cut, timed out)."""
    return status is None or status >= 500 or status in RETRYABLE_STATUSES


def ack_key(inbox_id: int, state: InboxState, plays: int) -> str:
    """The idempotency key of one acknowledgement: one per state and per count of plays."""
    return f"ack:{inbox_id}:{state.value}:{plays}"
