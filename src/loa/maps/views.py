"""The map page and its data: ``/map`` (Leaflet, vendored; tiles only when ``LOA_MAP_TILE_URL`` is set)
and ``/map/data`` (GeoJSON of every layer within the person's areas)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from loa.accounts.deps import ApiPrincipal, WebPrincipal
from loa.accounts.principal import Permission
from loa.accounts.scope import require
from loa.db.base import utcnow
from loa.errors import InvalidInput
from loa.maps.layers import TRIP_DAYS, BBox, map_data
from loa.schedule.recurrence import to_local
from loa.web.deps import SessionDep, SettingsDep
from loa.web.security import policy_with_images_from
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

BBOX_ERROR = "Khung bản đồ không hợp lệ: cần bốn số tây, nam, đông, bắc (độ)."


@router.get("/map")
def map_page(request: Request, db: SessionDep, principal: WebPrincipal, settings: SettingsDep) -> Response:
    """Bản đồ: cụm loa và vùng phủ sóng, thôn và số dân được phủ, xã, pa nô, lượt xe lưu động."""
    require(principal, Permission.VIEW)
    radius = settings.map_coverage_radius_m
    data = map_data(db, principal=principal, radius_m=radius, today=to_local(utcnow()).date())
    response = render(
        request,
        "maps/map.html",
        {
            "active_nav": "map",
            "data": data,
            "radius_m": radius,
            "trip_days": TRIP_DAYS,
            "tile_url": settings.map_tile_url or "",
            "tile_attribution": settings.map_tile_attribution,
            "tile_max_zoom": settings.map_tile_max_zoom,
        },
    )
    tiles = urlsplit(settings.map_tile_url or "")
    if tiles.scheme and tiles.netloc:  # another host: the page lets the browser load its images
        response.headers["Content-Security-Policy"] = policy_with_images_from(
            f"{tiles.scheme}://{tiles.netloc}"
        )
    return response


def _bbox(raw: str) -> BBox | None:
    """``west,south,east,north`` in degrees (RFC 7946 order), as Leaflet's ``toBBoxString`` gives it."""
    if not raw.strip():
        return None
    try:
        west, south, east, north = (float(part) for part in raw.split(","))
    except ValueError as err:
        raise InvalidInput(BBOX_ERROR, code="invalid_bbox") from err
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidInput(BBOX_ERROR, code="invalid_bbox")
    return west, south, east, north


@router.get("/map/data")
def map_json(
    db: SessionDep,
    principal: ApiPrincipal,
    settings: SettingsDep,
    bbox: str = Query(default="", max_length=200),
) -> dict[str, Any]:
    """Các lớp của bản đồ dạng GeoJSON (RFC 7946) trong địa bàn của người dùng; ``bbox`` (tây, nam,
    đông, bắc): chỉ các cụm loa trong khung nhìn, gộp theo ô lưới khi quá nhiều."""
    require(principal, Permission.VIEW)
    data = map_data(
        db,
        principal=principal,
        radius_m=settings.map_coverage_radius_m,
        today=to_local(utcnow()).date(),
        bbox=_bbox(bbox),
    )
    return {**data.geojson(), "bounds": data.bounds}
