"""Stored audio by its SHA-256, for people: the file (``/api/v1/audio/{sha256}``, and
``/media/audio/{sha256}`` for the pages' players) and its description. Scoped to the person's areas by
the one audio rule (``loa.content.audio_scope``): another area's audio, a draft's included, is answered
like a hash that names nothing. Loudspeakers fetch with their own credentials from the fleet's route,
which serves only audio their manifests and commands name. Uploading stays with speech
(``POST /api/v1/audio``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loa.accounts.deps import ApiPrincipal
from loa.content.audio_scope import require_asset
from loa.speech import service as speech
from loa.speech.api import AssetOut, asset_out, runtime
from loa.speech.delivery import audio_response
from loa.web.deps import SessionDep

router = APIRouter(tags=["speech"])


@router.get("/api/v1/audio/{audio_sha256}/info", response_model=AssetOut)
def audio_info(audio_sha256: str, db: SessionDep, principal: ApiPrincipal) -> AssetOut:
    asset = require_asset(db, principal, audio_sha256)
    return asset_out(asset, speech.renditions_of(db, asset))


# HEAD is the same route, kept out of the schema so the OpenAPI document has one operation per id.
@router.head("/api/v1/audio/{audio_sha256}", response_class=Response, include_in_schema=False)
@router.get("/api/v1/audio/{audio_sha256}", response_class=Response)
def download_audio(audio_sha256: str, request: Request, db: SessionDep, principal: ApiPrincipal) -> Response:
    """The file itself (immutable: its name is the SHA-256 of its bytes); supports Range requests."""
    asset = require_asset(db, principal, audio_sha256)
    return audio_response(request, runtime(request).context.store, asset)


@router.api_route(
    "/media/audio/{audio_sha256}", methods=["GET", "HEAD"], response_class=Response, include_in_schema=False
)
def media_audio(audio_sha256: str, request: Request, db: SessionDep, principal: ApiPrincipal) -> Response:
    """Same file for pages (``<audio src>``), signed in by the session cookie."""
    asset = require_asset(db, principal, audio_sha256)
    return audio_response(request, runtime(request).context.store, asset)
