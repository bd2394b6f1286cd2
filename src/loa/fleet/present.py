"""How fleet data reads to a person: state labels, relative times, priority names. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from loa.accounts.logic import VIETNAM_TZ, format_vietnam_time
from loa.errors import InvalidInput
from loa.fleet.models import Device, ReceiptOutcome, StatusEvent
from loa.protocol import itemids
from loa.protocol.priority import PRIORITY_MAX, PRIORITY_MIN
from loa.vocab.ladder import rung_of

# The titles behind play item ids ("Bản tin sáng — Tin tiêm chủng"): ``loa.schedule.titles.item_titles``,
# which the composition hands the fleet's pages (what was planned is a layer above the fleet).
ItemTitles = Callable[[Session, Iterable[str]], dict[str, str]]


@dataclass(frozen=True)
class StateInfo:
    key: str
    label: str
    colour: str


STATES: dict[str, StateInfo] = {
    "online": StateInfo("online", "Trực tuyến", "#1b7f3b"),
    "offline": StateInfo("offline", "Mất kết nối", "#b3261e"),
    "new": StateInfo("new", "Chưa đăng ký", "#6b6b6b"),
}

OUTCOME_LABELS: dict[ReceiptOutcome, str] = {
    ReceiptOutcome.PLAYED: "Đã phát trọn vẹn",
    ReceiptOutcome.PREEMPTED: "Bị ngắt / bỏ qua",
    ReceiptOutcome.FAILED: "Không phát được",
}

EVENT_LABELS: dict[StatusEvent, str] = {
    StatusEvent.ENROLLED: "Đăng ký thiết bị",
    StatusEvent.ONLINE: "Trực tuyến",
    StatusEvent.OFFLINE: "Mất kết nối",
    StatusEvent.MANIFEST_ERROR: "Từ chối lịch phát",
    StatusEvent.MANIFEST_OK: "Lịch phát hợp lệ trở lại",
}

DETAIL_LABELS: dict[str, str] = {
    "heartbeat_timeout": "không nhận được tín hiệu định kỳ",
    "audio_missing": "thiếu tệp âm thanh",
    "device_down": "thiết bị tắt hoặc mất điện",
    "operator_stop": "cán bộ vận hành dừng",
    "signature_invalid": "chữ ký lịch phát không hợp lệ",
    "audio_hash_mismatch": "tệp âm thanh sai mã kiểm tra",
    "manifest_rollback": "lịch phát cũ hơn lịch đang dùng",
    "wrong_device": "lịch phát của thiết bị khác",
    # answers to an ``update`` (loa.agent.update)
    "release_signature_invalid": "chữ ký phần mềm không hợp lệ",
    "restarting": "đang khởi động lại",
    "budget": "hết dung lượng dữ liệu trong ngày",
    "network": "lỗi mạng khi tải",
    "hash_mismatch": "tệp tải về sai mã kiểm tra",
    "install_failed": "cài đặt không thành công",
    "too_large": "gói phần mềm tải về lớn quá giới hạn",
    "no_release_key": "thiết bị chưa có khóa kiểm tra phần mềm",
    "not_supported": "thiết bị không hỗ trợ",
    "same_version": "đã dùng phiên bản này",
    "busy": "đang cập nhật",
    "bad_filename": "tên gói phần mềm không hợp lệ",
    "install_root_unusable": "thư mục cài đặt trên thiết bị không dùng được",
    "internal_error": "lỗi nội bộ của thiết bị",
}


# What a played item was, when no title for it is known (``loa.schedule.titles`` finds titles): a person
# reads this, never the item id.
UNTITLED_ITEM = "Nội dung không rõ tên"
ITEM_KIND_LABELS: dict[str, str] = {
    "programme": "Nội dung chương trình theo lịch",
    "announcement": "Thông báo theo lịch",
    "command": "Nội dung phát ngay",
}


def item_text(item_id: str | None, titles: Mapping[str, str], title: str | None = None) -> str:
    """The words for a played item: its own ``title``, else the one found for its id, else its kind."""
    if title:
        return title
    if not item_id:
        return UNTITLED_ITEM
    if item_id in titles:
        return titles[item_id]
    ref = itemids.parse(item_id)
    kind = "programme" if ref.programme_id is not None else "announcement" if ref.announcement_id else ""
    kind = kind or ("command" if ref.command else "")
    return ITEM_KIND_LABELS.get(kind, UNTITLED_ITEM)


def state_of(device: Device) -> StateInfo:
    if device.enrolled_at is None and not device.online:
        return STATES["new"]
    return STATES["online" if device.online else "offline"]


def when(value: datetime | None) -> str:
    return format_vietnam_time(value)


def ago(value: datetime | None, now: datetime) -> str:
    """ "3 phút trước" (or "—")."""
    if value is None:
        return "—"
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "vừa xong"
    if seconds < 60:
        return f"{seconds} giây trước"
    if seconds < 3600:
        return f"{seconds // 60} phút trước"
    if seconds < 86400:
        return f"{seconds // 3600} giờ trước"
    return f"{seconds // 86400} ngày trước"


def priority_label(priority: int | None) -> str:
    if priority is None or not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        return ""
    return rung_of(priority).label


def detail_label(detail: str | None, titles: Mapping[str, str] | None = None) -> str:
    """A receipt's, status change's or command result's detail in words; ``by:<item>`` (what took the
    loudspeaker) names the item by its title from ``titles``, else by its kind, never by its id."""
    if not detail:
        return ""
    if detail.startswith("by:"):
        by = detail[3:]
        if by == "operator_stop":
            return "cán bộ vận hành dừng"
        if titles and by in titles:
            return f"nhường cho «{titles[by]}»"
        text = item_text(by, {})
        return f"nhường cho {text[0].lower()}{text[1:]}"
    if detail.startswith("partial:"):
        return f"chỉ phát được {detail.split(':', 1)[1]}"
    return DETAIL_LABELS.get(detail, detail)


def parse_day(raw: str, label: str) -> date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise InvalidInput(f"{label} không hợp lệ (định dạng năm-tháng-ngày).", code="invalid_date") from err


def day_start_utc(day: date) -> datetime:
    """Midnight of a Vietnamese calendar day, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=VIETNAM_TZ)


def day_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """[since 00:00, until+1 00:00) in Vietnam time; refuses a reversed range."""
    if since and until and until < since:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", code="invalid_date_range")
    return (
        day_start_utc(since) if since else None,
        day_start_utc(until + timedelta(days=1)) if until else None,
    )
