"""``/fleet/releases``: agent releases and their rollouts for administrators — publish a wheel (signed
with the release key on the server), start a rollout to a commune in waves, follow its progress.
The same use cases as ``loa agent-release`` (``loa.fleet.releases``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.principal import Principal
from loa.db.base import utcnow
from loa.errors import InvalidInput, LoaError, PermissionDenied
from loa.fleet import present, releases
from loa.fleet.models import AgentRelease
from loa.vocab.numbers import number_text
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
_flash, _pop_flash = flash_pair("fleet_releases_flash")
FormStr = Annotated[str, Form()]


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied("Chỉ quản trị viên được cập nhật phần mềm cụm loa.")


def _page(request: Request, db: SessionDep, *, error: str | None = None, status: int = 200) -> Response:
    context = {
        "active_nav": "fleet",
        "releases": list(db.scalars(select(AgentRelease).order_by(AgentRelease.id.desc()))),
        "rollouts": releases.rollout_views(db),
        "flash": _pop_flash(request),
        "error": error,
        "size_mb": lambda n: number_text(n / 1e6, 1),
        "when": present.when,
    }
    return render(request, "fleet/releases.html", context, status_code=status)


@router.get("/fleet/releases")
def releases_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    _admin(principal)
    return _page(request, db)


@router.post("/fleet/releases")
async def publish_release(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
    wheel: Annotated[UploadFile | None, File()] = None,
    version: FormStr = "",
) -> Response:
    _admin(principal)
    try:
        if wheel is None or not wheel.filename:
            raise InvalidInput("Hãy chọn tệp gói phần mềm (.whl).", code="release_no_file")
        data = await wheel.read(releases.MAX_WHEEL_BYTES + 1)
        release = releases.publish(
            db,
            data=data,
            filename=wheel.filename,
            version=version.strip(),
            data_dir=settings.data_dir,
            published_by=principal.username,
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, error=err.message, status=err.status)
    db.commit()
    _flash(request, f"Đã phát hành phiên bản {release.version}.")
    return RedirectResponse("/fleet/releases", status_code=303)


@router.post("/fleet/rollouts")
def start_rollout(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    version: FormStr = "",
    commune_code: FormStr = "",
    waves: FormStr = "5,25,100",
) -> Response:
    _admin(principal)
    try:
        releases.start_rollout(
            db,
            version=version,
            commune_code=commune_code.strip() or None,
            waves=releases.parse_waves(waves),
            created_by=principal.username,
            now=utcnow(),
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, error=err.message, status=err.status)
    db.commit()
    _flash(request, f"Đã bắt đầu cập nhật lên phiên bản {version}.")
    return RedirectResponse("/fleet/releases", status_code=303)
