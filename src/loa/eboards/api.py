"""Public routes for electronic boards, version 1: the key to check signatures, and each area's board as
signed JSON (``X-Loa-Signature``: base64 Ed25519 over ``"loa-eboard/v1\\n" + body``; ``X-Loa-Key-Id``)
or as an Atom feed. Public like the e-portal's feed: only published, approved content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from loa.content.atom import Enclosure, FeedEntry, build_atom
from loa.db.base import utcnow
from loa.eboards import board as boards
from loa.eboards import signing
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/feeds/eboards/v1", tags=["eboards"])  # under /feeds: errors answer in JSON
CACHE = "public, max-age=60"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/key")
def board_key(settings: SettingsDep) -> JSONResponse:
    """Khóa công khai Ed25519 để bảng tin kiểm tra chữ ký dữ liệu."""
    key = signing.server_key(settings.data_dir)
    return JSONResponse(
        {
            "algorithm": "Ed25519",
            "key_id": signing.key_id(key),
            "public_key": signing.public_key_b64(key),
            "signed_bytes": "loa-eboard/v1\\n + body",
        },
        headers={"Cache-Control": CACHE},
    )


@router.get("/{code}.json")
def board_json(
    code: str,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=boards.MAX_ITEMS)] = 20,
) -> Response:
    """Tin đã phát hành của địa bàn (và cấp trên) cho bảng tin điện tử: JSON chuẩn hóa, có chữ ký."""
    now = utcnow()
    document = boards.board_json(
        boards.board(db, code=code, now=now, limit=limit), base_url=_base(request), generated_at=now
    )
    signed = signing.sign(document, signing.server_key(settings.data_dir))
    return Response(
        signed.body,
        media_type="application/json",
        headers={
            "X-Loa-Signature": signed.signature_b64,
            "X-Loa-Key-Id": signed.key_id,
            "Cache-Control": CACHE,
        },
    )


@router.get("/{code}.atom")
def board_atom(
    code: str, request: Request, db: SessionDep, limit: Annotated[int, Query(ge=1, le=boards.MAX_ITEMS)] = 20
) -> Response:
    """Cùng nội dung dạng Atom 1.0 (ảnh, âm thanh là các liên kết enclosure)."""
    now = utcnow()
    b = boards.board(db, code=code, now=now, limit=limit)
    base = _base(request)
    entries = []
    for p in b.items:
        item = boards.item_json(p, base)
        entries.append(
            FeedEntry(
                entry_id=item["id"],
                title=item["title"],
                updated_at=p.revision.approved_at or p.bulletin.updated_at,
                published_at=p.bulletin.published_at or p.bulletin.updated_at,
                summary=item["summary"],
                content_html=p.content["body_html"],
                author=item["source"],
                link=f"{base}/feeds/eboards/v1/{b.area.code}.json",
                categories=[("kind:" + item["kind"], item["kind_label"])],
                enclosures=[
                    Enclosure(ph["url"], ph["content_type"], 0, ph["caption"]) for ph in item["photos"]
                ]
                + [Enclosure(a["url"], "audio/mpeg", 0, a["language_label"]) for a in item["audio"]],
            )
        )
    body = build_atom(
        entries,
        title=f"Bảng tin điện tử — {b.area.name}",
        self_url=str(request.url),
        site_url=base + "/",
        updated_at=now,
        feed_id=f"urn:loa:eboards:{b.area.code}",
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers={"Cache-Control": CACHE})
