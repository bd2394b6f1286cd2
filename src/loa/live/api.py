"""Routes of live broadcasts and relays.

* ``GET /live/stream/{mount}?t=…`` — a loudspeaker listens (built-in relay): token checked, at most
  ``stream_max_listeners`` listeners (503 beyond).
* ``PUT /live/stream/{mount}`` — a source (encoder, or Loa's relay puller) with the station's source
  credentials (HTTP Basic ``source:<password>``), accepted only while a session is on air there.
* ``WS /live/ws/{session id}`` — the browser's microphone (MediaRecorder WebM/Opus chunks).
* ``POST /api/v1/live/icecast-auth`` — Icecast URL authentication: ``listener_add`` (the device's
  token), ``stream_auth`` (source credentials), the other actions acknowledged.
* ``POST /api/v1/live/sessions`` (start), ``POST /api/v1/live/sessions/{id}/stop``,
  ``GET /api/v1/live/sessions/{id}`` (status: elapsed time, listening loudspeakers).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from pydantic import AwareDatetime, BaseModel, Field
from starlette.responses import JSONResponse, Response, StreamingResponse

from loa.accounts import sessions
from loa.accounts.deps import SESSION_TOKEN, SESSION_VERSION, ApiPrincipal
from loa.db.base import utcnow
from loa.live import service
from loa.live.models import STATUS_LABELS, StreamSession, StreamStatus
from loa.live.relay import EmbeddedRelay, MountBusy, RelayFull
from loa.live.relay_url import allowed_hosts
from loa.live.runtime import EmbeddedServer, IcecastServer, LiveRuntime
from loa.protocol import streams
from loa.speech.store import LocalAudioStore
from loa.web.deps import SessionDep

log = logging.getLogger(__name__)
router = APIRouter()
_lock = threading.Lock()
AUTH_OK = {"icecast-auth-user": "1"}
STATUS_PAGES = frozenset({"status-json.xsl"})
MAX_WS_CHUNK = 256 * 1024


def runtime_for(state: Any) -> LiveRuntime:
    """The process's live runtime (built on first use from the app's settings)."""
    with _lock:
        runtime: LiveRuntime | None = getattr(state, "live_runtime", None)
        if runtime is None:
            settings = state.settings
            server: EmbeddedServer | IcecastServer
            if settings.stream_server == "icecast":
                server = IcecastServer(url=settings.icecast_url)
            else:
                server = EmbeddedServer(EmbeddedRelay(settings.stream_max_listeners))
            runtime = LiveRuntime(
                secret=state.live_secret(),
                server=server,
                sessions=state.session_factory,
                store=LocalAudioStore(settings.audio_dir),
                recordings_dir=Path(settings.data_dir) / "live",
                public_url=settings.stream_public_url,
            )
            state.live_runtime = runtime
        return runtime


def stream_base_url(request: Request, runtime: LiveRuntime) -> str:
    if runtime.public_url:
        return runtime.public_url
    if isinstance(runtime.server, IcecastServer):
        return runtime.server.url
    return str(request.base_url).rstrip("/") + "/live/stream"


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# --- the built-in relay: listeners and sources ---


async def listen(request: Request) -> Response:
    mount, t = request.path_params["mount"], request.query_params.get(streams.TOKEN_PARAM, "")
    runtime = runtime_for(request.app.state)
    if not isinstance(runtime.server, EmbeddedServer) or not streams.MOUNT_PATTERN.match(mount):
        return _refuse(404, "Không có luồng phát này.")
    try:
        streams.verify_token(runtime.key, t, mount=mount, now=utcnow())
    except streams.StreamTokenError:
        return _refuse(403, "Luồng phát chỉ mở cho cụm loa được máy chủ cấp quyền.")
    relay = runtime.server.relay
    try:
        chunks = await relay.listen(mount)
    except RelayFull:
        return _refuse(503, "Máy chủ phát trực tiếp đã đủ số loa nghe; thử lại sau.")
    media_type = relay.content_type(mount) or "application/octet-stream"
    return StreamingResponse(chunks, media_type=media_type, headers={"Cache-Control": "no-store"})


def _basic(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return user, password


async def source(request: Request) -> Response:
    mount = request.path_params["mount"]
    runtime = runtime_for(request.app.state)
    if not streams.MOUNT_PATTERN.match(mount):
        return _refuse(404, "Không có luồng phát này.")
    if not runtime.check_source(mount, *_basic(request)):
        return _refuse(401, "Sai thông tin nguồn phát của đài.")

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            yield chunk

    content_type = request.headers.get("content-type", "audio/mpeg")
    try:
        row = await runtime.run_source(mount, content_type, body())
    except MountBusy:
        return _refuse(409, "Đã có một nguồn đang phát vào đài này.")
    if row is None:
        return _refuse(403, "Đài chưa bắt đầu buổi phát trực tiếp nào: hãy bấm «Phát trực tiếp» trước.")
    # Closed, not kept alive: a source cut because its session left the air may still be sending,
    # and what it sends is no longer read.
    return Response(status_code=200, headers={"Connection": "close"})


# Plain routes, not API routes: loudspeakers and encoders call them with a token or a station's
# password, never as a person (the scope walks of tests/scope cover what people call).
router.add_route("/live/stream/{mount}", listen, methods=["GET"], include_in_schema=False)
router.add_route("/live/stream/{mount}", source, methods=["PUT"], include_in_schema=False)


# --- the browser's microphone ---


@router.websocket("/live/ws/{stream_id}")
async def browser_source(websocket: WebSocket, stream_id: int) -> None:
    runtime = runtime_for(websocket.app.state)
    with runtime.sessions() as s:
        row = s.get(StreamSession, stream_id)
        cookie = websocket.session if "session" in websocket.scope else {}
        token = cookie.get(SESSION_TOKEN)
        signed_in = (
            sessions.resolve_session(
                s,
                token,
                version=cookie.get(SESSION_VERSION),
                max_idle_s=websocket.app.state.settings.session_max_age_s,
            )
            if isinstance(token, str)
            else None
        )
        user_id = signed_in.user.id if signed_in is not None else None
        # Only the person who went on air feeds their session.
        allowed = row is not None and row.status == StreamStatus.ON_AIR.value and row.created_by_id == user_id
        mount = row.mount if row is not None else ""
    if not allowed or user_id is None:
        await websocket.close(code=4403)
        return
    await websocket.accept()
    content_type = "audio/webm"

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                if data:
                    yield data[:MAX_WS_CHUNK]
                elif message.get("text") == "stop":
                    return
        except WebSocketDisconnect:
            return

    with contextlib.suppress(MountBusy):
        await runtime.run_source(mount, content_type, chunks())
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close()


# --- Icecast URL authentication ---


@router.post("/api/v1/live/icecast-auth", include_in_schema=False)
async def icecast_auth(request: Request) -> Response:
    form = await request.form()
    action = str(form.get("action", ""))
    runtime = runtime_for(request.app.state)
    raw_mount = str(form.get("mount", ""))
    mount = streams.mount_of(raw_mount)
    if action == "listener_add":
        if mount in STATUS_PAGES:  # Icecast's own status page (listener counts): nothing secret
            return Response(status_code=200, headers=AUTH_OK)
        token = streams.token_of(raw_mount)
        try:
            streams.verify_token(runtime.key, token, mount=mount, now=utcnow())
        except streams.StreamTokenError as err:
            return Response(status_code=200, headers={"icecast-auth-message": f"token {err.code}"})
        return Response(status_code=200, headers=AUTH_OK)
    if action == "stream_auth":  # a source only while a session is on air there, as the built-in relay
        ok = (
            streams.MOUNT_PATTERN.match(mount)
            and runtime.check_source(mount, str(form.get("user", "")), str(form.get("pass", "")))
            and await asyncio.to_thread(runtime.on_air_at, mount)
        )
        return Response(status_code=200, headers=AUTH_OK if ok else {})
    return Response(status_code=200, headers=AUTH_OK)  # listener_remove, mount_add, mount_remove


# --- sessions ---


class StartLive(BaseModel):
    codes: list[str] = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=200)


def session_status(row: StreamSession, listeners: int) -> dict[str, Any]:
    end = row.ended_at or utcnow()
    start = row.started_at or row.start_at
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "status_label": STATUS_LABELS[StreamStatus(row.status)],
        "status_message": row.status_message,
        "title": row.title,
        "elapsed_s": max(0, int((end - start).total_seconds())) if row.started_at else 0,
        "listeners": listeners,
        "recording_sha256": row.recording_sha256,
    }


@router.post("/api/v1/live/sessions", status_code=201, summary="Bắt đầu phát trực tiếp")
def start(body: StartLive, request: Request, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    runtime = runtime_for(request.app.state)
    row = service.start_live(
        db,
        principal=principal,
        codes=body.codes,
        title=body.title,
        stream_base_url=stream_base_url(request, runtime),
    )
    db.commit()
    return session_status(row, 0)


class ScheduleRelay(BaseModel):
    codes: list[str] = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=200)
    source_url: str = Field(min_length=1, max_length=500)
    start_at: AwareDatetime
    end_at: AwareDatetime


@router.post("/api/v1/live/relays", status_code=201, summary="Đặt lịch tiếp sóng")
def schedule_relay(
    body: ScheduleRelay, request: Request, db: SessionDep, principal: ApiPrincipal
) -> dict[str, Any]:
    runtime = runtime_for(request.app.state)
    row = service.schedule_relay(
        db,
        principal=principal,
        codes=body.codes,
        title=body.title,
        source_url=body.source_url,
        start_at=body.start_at,
        end_at=body.end_at,
        stream_base_url=stream_base_url(request, runtime),
        allowed_hosts=allowed_hosts(request.app.state.settings.relay_allowed_hosts),
    )
    db.commit()
    return session_status(row, 0)


@router.post("/api/v1/live/sessions/{stream_id}/stop", summary="Dừng phát trực tiếp")
def stop(stream_id: int, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    row = service.stop(db, principal=principal, stream_id=stream_id)
    db.commit()
    return session_status(row, 0)


@router.get("/api/v1/live/sessions/{stream_id}", summary="Tình trạng buổi phát trực tiếp")
async def status(stream_id: int, request: Request, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    row = service.get_session(db, principal=principal, stream_id=stream_id)
    runtime = runtime_for(request.app.state)
    listeners = await runtime.server.listeners(row.mount) if row.status == StreamStatus.ON_AIR.value else 0
    if listeners > row.max_listeners:
        service.note_listeners(db, row, listeners)
        db.commit()
    return session_status(row, listeners)
