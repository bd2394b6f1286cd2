"""The exchange API, version 1: ``/api/exchange/v1/…`` for connected systems (docs/exchange.md).

Authentication is a key of the connected system (``Authorization: Bearer lx_….<secret>``, or
``X-Loa-Exchange-Key`` when a gateway such as the province's LGSP uses ``Authorization`` for its own
token), never a user account. Every call is logged with its answer (``ExchangeCall``, by the route
class of ``loa.exchange.api_gate``, refused calls included) and counted against the system's per-minute
limit. Every POST
needs an ``Idempotency-Key``: a key already applied gets the same answer again and changes nothing.
The OpenAPI document of this API alone is ``/api/exchange/v1/openapi.json`` (Swagger UI:
``/api/exchange/v1/docs``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, JSONResponse

from loa import __version__
from loa.alerts.service import aired_audio
from loa.db.base import utcnow
from loa.errors import InvalidInput, NotFound
from loa.exchange import inbox, lower, peers, pull
from loa.exchange.api_gate import PREFIX, CallerDep, LoggedRoute, idempotent
from loa.exchange.codes import map_codes
from loa.exchange.logic import state_label
from loa.exchange.models import InboxItem, PeerRelation
from loa.exchange.peers import Caller
from loa.exchange.wire import (
    Accepted,
    AckIn,
    AreaCodeOut,
    BulletinIn,
    BulletinOut,
    ClusterOut,
    ClusterStatusOut,
    InboxOut,
    PlayPage,
    PlaysIn,
    ScheduleItemOut,
    SnapshotIn,
    StationOut,
    StatisticsOut,
)
from loa.settings import Settings
from loa.speech.runtime import runtime_for
from loa.web.deps import SessionDep
from loa.web.docs import ASSETS_PATH

router = APIRouter(prefix=PREFIX, tags=["exchange"], route_class=LoggedRoute)


def _paths(db: Session, caller: Caller, area: str | None) -> tuple[str, ...]:
    """The caller's areas, or one unit inside them (``area``)."""
    if not area:
        return caller.paths
    found = map_codes(db, [area])[0]
    units = [u for u in found.current if caller.covers(u.path)]
    if not units:
        raise InvalidInput(
            f"Địa bàn mã {area} không thuộc phạm vi của kết nối.", code="exchange_out_of_scope"
        )
    return tuple(u.path for u in units)


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    today = utcnow().astimezone(pull.VIETNAM).date()
    return start or today, end or start or today


def inbox_out(db: Session, item: InboxItem) -> InboxOut:
    return InboxOut(
        id=item.remote_id,
        state=item.state,
        state_label=state_label(item.state),
        received_at=item.received_at,
        scheduled_for=item.scheduled_for,
        plays=item.plays,
        reason=item.decline_reason,
        communes=list(item.commune_codes),
    )


# --- pulled by a higher system ----------------------------------------------------------------------


@router.get("/stations", response_model=list[StationOut])
def get_stations(db: SessionDep, caller: CallerDep, area: str | None = None) -> list[StationOut]:
    """Đài truyền thanh cấp xã trong địa bàn của hệ thống kết nối (mã địa bàn chính thức, kèm mã cũ)."""
    return pull.stations(db, _paths(db, caller, area))


@router.get("/clusters", response_model=list[ClusterOut])
def get_clusters(db: SessionDep, caller: CallerDep, area: str | None = None) -> list[ClusterOut]:
    """Cụm loa (cụm thu phát thanh) với mã địa bàn chính thức và các mã cũ trước sắp xếp 2025."""
    return pull.clusters(db, _paths(db, caller, area))


@router.get("/clusters/status", response_model=list[ClusterStatusOut])
def get_cluster_status(db: SessionDep, caller: CallerDep, area: str | None = None) -> list[ClusterStatusOut]:
    """Trạng thái từng cụm loa: trực tuyến, đang phát gì, âm lượng, lịch phát, lỗi."""
    return pull.cluster_status(db, _paths(db, caller, area))


@router.get("/area-codes", response_model=list[AreaCodeOut])
def get_area_codes(
    db: SessionDep, caller: CallerDep, code: Annotated[list[str], Query(min_length=1, max_length=500)]
) -> list[AreaCodeOut]:
    """Đối chiếu mã địa bàn: mã hiện hành giữ nguyên, mã huyện/xã cũ ánh xạ sang đơn vị hiện nay."""
    return [
        AreaCodeOut(code=m.code, name=m.name, current=[u.code for u in m.current], valid=m.valid)
        for m in map_codes(db, code)
    ]


@router.get("/bulletins", response_model=list[BulletinOut])
def get_bulletins(
    db: SessionDep,
    caller: CallerDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> list[BulletinOut]:
    """Tin bài đã duyệt, đã phát hành của địa bàn (và của cấp trên địa bàn) cập nhật trong khoảng ngày."""
    first, last = _period(start, end)
    return pull.bulletins(db, caller.paths, first, last)


@router.get("/schedules", response_model=list[ScheduleItemOut])
def get_schedules(
    db: SessionDep,
    caller: CallerDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> list[ScheduleItemOut]:
    """Lịch phát mà từng cụm loa đang giữ (lịch đã ký gửi xuống thiết bị) trong khoảng ngày."""
    first, last = pull.day_bounds(*_period(start, end))
    return pull.schedules(db, caller.paths, first, last)


@router.get("/plays", response_model=PlayPage)
def get_plays(
    db: SessionDep,
    caller: CallerDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=pull.MAX_PAGE)] = 500,
) -> PlayPage:
    """Nhật ký phát (biên nhận phát của cụm loa), theo con trỏ: truyền next_cursor vào after."""
    return pull.plays(db, caller.paths, after=after, limit=limit)


@router.get("/statistics", response_model=StatisticsOut)
def get_statistics(
    db: SessionDep,
    caller: CallerDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> StatisticsOut:
    """Số liệu theo xã trong khoảng ngày: cụm loa, lượt phát, thời lượng, tin nhận từ cấp trên; ý kiến
    người dân đã nhận, đã trả lời, trả lời đúng hạn."""
    first, last = _period(start, end)
    return pull.statistics(db, caller.paths, first, last)


# --- pushed down by a higher system -----------------------------------------------------------------


@router.post("/bulletins", response_model=InboxOut, status_code=202)
def post_bulletin(body: BulletinIn, request: Request, db: SessionDep, caller: CallerDep) -> JSONResponse:
    """Gửi một bản tin xuống: thông thường chờ xã xếp lịch; ưu tiên phát ngay trước chương trình của xã;
    khẩn cấp phát ngay lập tức. Trả lời ngay trạng thái; các xác nhận sau gửi lên địa chỉ đã đăng ký."""
    peers.require_relation(caller, PeerRelation.UPPER)
    settings: Settings = request.app.state.settings

    def apply() -> tuple[int, dict[str, Any]]:
        item = inbox.receive_bulletin(
            db,
            caller=caller,
            data=body,
            speech_context=runtime_for(request.app.state).context,
            context=inbox.Context(data_dir=settings.data_dir, now=utcnow(), aired=aired_audio(settings)),
        )
        return 202, inbox_out(db, item).model_dump(mode="json")

    return idempotent(request, db, caller, "bulletin", apply)


@router.get("/bulletins/{remote_id}/status", response_model=InboxOut)
def get_bulletin_status(remote_id: str, db: SessionDep, caller: CallerDep) -> InboxOut:
    """Điều gì đã xảy ra với một bản tin đã gửi xuống (theo mã của bên gửi): đã xếp lịch, đã phát bao
    nhiêu lần, hay bị từ chối và vì sao."""
    peers.require_relation(caller, PeerRelation.UPPER)
    item = db.scalar(
        select(InboxItem).where(InboxItem.peer_id == caller.peer.id, InboxItem.remote_id == remote_id)
    )
    if item is None:
        raise NotFound("Không có bản tin nào với mã này.", code="inbox_not_found")
    return inbox_out(db, item)


# --- reported up by a lower system ------------------------------------------------------------------


@router.post("/acks", status_code=200)
def post_ack(body: AckIn, request: Request, db: SessionDep, caller: CallerDep) -> JSONResponse:
    """Xác nhận của hệ thống cấp dưới về một bản tin đã nhận: đã xếp lịch, đã phát, từ chối (kèm lý do)."""

    def apply() -> tuple[int, dict[str, Any]]:
        sent = lower.apply_ack(db, caller=caller, ack=body)
        return 200, {"id": body.id, "state": sent.state, "plays": sent.plays}

    return idempotent(request, db, caller, "ack", apply)


@router.post("/plays", response_model=Accepted)
def post_plays(body: PlaysIn, request: Request, db: SessionDep, caller: CallerDep) -> JSONResponse:
    """Nhật ký phát của cụm loa cấp dưới; mỗi biên nhận được ghi một lần (khóa: mã thiết bị và mã
    biên nhận)."""
    return idempotent(
        request,
        db,
        caller,
        "plays",
        lambda: (200, lower.store_plays(db, caller=caller, data=body).model_dump()),
    )


@router.post("/snapshots")
def post_snapshot(body: SnapshotIn, request: Request, db: SessionDep, caller: CallerDep) -> JSONResponse:
    """Danh mục đài, cụm loa và trạng thái (inventory), hoặc số liệu một ngày (statistics) của cấp dưới."""

    def apply() -> tuple[int, dict[str, Any]]:
        lower.store_snapshot(db, caller=caller, data=body)
        return 200, {"kind": body.kind, "period": body.period}

    return idempotent(request, db, caller, "snapshot", apply)


# --- the document of this API ----------------------------------------------------------------------

docs = APIRouter(include_in_schema=False)
_DOCS_PAGE = """<!doctype html>
<html lang="vi">
<head>
  <meta charset="utf-8">
  <title>API liên thông Loa v1 · Swagger UI</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{prefix}/openapi.json"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-init.js"></script>
</body>
</html>
"""


@docs.get("/openapi.json")
def exchange_openapi() -> JSONResponse:
    """OpenAPI 3 of the exchange API only (public: it describes, it gives nothing away)."""
    spec = get_openapi(
        title="Loa — API liên thông hệ thống thông tin nguồn",
        version=f"1 (Loa {__version__})",
        description=(
            "Trao đổi giữa hệ thống thông tin nguồn các cấp: cấp trên gửi bản tin xuống và đọc số liệu; "
            "cấp dưới báo cáo xác nhận, nhật ký phát, danh mục và số liệu. Xác thực bằng khóa của hệ thống "
            "kết nối (Authorization: Bearer, hoặc X-Loa-Exchange-Key khi đi qua LGSP). Xem docs/exchange.md."
        ),
        routes=[r for r in router.routes if isinstance(r, APIRoute)],
    )
    spec["servers"] = [{"url": "/"}]
    return JSONResponse(spec)


@docs.get("/docs")
def exchange_docs() -> HTMLResponse:
    return HTMLResponse(_DOCS_PAGE.format(assets=ASSETS_PATH, prefix=PREFIX))


router.include_router(docs)
