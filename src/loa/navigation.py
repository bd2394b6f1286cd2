"""The product's menu: one row per capability (label in Vietnamese, URL, who sees it). It names every
domain's pages, so it is composition (like ``app``): ``create_app`` hands ``menu_for`` to the
templates, and ``loa.web`` knows nothing of accounts or of the domains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loa.accounts.principal import Permission, Principal


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    available: bool = True
    permission: Permission = Permission.VIEW  # who sees the entry (the page checks again)


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("dashboard", "Tổng quan", "/"),
    NavItem("areas", "Địa bàn", "/areas"),
    NavItem("bulletins", "Tin bài", "/bulletins"),
    NavItem("speech", "Giọng đọc", "/speech"),
    NavItem("schedule", "Lịch phát sóng", "/schedule"),
    NavItem("fleet", "Cụm loa", "/fleet"),
    NavItem("map", "Bản đồ", "/map"),
    NavItem("alerts", "Cảnh báo khẩn cấp", "/alerts"),
    NavItem("live", "Phát trực tiếp", "/live"),
    NavItem("activities", "Hoạt động tuyên truyền", "/activities"),
    NavItem("exchange", "Liên thông cấp trên, cấp dưới", "/exchange"),
    NavItem("feedback", "Ý kiến người dân", "/feedback"),
    NavItem("reports", "Báo cáo", "/reports"),
    NavItem("users", "Người dùng", "/users", permission=Permission.MANAGE_USERS),
    NavItem("audit", "Nhật ký", "/audit", permission=Permission.VIEW_AUDIT),
)


def menu_for(principal: Principal | None, items: Sequence[NavItem] = NAVIGATION) -> list[NavItem]:
    """The entries this person may open: a page they would be refused is not offered."""
    if principal is None:
        return []
    return [item for item in items if principal.has(item.permission)]
