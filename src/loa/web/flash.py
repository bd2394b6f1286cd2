"""One-shot messages shown on the next page (after a redirect), kept in the signed session cookie."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

Flash = Callable[[Request, str], None]
PopFlash = Callable[[Request], str | None]


def flash_pair(key: str) -> tuple[Flash, PopFlash]:
    """``(flash, pop_flash)`` for one page family; each family keeps its own session key so a message
    meant for one page never shows on another."""

    def flash(request: Request, message: str) -> None:
        request.session[key] = message

    def pop_flash(request: Request) -> str | None:
        value = request.session.pop(key, None)
        return value if isinstance(value, str) else None

    return flash, pop_flash
