"""What the live routes share in one process: the stream server (built-in relay or Icecast), the token
key, and the source path every live broadcast takes — whoever sends it (the browser's WebSocket, an
encoder's PUT) — which feeds the stream server, keeps a recording, and ends the session cleanly when
the source stops or drops.

The stream key and the source passwords are derived from the manifest signing key (the entry point
hands its bytes in): a station's source password is HMAC(key, "source\\n" + commune code), shown to
the station's operators for their encoder, and checked by Loa for Icecast (``stream_auth``) and for
the built-in relay alike.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from loa.accounts.audit import record
from loa.db.base import utcnow
from loa.live import icecast
from loa.live.models import StreamKind, StreamSession, StreamStatus
from loa.live.relay import EmbeddedRelay
from loa.live.service import MAX_LIVE, finish, source_sessions
from loa.protocol.streams import STREAM_CONTENT_TYPES, token_key
from loa.speech.audio.encode import EncodedAudio
from loa.speech.audio.pipeline import AudioMeasurement
from loa.speech.audio.stream import level_recording_stream
from loa.speech.models import AudioSourceKind, JobKind, JobStatus, SpeechJob
from loa.speech.render import RenderedAudio, Rendition
from loa.speech.service import JOB_FORMATS, store_rendered
from loa.speech.store import AudioStore

log = logging.getLogger(__name__)
SOURCE_CHECK_S = 1.0
SOURCE_DROPPED = "Nguồn phát bị ngắt giữa chừng; buổi phát đã kết thúc, bản ghi được lưu lại."
EXPIRED = "Buổi phát trực tiếp đã hết thời gian tối đa 3 giờ và được tự động kết thúc; bản ghi được lưu lại."


class StreamServer(Protocol):
    """Where sources go and listeners come from: ``EmbeddedServer`` or ``IcecastServer``."""

    name: str

    async def publish(self, mount: str, content_type: str, chunks: AsyncIterator[bytes]) -> int: ...

    async def listeners(self, mount: str) -> int: ...


@dataclass
class EmbeddedServer:
    relay: EmbeddedRelay
    name: str = "embedded"

    async def publish(self, mount: str, content_type: str, chunks: AsyncIterator[bytes]) -> int:
        return await self.relay.feed(mount, content_type, chunks)

    async def listeners(self, mount: str) -> int:
        return self.relay.listeners(mount)


@dataclass
class IcecastServer:
    url: str  # where Loa reaches Icecast (sources, status)
    password_for: dict[str, str] = field(default_factory=dict)  # mount → source password (filled on use)
    name: str = "icecast"

    async def publish(self, mount: str, content_type: str, chunks: AsyncIterator[bytes]) -> int:
        return await icecast.push_source(self.url, mount, self.password_for[mount], content_type, chunks)

    async def listeners(self, mount: str) -> int:
        try:
            return await asyncio.to_thread(icecast.listener_count, self.url, mount)
        except (OSError, ValueError):
            return 0


def source_password(secret: bytes, commune_code: str) -> str:
    """The station's source password for its encoder (and for Loa's own feeds)."""
    mac = hmac.new(token_key(secret), f"source\n{commune_code}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(mac).decode()


def commune_of_mount(mount: str) -> str:
    return mount.split("-", 1)[1] if "-" in mount else ""


@dataclass
class LiveRuntime:
    secret: bytes  # the manifest signing key's bytes
    server: StreamServer
    sessions: sessionmaker[Session]
    store: AudioStore
    recordings_dir: Path
    public_url: str | None = None  # where devices open streams; None: this app's /live/stream
    check_s: float = SOURCE_CHECK_S  # how often a source's session is checked to be still on air

    @property
    def key(self) -> bytes:
        return token_key(self.secret)

    def source_password(self, commune_code: str) -> str:
        return source_password(self.secret, commune_code)

    def check_source(self, mount: str, user: str, password: str) -> bool:
        expected = self.source_password(commune_of_mount(mount))
        return user == icecast.SOURCE_USER and hmac.compare_digest(password.encode(), expected.encode())

    def on_air_at(self, mount: str) -> bool:
        """Whether a session is on air at ``mount`` (a source may feed it)."""
        with self.sessions() as s:
            return source_sessions(s, mount=mount) is not None

    async def run_source(
        self, mount: str, content_type: str, chunks: AsyncIterator[bytes]
    ) -> StreamSession | None:
        """Feed the session on air at ``mount`` from ``chunks`` until they end; then end the session (if
        nobody stopped it). A live session's feed is recorded and the recording stored; a relay's is
        not (an outside station's programme is not Loa's content). None: nobody is on air there."""
        with self.sessions() as s:
            row = source_sessions(s, mount=mount)
            if row is None:
                return None
            session_id, recorded = row.id, row.kind == StreamKind.LIVE.value
        base_type = content_type.split(";")[0].strip().lower()
        extension = STREAM_CONTENT_TYPES.get(base_type, "mp3")
        path = self.recordings_dir / f"{session_id}.{extension}"
        if isinstance(self.server, IcecastServer):
            self.server.password_for[mount] = self.source_password(commune_of_mount(mount))
        broken = False
        if recorded:
            self.recordings_dir.mkdir(parents=True, exist_ok=True)
        with path.open("ab") if recorded else contextlib.nullcontext() as recording:

            async def tee() -> AsyncIterator[bytes]:
                async for chunk in chunks:
                    if recording is not None:
                        recording.write(chunk)
                    yield chunk

            try:
                await self.server.publish(mount, content_type, self._while_on_air(session_id, tee()))
            except Exception as err:  # the stream server refused or broke: the session ends, clearly
                log.warning("live source on %s ended with %s", mount, err)
                broken = True
        return await asyncio.to_thread(self._wrap_up, session_id, path, broken)

    async def _while_on_air(self, session_id: int, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``chunks`` while the session is on air: once it is not (stopped by a person, ended by
        another process, past its end) the source is cut within ``check_s`` — even a source that
        sends nothing more — and nothing after that reaches listeners or the recording."""
        iterator = aiter(chunks)
        watch = asyncio.create_task(self._off_air(session_id))

        async def step() -> bytes:
            return await anext(iterator)

        try:
            while True:
                pending = asyncio.create_task(step())
                await asyncio.wait({pending, watch}, return_when=asyncio.FIRST_COMPLETED)
                if not pending.done():
                    pending.cancel()
                    await asyncio.wait({pending})
                    log.info("live source on session %s cut: the session is off air", session_id)
                    return
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            watch.cancel()

    async def _off_air(self, session_id: int) -> None:
        """Returns once the session is no longer on air (polled every ``check_s``)."""
        while True:
            remaining = await asyncio.to_thread(self._air_left_s, session_id)
            if remaining <= 0:
                return
            await asyncio.sleep(min(self.check_s, remaining))

    def _air_left_s(self, session_id: int) -> float:
        with self.sessions() as s:
            row = s.get(StreamSession, session_id)
            if row is None or row.status != StreamStatus.ON_AIR.value:
                return 0.0
            return (row.end_at - utcnow()).total_seconds()

    def _wrap_up(self, session_id: int, path: Path, broken: bool) -> StreamSession | None:
        with self.sessions() as s, s.begin():
            row = s.get(StreamSession, session_id)
            if row is None:
                return None
            if row.kind == StreamKind.RELAY.value:
                s.expunge(row)
                return row  # a relay's feed ends with its slot: its puller ends it (loa.live.puller)
            if row.status == StreamStatus.ON_AIR.value and utcnow() >= row.end_at:
                finish(s, row, actor=None, reason="expired", message=EXPIRED)
            elif row.status == StreamStatus.ON_AIR.value:
                finish(
                    s,
                    row,
                    actor=None,
                    reason="source_ended" if not broken else "source_failed",
                    message=SOURCE_DROPPED,
                )
            recorded = row.recording_sha256 is not None
        # The session's end is committed: levelling takes minutes for hours of speech, with no
        # transaction open meanwhile (nothing waits on the row, nor on SQLite's write lock).
        if not recorded:
            self._store_recording(session_id, path)
        with self.sessions() as s:
            row = s.get(StreamSession, session_id)
            if row is not None:
                s.expunge(row)
            return row

    def _store_recording(self, session_id: int, path: Path) -> None:
        """Level and encode the recording (no transaction open), then store it in one short one."""
        if not path.exists() or path.stat().st_size == 0:
            return
        try:
            results = level_recording_stream(
                path, formats=JOB_FORMATS, max_duration_s=MAX_LIVE.total_seconds()
            )
        except Exception as err:  # a source that sent nothing decodable: the session stands, unrecorded
            log.warning("live recording %s not stored: %s", path.name, err)
            with self.sessions() as s, s.begin():
                row = s.get(StreamSession, session_id)
                if row is not None:
                    row.status_message = (
                        row.status_message + " Không lưu được bản ghi (âm thanh không đọc được)."
                    )[:300]
            return
        with path.open("rb") as raw:  # hashed in blocks: hours of recording are never all in memory
            raw_sha = hashlib.file_digest(raw, "sha256").hexdigest()
        with self.sessions() as s, s.begin():
            row = s.get(StreamSession, session_id)
            if row is None or row.recording_sha256:
                return
            self._keep_recording(s, row, path, results, raw_sha)
        path.unlink(missing_ok=True)

    def _keep_recording(
        self,
        s: Session,
        row: StreamSession,
        path: Path,
        results: list[tuple[EncodedAudio, AudioMeasurement]],
        raw_sha: str,
    ) -> None:
        started = (row.started_at or row.start_at).astimezone()
        title = f"{row.title} — ghi âm phát trực tiếp"[:255]
        asset = store_rendered(
            s,
            store=self.store,
            rendered=RenderedAudio([Rendition(encoded, measured) for encoded, measured in results]),
            source_kind=AudioSourceKind.UPLOAD,
            source_sha256=raw_sha,
            original_filename=f"phat-truc-tiep-{row.id}{path.suffix}",
            created_by_id=row.created_by_id,
            title=title,
        )
        # As the person's finished upload: their audio list shows it (issue 20, point 8).
        s.add(
            SpeechJob(
                kind=JobKind.UPLOAD,
                status=JobStatus.DONE,
                progress=100,
                text="",
                voice="",
                source_sha256=raw_sha,
                source_name=asset.original_filename,
                title=title,
                created_by_id=row.created_by_id,
                result_asset_id=asset.id,
                result_sha256=asset.sha256,
                finished_at=utcnow(),
            )
        )
        row.recording_sha256 = asset.sha256
        record(
            s,
            action="live.recorded",
            actor_user_id=row.created_by_id,
            actor_name=None if row.created_by_id is not None else "hệ thống",
            target_type="stream_session",
            target_id=row.id,
            area_id=row.commune_id,
            details={
                "sha256": asset.sha256,
                "duration_ms": asset.duration_ms,
                "started_at": started.isoformat(),
            },
        )
