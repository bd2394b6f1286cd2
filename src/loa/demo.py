"""Demo data for ``loa demo`` / ``make run``: one province (Quảng Ngãi, code 51) ready to explore."""

from __future__ import annotations

from sqlalchemy.orm import Session

from loa.settings import Settings


def seed_demo(session: Session, settings: Settings) -> list[str]:
    """Create the demo data once (idempotent) and return lines to print for the person starting it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return ["Dữ liệu mẫu: chưa có phân hệ nào để nạp."]
