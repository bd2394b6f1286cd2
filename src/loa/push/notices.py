"""What a push says, in Vietnamese: pure functions from names to a ``Notice``. The payload the
service worker (``/sw.js``) shows is its JSON; it carries no personal data beyond the names of
loudspeakers and bulletin titles of the person's own areas."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

MAX_NAMED = 5  # loudspeakers named in one notice; the rest are counted


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    url: str  # the page a tap opens (on this site)
    tag: str  # a later notice with the same tag replaces the earlier one on the phone

    def payload(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def devices_offline(names: Sequence[str]) -> Notice:
    ordered = sorted(names)
    shown = ", ".join(ordered[:MAX_NAMED])
    rest = len(ordered) - MAX_NAMED
    if len(ordered) == 1:
        title = f"{ordered[0]} mất kết nối"
        body = "Cụm loa không còn liên lạc với máy chủ. Hãy kiểm tra nguồn điện và mạng 4G/Internet."
    else:
        title = f"{len(ordered)} cụm loa mất kết nối"
        body = shown + (f" và {rest} cụm khác" if rest > 0 else "") + "."
    return Notice(title=title, body=body, url="/fleet", tag="devices-offline")


def device_alarms(texts: Sequence[str]) -> Notice:
    """Health alarms of loudspeakers raised or cleared (``loa.fleet.health``)."""
    shown = "; ".join(texts[:MAX_NAMED])
    rest = len(texts) - MAX_NAMED
    title = "Cảnh báo cụm loa" if len(texts) == 1 else f"{len(texts)} thay đổi cảnh báo cụm loa"
    return Notice(
        title=title,
        body=shown + (f"; và {rest} thay đổi khác" if rest > 0 else "") + ".",
        url="/",
        tag="device-alarms",
    )


def bulletin_waiting(title: str, *, source: str, needs_order: bool) -> Notice:
    what = (
        "Tin ưu tiên trùng giờ với tin ưu tiên của xã: cần sắp thứ tự phát."
        if needs_order
        else "Tin chờ xã chọn giờ phát."
    )
    return Notice(
        title=f"Tin từ {source} chờ xác nhận",
        body=f"«{title}». {what}",
        url="/exchange",
        tag="exchange-inbox",
    )


def alert_awaiting(alert_id: int, *, what: str, sender: str, devices: int) -> Notice:
    """An emergency alert waits for a second person (``loa.alerts.confirm``)."""
    return Notice(
        title=f"{what} chờ bạn xác nhận",
        body=f"{sender} đã soạn cảnh báo tới {devices} cụm loa; cảnh báo chỉ phát khi một lãnh đạo xác nhận.",
        url="/alerts",
        tag=f"alert-{alert_id}",
    )


def trial_notice() -> Notice:
    return Notice(
        title="Loa: thông báo thử",
        body="Điện thoại này sẽ nhận thông báo khi cụm loa mất kết nối hoặc có tin chờ xác nhận.",
        url="/fleet",
        tag="test",
    )
