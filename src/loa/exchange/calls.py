"""The call log of the exchange API (every call, refused ones too) and the rate limit it counts.

The limit is per connected system and per minute, counted from the log in the database, so it holds
across several web processes; a refusal says when to try again (``Retry-After``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.errors import TooManyRequests
from loa.exchange.models import ExchangeCall

WINDOW = timedelta(minutes=1)


def check_rate(session: Session, *, peer_id: int, limit: int, now: datetime) -> None:
    since = now - WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(ExchangeCall.at)).where(
            ExchangeCall.peer_id == peer_id, ExchangeCall.at > since
        )
    ).one()
    if int(count) < limit:
        return
    wait_s = max(1, int((oldest + WINDOW - now).total_seconds()) + 1) if oldest is not None else 60
    raise TooManyRequests(
        f"Hệ thống kết nối đã gọi quá {limit} lần trong một phút. Vui lòng thử lại sau {wait_s} giây.",
        code="exchange_rate_limited",
        details={"retry_after_s": wait_s},
    )


def record_call(
    session: Session,
    *,
    peer_id: int | None,
    method: str,
    path: str,
    status: int,
    ip: str,
    idempotency_key: str,
    duration_ms: int,
    at: datetime,
) -> None:
    session.add(
        ExchangeCall(
            peer_id=peer_id,
            at=at,
            method=method[:8],
            path=path[:300],
            status=status,
            ip=ip[:64],
            idempotency_key=idempotency_key[:120],
            duration_ms=duration_ms,
        )
    )


def recent_calls(session: Session, *, peer_id: int, limit: int = 20) -> list[ExchangeCall]:
    return list(
        session.scalars(
            select(ExchangeCall)
            .where(ExchangeCall.peer_id == peer_id)
            .order_by(ExchangeCall.id.desc())
            .limit(limit)
        )
    )


def refused_calls(session: Session, *, since: datetime) -> int:
    """Calls without a valid key since ``since`` (someone is trying keys)."""
    return (
        session.scalar(select(func.count()).where(ExchangeCall.peer_id.is_(None), ExchangeCall.at >= since))
        or 0
    )
