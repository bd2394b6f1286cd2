"""The area combobox's options over HTTP (the logic is ``loa.areas.picker``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loa.accounts.deps import ApiPrincipal
from loa.areas.picker import choices, kinds_of
from loa.web.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/areas/choices")
def area_choices(
    principal: ApiPrincipal,
    db: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    kinds: Annotated[str, Query(max_length=100)] = "",
) -> list[dict[str, str]]:
    """Gợi ý địa bàn theo tên cho ô chọn địa bàn."""
    return [
        {"value": c.value, "label": c.label} for c in choices(db, principal, q, kinds_of(kinds.split(",")))
    ]
