"""The gate of the exchange API: who is calling (a connected system's key), its rate limit, the call
log every call leaves, the size limit of what it sends, and idempotent application of what it pushes.
The routes are ``loa.exchange.api``."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from loa.accounts.deps import client_ip
from loa.db.base import utcnow
from loa.errors import InvalidInput, LoaError
from loa.exchange import calls, peers
from loa.exchange.models import ReceivedMessage
from loa.exchange.peers import Caller
from loa.settings import Settings
from loa.web.deps import SessionDep
from loa.web.errors import problem

PREFIX = "/api/exchange/v1"
KEY_HEADER = "X-Loa-Exchange-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 120
LENGTH_REQUIRED = "Yêu cầu gửi dữ liệu phải có tiêu đề Content-Length."


class LoggedRoute(APIRoute):
    """Every call is written to the call log in its own transaction, with its status, whatever happens
    in the handler; a POST larger than ``exchange_max_body_bytes`` is refused before it is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def logged(request: Request) -> Response:
            started = time.monotonic()
            status = 500
            try:
                refused = _refuse_large(request)
                if refused is not None:
                    status = refused.status_code
                    return refused
                response = await handle(request)
                status = response.status_code
                return response
            except LoaError as err:
                status = err.status
                raise
            except StarletteHTTPException as err:
                status = err.status_code
                raise
            except RequestValidationError:
                status = 422
                raise
            finally:
                elapsed_ms = int((time.monotonic() - started) * 1000)
                await run_in_threadpool(_log_call, request, status, elapsed_ms)

        return logged


def _refuse_large(request: Request) -> Response | None:
    if request.method != "POST":
        return None
    settings: Settings = request.app.state.settings
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return problem(411, "length_required", LENGTH_REQUIRED)
    if int(declared) > settings.exchange_max_body_bytes:
        limit_mb = settings.exchange_max_body_bytes // (1024 * 1024)
        return problem(413, "payload_too_large", f"Dữ liệu gửi quá lớn (tối đa {limit_mb} MB).")
    return None


def _log_call(request: Request, status: int, elapsed_ms: int) -> None:
    factory: sessionmaker[Session] = request.app.state.session_factory
    now = utcnow()
    with factory() as session, session.begin():
        key_row = getattr(request.state, "exchange_key_row", None)
        if key_row is not None:
            peers.touch_key(session, key_row, now)
        calls.record_call(
            session,
            peer_id=getattr(request.state, "exchange_peer_id", None),
            method=request.method,
            path=request.url.path,
            status=status,
            ip=client_ip(request),
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
            duration_ms=elapsed_ms,
            at=now,
        )


def _presented_key(request: Request) -> str | None:
    direct = request.headers.get(KEY_HEADER)
    if direct:
        return direct
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def get_caller(request: Request, db: SessionDep) -> Caller:
    caller = peers.authenticate(db, _presented_key(request))
    request.state.exchange_peer_id = caller.peer.id
    request.state.exchange_key_row = caller.key.id
    settings: Settings = request.app.state.settings
    limit = caller.peer.rate_limit_per_min or settings.exchange_rate_limit_per_min
    calls.check_rate(db, peer_id=caller.peer.id, limit=limit, now=utcnow())
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def idempotent(
    request: Request, db: Session, caller: Caller, kind: str, apply: Callable[[], tuple[int, dict[str, Any]]]
) -> JSONResponse:
    key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(
            f"Thiếu tiêu đề {IDEMPOTENCY_HEADER} (tối đa {MAX_IDEMPOTENCY_KEY} ký tự): "
            "mỗi lần gửi cần một mã riêng, gửi lại thì giữ nguyên mã.",
            code="idempotency_key_missing",
        )

    def replay() -> JSONResponse | None:
        found = db.scalar(
            select(ReceivedMessage).where(
                ReceivedMessage.peer_id == caller.peer.id, ReceivedMessage.idempotency_key == key
            )
        )
        if found is None:
            return None
        return JSONResponse(found.response, status_code=found.status, headers={"Idempotent-Replay": "true"})

    earlier = replay()
    if earlier is not None:
        return earlier
    status, body = apply()
    db.add(
        ReceivedMessage(
            peer_id=caller.peer.id,
            idempotency_key=key,
            kind=kind,
            status=status,
            response=body,
            received_at=utcnow(),
        )
    )
    try:
        db.commit()
    except IntegrityError:  # the same key, applied by a concurrent request: its answer stands
        db.rollback()
        earlier = replay()
        if earlier is None:
            raise
        return earlier
    return JSONResponse(body, status_code=status)
