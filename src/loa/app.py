"""The web application factory: the one place where web routes, settings and the database meet."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from loa import __version__
from loa.accounts.deps import install_auth_handlers
from loa.db import make_engine
from loa.navigation import menu_for
from loa.process import Process
from loa.schedule.titles import item_titles
from loa.settings import Settings
from loa.web.docs import install_api_docs
from loa.web.errors import install_error_handlers
from loa.web.proxies import TrustedProxyMiddleware
from loa.web.security import SecurityHeadersMiddleware
from loa.web.templating import make_templates
from loa.wiring import wire

log = logging.getLogger(__name__)

# Every module below exposes ``router``; order matters only for overlapping paths.
ROUTER_MODULES: tuple[str, ...] = (
    "loa.web.views",
    "loa.web.pwa",
    "loa.dashboard",
    "loa.accounts.api",
    "loa.accounts.views",
    "loa.users.views",
    "loa.auditlog",
    "loa.areas.api",
    "loa.areas.picker_views",  # /areas/choices before /areas/{code}
    "loa.areas.views",
    "loa.topics.api",
    "loa.content.api",
    "loa.content.api_public",
    "loa.content.views",
    "loa.activities.api",
    "loa.activities.views",
    "loa.activities.import_views",
    "loa.reports.api",
    "loa.reports.views",
    "loa.reports.statistics_page",
    "loa.fleet.api",
    "loa.schedule.api",
    "loa.schedule.api_devices",
    "loa.schedule.views",  # /schedule/programmes/new before /schedule/programmes/{id}
    "loa.schedule.programme_views",
    "loa.schedule.order_views",
    "loa.fleet.release_views",  # /fleet/releases before /fleet/{…} pages
    "loa.fleet.views",
    "loa.fleet.monitoring",
    "loa.alerts.api",
    "loa.alerts.cap.api",  # /api/v1/cap…, /api/v1/alerts/{id}.cap
    "loa.alerts.views",
    "loa.alerts.cap.views",
    "loa.alerts.sms_api",
    "loa.alerts.sms_views",
    "loa.content.api_media",  # GET /api/v1/audio/{sha256}: scoped by content's audio rule
    "loa.speech.api",
    "loa.speech.views",
    "loa.maps.views",
    "loa.exchange.api",
    "loa.exchange.views",
    "loa.exchange.connections_views",
    "loa.feedback.public",  # /gop-y/tra-cuu before /gop-y/{commune_code}
    "loa.feedback.views",
    "loa.feedback.api",
    "loa.eboards.api",
    "loa.push.api",
    "loa.live.api",
    "loa.live.views",
)


def create_app(
    settings: Settings, *, engine: Engine | None = None, process: Process | None = None
) -> FastAPI:
    """``process``: when the web app shares its process with others (``loa demo`` runs the gateway
    beside it), the one ``loa.wiring.wire`` made for them all; otherwise it is wired here."""
    app = FastAPI(
        title="Loa API",
        version=__version__,
        description="API của hệ thống thông tin cơ sở Loa (truyền thanh thông minh, tin bài, báo cáo).",
        docs_url=None,  # served by loa.web.docs, from local files (no CDN, no inline script)
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    engine = engine or make_engine(settings.resolved_database_url)
    app.state.settings = settings
    app.state.engine = engine
    process = process or wire(engine, settings)
    app.state.process = process
    app.state.session_factory = process.sessions
    app.state.templates = make_templates(menu_for=menu_for)
    app.state.audio_locator = importlib.import_module("loa.fleet.audio").locator_for(settings)
    # Which audio a person may name by hash, for speech's routes (the rule needs bulletins: issue 20.8).
    app.state.audio_gate = importlib.import_module("loa.content.audio_scope").require_asset
    # The live routes derive stream tokens and source passwords from the manifest signing key (loa.live).
    app.state.live_secret = lambda: (
        importlib.import_module("loa.fleet.keys")
        .load_or_create_signing_key(settings.data_dir)
        .private_bytes_raw()
    )
    app.state.item_titles = item_titles  # the fleet's pages name what devices play (loa.fleet.present)

    install_error_handlers(app)
    install_auth_handlers(app)
    install_api_docs(app)
    for module_name in ROUTER_MODULES:
        module = importlib.import_module(module_name)
        router: APIRouter = module.router
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="loa_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=False,
    )
    app.add_middleware(SecurityHeadersMiddleware, always_secure=settings.secure_cookies)
    # Added last, so it runs first: everything inside sees the client and scheme it settles.
    app.add_middleware(TrustedProxyMiddleware, trusted=settings.trusted_proxy_networks)
    return app
