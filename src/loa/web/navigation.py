"""The dashboard's menu: one row per capability (label in Vietnamese, URL, who sees it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    available: bool = True


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("dashboard", "Tổng quan", "/"),
    NavItem("areas", "Địa bàn", "/areas"),
    NavItem("bulletins", "Tin bài", "/bulletins"),
    NavItem("speech", "Giọng đọc", "/speech"),
    NavItem("schedule", "Lịch phát sóng", "/schedule"),
    NavItem("fleet", "Cụm loa", "/fleet"),
    NavItem("alerts", "Cảnh báo khẩn cấp", "/alerts", available=False),
    NavItem("activities", "Hoạt động tuyên truyền", "/activities"),
    NavItem("reports", "Báo cáo", "/reports"),
    NavItem("users", "Người dùng", "/users"),
    NavItem("audit", "Nhật ký", "/audit"),
)
