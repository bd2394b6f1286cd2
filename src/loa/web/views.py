"""Routes that belong to no domain: health check, the language switcher, the favicon, the API schema's
short address."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import RedirectResponse, Response

from loa.errors import NotFound
from loa.web.deps import SessionDep
from loa.web.i18n import LOCALE_COOKIE, LOCALE_COOKIE_MAX_AGE_S, LOCALES

router = APIRouter()


@router.get("/healthz", tags=["system"])
def healthz(db: SessionDep) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok"}


def _local_path(raw: str | None) -> str:
    """Only a path on this site: never another host (``//evil``, ``/\\evil``) after the switch."""
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")):
        return "/"
    return raw


@router.get("/locale/{code}", include_in_schema=False)
def choose_locale(code: str, request: Request) -> Response:
    """Switch the pages' language (kept in a cookie for a year) and go back where the person was."""
    if code not in LOCALES:
        raise NotFound("Ngôn ngữ này chưa được hỗ trợ.", code="locale_unknown")
    response = RedirectResponse(_local_path(request.query_params.get("next")), status_code=303)
    response.set_cookie(
        LOCALE_COOKIE, code, max_age=LOCALE_COOKIE_MAX_AGE_S, httponly=True, samesite="lax", path="/"
    )
    return response


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says; the icon is an SVG."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/openapi.json", include_in_schema=False)
def openapi_short() -> Response:
    """The API schema lives at /api/v1/openapi.json (versioned with the API); this is its short name."""
    return RedirectResponse("/api/v1/openapi.json", status_code=307)
