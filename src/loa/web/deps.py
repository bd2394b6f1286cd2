"""FastAPI dependencies shared by every domain (``Annotated`` aliases, as in the FastAPI template)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from loa.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request. The route handler (the caller of services) commits; we roll back."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


async def read_form(request: Request) -> FormData:
    """The posted form (Starlette keeps it, so CSRF checks and the handler read it once)."""
    return await request.form()


Posted = Annotated[FormData, Depends(read_form)]
