"""The audit log: ``record`` is its only writer (append-only); ``query`` reads it, scoped and paginated.

Actions are dotted strings, ``<noun>.<verb>``: ``auth.login``, ``auth.login_failed``, ``user.create``,
``user.role_change``, ``bulletin.approve`` … Labels for people are in ``ACTION_LABELS``; an action
without a label is shown as its code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent, User
from loa.accounts.principal import Principal
from loa.accounts.scope import in_scope
from loa.db.base import utcnow

ACTION_LABELS: dict[str, str] = {
    "auth.login": "Đăng nhập",
    "auth.login_failed": "Đăng nhập thất bại",
    "auth.login_throttled": "Đăng nhập bị tạm khóa",
    "auth.logout": "Đăng xuất",
    "auth.token_issue": "Cấp mã truy cập API",
    "auth.token_revoke": "Thu hồi mã truy cập API",
    "user.create": "Tạo người dùng",
    "user.role_change": "Đổi vai trò / địa bàn",
    "user.deactivate": "Khóa tài khoản",
    "user.activate": "Mở khóa tài khoản",
    "user.password_change": "Đổi mật khẩu",
    "user.sessions_revoke": "Đăng xuất mọi phiên",
    "push.subscribe": "Bật thông báo đẩy trên một trình duyệt",
    "push.unsubscribe": "Tắt thông báo đẩy trên một trình duyệt",
    "bulletin.create": "Tạo tin bài",
    "bulletin.update": "Sửa tin bài",
    "bulletin.submit": "Gửi duyệt tin bài",
    "bulletin.withdraw": "Rút lại tin bài",
    "bulletin.approve": "Duyệt tin bài",
    "bulletin.return": "Trả lại tin bài",
    "bulletin.publish": "Xuất bản tin bài",
    "bulletin.archive": "Lưu trữ tin bài",
    "bulletin.rendition_save": "Lưu bản ngôn ngữ",
    "bulletin.rendition_audio": "Gắn âm thanh cho bản ngôn ngữ",
    "bulletin.tts_request": "Yêu cầu đọc tự động (TTS)",
    "bulletin.photo_add": "Thêm ảnh",
    "bulletin.photo_remove": "Xóa ảnh",
    "topic.create": "Tạo chủ đề",
    "device.enrol_code": "Cấp mã ghi danh thiết bị",
    "schedule.programme_create": "Tạo chuyên mục phát sóng",
    "schedule.programme_update": "Sửa chuyên mục phát sóng",
    "schedule.programme_cancel": "Hủy chuyên mục phát sóng",
    "schedule.slot_move": "Dời buổi phát",
    "schedule.slot_cancel": "Hủy buổi phát",
    "schedule.slot_restore": "Khôi phục buổi phát",
    "schedule.running_order_set": "Sắp xếp nội dung buổi phát",
    "schedule.conflict_keep": "Giữ lịch trùng giờ (đã xác nhận)",
    "schedule.announcement_create": "Tạo thông báo phát",
    "schedule.announcement_move": "Dời thông báo phát",
    "schedule.announcement_cancel": "Hủy thông báo phát",
    "schedule.manifests_issue": "Phát hành lịch phát cho thiết bị",
    "device.create": "Thêm cụm loa",
    "fleet.history_maintain": "Bảo trì lịch sử thiết bị (phân vùng theo tháng, xóa nhật ký trạng thái cũ)",
    "reports.receipt_summary": "Tổng hợp biên nhận phát của một tháng đã khép lại (cho báo cáo)",
    "device.play_now": "Phát ngay tới cụm loa",
    "device.stop": "Dừng phát cụm loa",
    "alert.start": "Phát cảnh báo khẩn cấp",
    "alert.stop": "Dừng cảnh báo khẩn cấp",
    "alert.draft": "Lưu cảnh báo chờ phát",
    "alert.confirm": "Xác nhận cảnh báo (người thứ hai)",
    "alert.expire": "Cảnh báo hết hiệu lực",
    "alert.policy": "Đặt quy định xác nhận cảnh báo",
    "live.start": "Bắt đầu phát trực tiếp",
    "live.stop": "Kết thúc phát trực tiếp",
    "live.fail": "Phát trực tiếp bị gián đoạn",
    "live.cancel": "Hủy phát trực tiếp",
    "live.on_air": "Phát trực tiếp lên sóng",
    "live.recorded": "Lưu bản ghi buổi phát trực tiếp",
    "relay.schedule": "Đặt lịch tiếp sóng",
    "relay.on_air": "Tiếp sóng lên sóng",
    "relay.stop": "Kết thúc tiếp sóng",
    "relay.fail": "Tiếp sóng không thực hiện được",
    "relay.cancel": "Hủy tiếp sóng",
    "alert.clips": "Tạo đoạn cảnh báo soạn sẵn cho mọi cụm loa",
    "alert.sms_code": "Soạn tin nhắn kích hoạt cảnh báo khi mất mạng",
    "device.volume": "Đặt âm lượng cụm loa",
    "device.sync": "Đồng bộ lịch cụm loa",
    "device.reboot": "Khởi động lại cụm loa",
    "device.update": "Cập nhật phần mềm cụm loa",
    "device.alarm_raised": "Cảnh báo tình trạng cụm loa",
    "device.alarm_cleared": "Hết cảnh báo tình trạng cụm loa",
    "agent.release_publish": "Phát hành phiên bản phần mềm cụm loa",
    "agent.rollout_start": "Bắt đầu cập nhật phần mềm theo đợt",
    "agent.rollout_halted": "Dừng cập nhật phần mềm vì lỗi",
    "agent.rollout_done": "Hoàn tất cập nhật phần mềm",
    "speech.overrides_update": "Sửa từ điển viết tắt của địa bàn",
    "speech.voice_choice": "Chọn giọng đọc cho địa bàn",
    "activity.create": "Thêm bản ghi sổ theo dõi",
    "activity.update": "Sửa bản ghi sổ theo dõi",
    "activity.delete": "Xóa bản ghi sổ theo dõi",
    "activity.import": "Nhập tệp vào sổ theo dõi",
    "activity.import_hold": "Tải tệp lên sổ theo dõi, chờ xác nhận dòng trùng",
    "activity.import_cancel": "Hủy nhập tệp vào sổ theo dõi",
    "report.generate": "Lập báo cáo",
    "report.download": "Tải tệp báo cáo",
    "schedule.fallback_set": "Đặt danh mục dự phòng",
    "area.village_place": "Sửa vị trí, số dân của thôn",
    "area.village_add": "Thêm thôn, tổ dân phố",
    "area.villages_import": "Nạp danh sách thôn, tổ dân phố từ tệp",
    "area.station_add": "Thêm đài truyền thanh",
    "speech.upload": "Tải tệp ghi âm lên",
    "speech.tts_request": "Yêu cầu đọc văn bản thành âm thanh",
    "exchange.peer_create": "Thêm kết nối liên thông",
    "exchange.peer_update": "Sửa địa chỉ gửi của kết nối liên thông",
    "exchange.peer_pause": "Tạm dừng kết nối liên thông",
    "exchange.peer_resume": "Mở lại kết nối liên thông",
    "exchange.key_issue": "Cấp khóa kết nối liên thông",
    "exchange.key_revoke": "Thu hồi khóa kết nối liên thông",
    "exchange.inbox_receive": "Nhận bản tin từ cấp trên",
    "exchange.inbox_schedule": "Xếp lịch phát tin của cấp trên",
    "exchange.inbox_order": "Sắp thứ tự tin ưu tiên của cấp trên",
    "exchange.inbox_decline": "Không phát tin của cấp trên",
    "exchange.send": "Gửi bản tin xuống cấp dưới",
    "exchange.ack_receive": "Nhận xác nhận của cấp dưới",
    "exchange.plays_receive": "Nhận nhật ký phát của cấp dưới",
    "exchange.snapshot_receive": "Nhận danh mục, số liệu của cấp dưới",
    "exchange.message_retry": "Gửi lại tin liên thông bị từ chối",
    "feedback.receive": "Nhận ý kiến của người dân",
    "feedback.assign": "Giao xử lý ý kiến người dân",
    "feedback.reply": "Trả lời ý kiến người dân",
    "feedback.to_bulletin": "Tạo bản tin từ trả lời ý kiến người dân",
}

MAX_PAGE_SIZE = 200

# Details written for machines (the API returns them); the audit page leaves them out because the
# event stores their Vietnamese counterpart beside them (``recurrence`` says in words what ``rrule`` says
# in RFC 5545; ``places`` names what ``targets`` codes) or because they are ids no person reads.
MACHINE_DETAILS = frozenset(
    {
        "rrule",
        "items",
        "sample",
        "devices",
        "job_id",
        "your_changes",
        "current_text",
        "your_text",
        "fields",
        "partitions",
    }
)
# ``key`` is shown only when the event has no ``value`` beside it (older events wrote only the codes).
SHOWN_INSTEAD: dict[str, str] = {"targets": "places"}
DETAIL_LABELS: dict[str, str] = {
    "alarm": "Cảnh báo",
    "waves": "Các đợt (%)",
    "rollout_state": "Trạng thái cập nhật",
    "name": "Tên",
    "title": "Tiêu đề",
    "recurrence": "Lịch phát",
    "start_local": "Bắt đầu",
    "slot_minutes": "Khung giờ (phút)",
    "priority": "Mức ưu tiên",
    "places": "Nơi phát",
    "targets": "Nơi phát",
    "titles": "Nội dung",
    "before": "Trước",
    "after": "Sau",
    "programme": "Chương trình",
    "from": "Từ",
    "to": "Sang",
    "count": "Số lượng",
    "conflicts": "Trùng lịch",
    "reason": "Lý do",
    "incremental": "Cách lập",
    "changed": "Số cụm loa có lịch mới",
    "renewed": "Số cụm loa được gia hạn lịch",
    "total_ms": "Tổng thời lượng",
    "slot_ms": "Khung giờ",
    "duration_ms": "Thời lượng",
    "overfull": "Dài hơn khung giờ",
    "username": "Tên đăng nhập",
    "role": "Vai trò",
    "areas": "Địa bàn",
    "via": "Qua",
    "known_user": "Tên đăng nhập có tồn tại",
    "retry_after_s": "Thử lại sau",
    "ttl_s": "Hiệu lực lệnh",
    "kind": "Loại",
    "args": "Tham số",
    "device_count": "Số cụm loa",
    "register": "Sổ theo dõi",
    "file": "Tệp",
    "rows": "Số dòng",
    "duplicates": "Dòng trùng",
    "duplicates_imported": "Dòng trùng vẫn nhập",
    "created": "Đã tạo",
    "errors": "Lỗi",
    "revision": "Phiên bản",
    "version": "Phiên bản",
    "current_version": "Phiên bản hiện tại",
    "your_version": "Phiên bản đang sửa",
    "comment": "Ý kiến",
    "language": "Ngôn ngữ",
    "origin": "Nguồn",
    "size_bytes": "Dung lượng",
    "chars": "Số ký tự",
    "entries": "Số mục",
    "format": "Định dạng",
    "formats": "Định dạng",
    "encoding": "Bảng mã",
    "accept": "Xử lý trùng lịch",
    "asap": "Phát ngay",
    "start_at": "Giờ phát",
    "bulletin_id": "Bản tin",
    "areas_count": "Số địa bàn",
    "audio_sha256": "Âm thanh",
    "level": "Âm lượng",
    "repeat_gap_s": "Nghỉ giữa hai lần",
    "communes": "Các xã",
    "latitude": "Vĩ độ",
    "longitude": "Kinh độ",
    "population": "Số dân",
    "key": "Khóa",
    "url": "Địa chỉ",
    "ahead": "Phát trước tin của xã",
    "channel": "Kênh",
    "topic": "Lĩnh vực",
    "period": "Kỳ",
    "message_kind": "Loại tin liên thông",
    "months_ready": "Tháng đã chuẩn bị chỗ lưu",
    "retention_months": "Số tháng giữ nhật ký trạng thái",
    "status_log_before": "Xóa nhật ký trạng thái trước ngày",
    "status_log_rows": "Số dòng nhật ký trạng thái đã xóa",
    "month": "Tháng",
    "groups": "Số dòng tổng hợp",
    "again": "Tổng hợp lại (có biên nhận đến muộn hoặc cụm loa đã chuyển xã)",
}
VALUE_WORDS: dict[str, dict[str, str]] = {
    "via": {
        "web": "trang web",
        "api": "API",
        "cli": "dòng lệnh",
        "gateway": "bảo trì định kỳ của cổng thiết bị",
    },
    "reason": {"inactive": "tài khoản đã khóa"},
    "accept": {"keep": "giữ cả hai", "proposal": "áp dụng đề xuất"},
    "channel": {"web": "trang góp ý", "sms": "tin nhắn SMS", "hotline": "đường dây nóng"},
    "message_kind": {
        "inventory": "danh mục, trạng thái",
        "statistics": "số liệu",
        "ack": "xác nhận",
        "plays": "nhật ký phát",
        "bulletin": "bản tin",
        "snapshot": "danh mục, số liệu",
    },
}
Words = Mapping[str, Callable[[Any], str]]
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def duration_words(ms: int) -> str:
    """ "4 phút 30 giây", "1 giờ 5 phút"."""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours} giờ" if hours else "",
        f"{minutes} phút" if minutes else "",
        f"{secs} giây" if secs else "",
    ]
    return " ".join(p for p in parts if p) or "0 giây"


def _text(value: Any) -> str:
    """A detail value in words: yes/no, dates and times as people write them, lists joined."""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) or "—"
    if isinstance(value, str):
        if _ISO_DATETIME.match(value):
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return f"{at:%H:%M} ngày {at:%d/%m/%Y}"
        if _ISO_DATE.match(value):
            return f"{value[8:10]}/{value[5:7]}/{value[:4]}"
    if value is None:
        return "—"
    return str(value)


def _value(key: str, value: Any, words: Words) -> str:
    if key in words:
        return words[key](value)
    if isinstance(value, Mapping):
        return f"({details_text(value, words)})"
    if isinstance(value, str) and value in VALUE_WORDS.get(key, {}):
        return VALUE_WORDS[key][value]
    if key.endswith("_ms") and isinstance(value, int):
        return duration_words(value)
    if key.endswith("_s") and isinstance(value, int):
        return f"{value} giây"
    return _text(value)


def details_text(details: Mapping[str, Any], words: Words | None = None) -> str:
    """An event's details for the audit page: labelled in Vietnamese, values in words (``words`` adds a
    domain's own vocabulary, e.g. a bulletin's statuses), nested ones in brackets, machine ones left out."""
    words = words or {}
    shown = []
    for key, value in details.items():
        if key in MACHINE_DETAILS or SHOWN_INSTEAD.get(key, "") in details:
            continue
        shown.append(f"{DETAIL_LABELS.get(key, key)}: {_value(key, value, words)}")
    return "; ".join(shown)


def record(
    session: Session,
    *,
    action: str,
    actor: Principal | None = None,
    actor_user_id: int | None = None,
    actor_name: str | None = None,
    target_type: str = "",
    target_id: str | int = "",
    area_id: int | None = None,
    details: Mapping[str, Any] | None = None,
    ip: str = "",
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event (flushed, not committed: it lands with the caller's transaction).

    ``actor`` is the signed-in principal; without one, ``actor_user_id``/``actor_name`` describe who
    acted (a user proving who they are at login, or the command line); a user named only by id is
    looked up, so the log shows who it was."""
    if actor is None and actor_name is None and actor_user_id is not None:
        user = session.get(User, actor_user_id)
        actor_name = user.username if user is not None else ""
    event = AuditEvent(
        at=at or utcnow(),
        # A principal without a user (the command line's, id 0) is named, not linked.
        actor_user_id=(actor.user_id or None) if actor else actor_user_id,
        actor_name=actor_name if actor_name is not None else (actor.username if actor else ""),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        area_id=area_id,
        details=dict(details or {}),
        ip=ip[:64],
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _visible_to(principal: Principal) -> ColumnElement[bool]:
    """Events in the principal's areas (all of them for administrators), and their own actions."""
    return or_(in_scope(principal, AuditEvent.area_id), AuditEvent.actor_user_id == principal.user_id)


def query(
    session: Session,
    *,
    principal: Principal,
    action: str | None = None,
    actor_user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Newest first. ``action`` matches exactly, or a whole family when it ends with ``.``
    (``"auth."``). ``since`` is inclusive, ``until`` exclusive."""
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PAGE_SIZE)
    conditions: list[ColumnElement[bool]] = [_visible_to(principal)]
    if action:
        conditions.append(
            AuditEvent.action.startswith(action) if action.endswith(".") else AuditEvent.action == action
        )
    if actor_user_id is not None:
        conditions.append(AuditEvent.actor_user_id == actor_user_id)
    if since is not None:
        conditions.append(AuditEvent.at >= since)
    if until is not None:
        conditions.append(AuditEvent.at < until)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return AuditPage(events=list(rows), total=total, page=page, per_page=per_page)
