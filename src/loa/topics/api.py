"""JSON routes of topics (``/api/v1/topics``): list (reading never writes) and add."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from loa.accounts.deps import ApiPrincipal
from loa.topics import service
from loa.web.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["topics"])


class TopicIn(BaseModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)


@router.get("/topics")
def list_topics(db: SessionDep, principal: ApiPrincipal) -> list[dict[str, Any]]:
    return [{"code": t.code, "name": t.name} for t in service.list_topics(db)]


@router.post("/topics", status_code=status.HTTP_201_CREATED)
def create_topic(body: TopicIn, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    topic = service.create_topic(db, principal=principal, code=body.code, name=body.name)
    db.commit()
    return {"code": topic.code, "name": topic.name}
