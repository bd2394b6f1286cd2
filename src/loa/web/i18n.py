"""A second language for the pages: message catalogs keyed by the Vietnamese text itself.

Vietnamese is the language of Loa and of its source: every page is written in Vietnamese, and that text
is the message id. A catalog (``locales/<code>.json``) maps a Vietnamese message to its translation; a
message missing from a catalog is shown in Vietnamese, so a partial catalog never breaks a page. In a
template, ``{{ _("Lịch phát sóng") }}``; with values, ``{{ _("Đã gửi tới {count} cụm loa.", count=n) }}``
(``str.format`` fields, the same names in every language). In Python, ``translate(locale, text, …)``.

Which language a person sees: their own choice (the switcher in the top bar, kept in a cookie for a
year), else English only when the browser asks for English and not for Vietnamese (a Vietnamese
official with an English-language browser still gets the Vietnamese pages, which are complete), else
``LOA_LOCALE`` (Vietnamese by default). Adding strings: ``docs/translation.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request

DEFAULT_LOCALE = "vi"
LOCALES: Mapping[str, str] = MappingProxyType({"vi": "Tiếng Việt", "en": "English"})
LOCALE_COOKIE = "loa_locale"
LOCALE_COOKIE_MAX_AGE_S = 365 * 24 * 3600
CATALOG_DIR = Path(__file__).parent / "locales"


@lru_cache(maxsize=len(LOCALES))
def catalog(locale: str) -> Mapping[str, str]:
    """The messages of ``locale`` (empty for Vietnamese, the source language). Read once."""
    path = CATALOG_DIR / f"{locale}.json"
    if locale == DEFAULT_LOCALE or not path.exists():
        return MappingProxyType({})
    data = json.loads(path.read_text(encoding="utf-8"))
    return MappingProxyType({str(k): str(v) for k, v in data.items() if not k.startswith("//")})


def translate(locale: str, message: str, /, **values: Any) -> str:
    """``message`` in ``locale`` (Vietnamese when the catalog lacks it), with ``values`` filled in."""
    text = catalog(locale).get(message, message) if locale in LOCALES else message
    return text.format(**values) if values else text


def accepted_locale(header: str | None) -> str | None:
    """``en`` when an Accept-Language header asks for English and not for Vietnamese, else None."""
    if not header:
        return None
    wanted = set()
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        if params.strip().replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        wanted.add(tag.strip().lower().split("-")[0])
    if "vi" in wanted:
        return None
    return "en" if "en" in wanted else None


def locale_of(request: Request, default: str = DEFAULT_LOCALE) -> str:
    """The language of this request's pages (see the module docstring for the order)."""
    chosen = request.cookies.get(LOCALE_COOKIE, "")
    if chosen in LOCALES:
        return chosen
    return accepted_locale(request.headers.get("accept-language")) or (
        default if default in LOCALES else DEFAULT_LOCALE
    )


@pass_context
def template_translate(context: Context, message: str, /, **values: Any) -> str:
    """``_`` in templates: the page's ``locale`` comes from the render context."""
    return translate(str(context.get("locale", DEFAULT_LOCALE)), message, **values)
