"""Routes that belong to no domain: health check."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from loa.web.deps import SessionDep

router = APIRouter()


@router.get("/healthz", tags=["system"])
def healthz(db: SessionDep) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok"}
