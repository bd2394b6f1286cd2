"""Jinja2 templates: one environment that finds ``templates/`` in every domain package."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from loa.vocab.numbers import number_text, percent_text
from loa.web.i18n import LOCALES, locale_of, template_translate

# Domain packages that ship a templates/ folder; web's own (base layout) comes first.
TEMPLATE_PACKAGES: tuple[str, ...] = (
    "loa.web",
    "loa.accounts",
    "loa.users",
    "loa.content",
    "loa.areas",
    "loa.speech",
    "loa.activities",
    "loa.reports",
    "loa.fleet",
    "loa.alerts",
    "loa.live",
    "loa.schedule",
    "loa.maps",
    "loa.exchange",
    "loa.feedback",
)


def make_templates(*, menu_for: Callable[[Any], Sequence[Any]]) -> Jinja2Templates:
    """``menu_for(principal)``: the menu entries the base layout shows (``loa.navigation``)."""
    loaders = [PackageLoader(pkg, "templates") for pkg in TEMPLATE_PACKAGES]
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True))
    env.globals["menu_for"] = menu_for
    env.globals["_"] = template_translate
    env.globals["locales"] = LOCALES
    # Numbers a person reads: ``{{ n|number }}`` 1.234, ``{{ x|number(1) }}`` 1.234,5, ``{{ p|percent }}``
    # 12,5 % (never in a URL, an id or an <input> value: those stay as Python writes them).
    env.filters["number"] = number_text
    env.filters["percent"] = percent_text
    return Jinja2Templates(env=env)


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page, or only its ``content`` block when HTMX asks for a fragment."""
    templates: Jinja2Templates = request.app.state.templates
    ctx = {"request": request, **context}
    ctx.setdefault("principal", getattr(request.state, "principal", None))
    settings = getattr(request.app.state, "settings", None)
    ctx.setdefault("locale", locale_of(request, getattr(settings, "locale", "vi")))
    ctx.setdefault("csrf_token", request.session.get("csrf", "") if "session" in request.scope else "")
    ctx["is_fragment"] = request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
