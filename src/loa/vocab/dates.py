"""Dates as Vietnamese documents write them."""

from __future__ import annotations

from datetime import date


def vn_date(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"
