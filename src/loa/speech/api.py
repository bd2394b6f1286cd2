"""JSON routes of speech: voices, text normalisation, background jobs (TTS, uploads), audio download."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.errors import NotFound, PayloadTooLarge
from loa.speech import jobs, overrides, service, uploads
from loa.speech.engines.base import MAX_RATE, MIN_RATE, VoiceInfo
from loa.speech.models import AudioAsset, SpeechJob
from loa.speech.normalize import normalize
from loa.speech.render import MAX_TEXT_CHARS
from loa.speech.runtime import SpeechRuntime, runtime_for
from loa.web.deps import SessionDep

router = APIRouter(tags=["speech"])

_UPLOAD_READ_BYTES = 1024 * 1024


class VoiceOut(BaseModel):
    id: str
    name: str
    language: str
    gender: str
    gender_label: str
    region: str
    region_label: str
    engine: str
    default_rate: int = Field(description="Số tiếng (âm tiết) mỗi phút ở tốc độ 1,0.")
    default: bool


AREA_FIELD = Field(
    default=None, max_length=32, description="Mã địa bàn: áp dụng từ điển viết tắt của địa bàn (và cấp trên)."
)


class NormalizeIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT_CHARS)
    area: str | None = AREA_FIELD


class UnreadableOut(BaseModel):
    token: str
    start: int
    end: int
    reason: str


class SegmentOut(BaseModel):
    text: str
    pause_ms: int


class NormalizeOut(BaseModel):
    text: str
    unreadable: list[UnreadableOut]
    segments: list[SegmentOut]


class JobIn(BaseModel):
    text: str = Field(description="Văn bản cần đọc (tối đa 60.000 ký tự).")
    voice: str | None = Field(
        default=None, max_length=120, description="Mã giọng đọc; trống: giọng mặc định."
    )
    rate: float = Field(default=1.0, ge=MIN_RATE, le=MAX_RATE, description="Tốc độ đọc (1,0 = bình thường).")
    intro_sha256: str | None = Field(default=None, max_length=64, description="Nhạc hiệu mở đầu (mã tệp).")
    outro_sha256: str | None = Field(default=None, max_length=64, description="Nhạc hiệu kết thúc (mã tệp).")
    subject: str | None = Field(default=None, max_length=120)
    area: str | None = AREA_FIELD
    title: str | None = Field(default=None, max_length=255, description="Tên của tệp âm thanh.")


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="tts: đọc văn bản; upload: xử lý bản thu tải lên.")
    title: str | None
    status: str
    status_label: str
    progress: int
    voice: str
    error: str | None
    result_sha256: str | None
    audio_url: str | None
    created_at: datetime
    finished_at: datetime | None


class AssetOut(BaseModel):
    sha256: str
    format: str
    size_bytes: int
    duration_ms: int
    loudness_lufs: float
    true_peak_dbtp: float
    sample_rate: int
    source_kind: str
    voice: str | None
    original_filename: str | None
    title: str | None
    url: str
    renditions: list[AssetOut] = []


def audio_url(sha256: str) -> str:
    return f"/api/v1/audio/{sha256}"


def voice_out(info: VoiceInfo, default_id: str) -> VoiceOut:
    return VoiceOut(
        id=info.id,
        name=info.name,
        language=info.language,
        gender=info.gender.value,
        gender_label=info.gender_label,
        region=info.region.value,
        region_label=info.region_label,
        engine=info.engine,
        default_rate=info.default_rate,
        default=info.id == default_id,
    )


def job_out(job: SpeechJob) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind.value,
        title=job.title,
        status=job.status.value,
        status_label=job.status_label,
        progress=job.progress,
        voice=job.voice,
        error=job.error_message,
        result_sha256=job.result_sha256,
        audio_url=audio_url(job.result_sha256) if job.result_sha256 else None,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def asset_out(asset: AudioAsset, renditions: list[AudioAsset] | None = None) -> AssetOut:
    return AssetOut(
        sha256=asset.sha256,
        format=asset.format,
        size_bytes=asset.size_bytes,
        duration_ms=asset.duration_ms,
        loudness_lufs=asset.loudness_lufs,
        true_peak_dbtp=asset.true_peak_dbtp,
        sample_rate=asset.sample_rate,
        source_kind=asset.source_kind.value,
        voice=asset.voice,
        original_filename=asset.original_filename,
        title=asset.title,
        url=audio_url(asset.sha256),
        renditions=[asset_out(r) for r in renditions or []],
    )


def runtime(request: Request) -> SpeechRuntime:
    return runtime_for(request.app.state)


AudioGate = Callable[[Session, Principal, str], object]


def _no_audio(session: Session, principal: Principal, sha256: str) -> object:
    raise NotFound(service.ASSET_NOT_FOUND)


def audio_gate(request: Request) -> AudioGate:
    """Which stored audio a person may name by hash: the rule is content's (it knows bulletins), set by
    the app as ``app.state.audio_gate`` (``loa.content.audio_scope.require_asset``); none set, none
    may be named. Raises NotFound, the answer to a hash that names nothing (issue 20, point 8)."""
    gate: AudioGate | None = getattr(request.app.state, "audio_gate", None)
    return gate or _no_audio


@router.get("/api/v1/speech/voices", response_model=list[VoiceOut])
def list_voices(request: Request, principal: ApiPrincipal) -> list[VoiceOut]:
    registry = runtime(request).context.registry
    default_id = registry.default_voice().id
    return [voice_out(v, default_id) for v in registry.voices()]


@router.post("/api/v1/speech/normalize", response_model=NormalizeOut)
def normalize_text(body: NormalizeIn, db: SessionDep, principal: ApiPrincipal) -> NormalizeOut:
    area = overrides.area_for_request(db, principal, body.area)
    result = normalize(body.text, overrides=overrides.effective_overrides(db, area.id if area else None))
    return NormalizeOut(
        text=result.text,
        unreadable=[
            UnreadableOut(token=u.token, start=u.start, end=u.end, reason=u.reason) for u in result.unreadable
        ],
        segments=[SegmentOut(text=s.text, pause_ms=s.pause_ms) for s in result.segments],
    )


@router.post("/api/v1/speech/jobs", response_model=JobOut, status_code=202)
def create_job(body: JobIn, request: Request, db: SessionDep, principal: ApiPrincipal) -> JobOut:
    require(principal, Permission.EDIT_CONTENT)
    area = overrides.area_for_request(db, principal, body.area)
    for jingle in (body.intro_sha256, body.outro_sha256):
        if jingle:
            audio_gate(request)(db, principal, jingle)
    speech = runtime(request)
    job = jobs.create_job(
        db,
        context=speech.context,
        text=body.text,
        voice=body.voice,
        rate=body.rate,
        intro_sha256=body.intro_sha256,
        outro_sha256=body.outro_sha256,
        subject=body.subject,
        area_id=area.id if area else None,
        created_by_id=principal.user_id,
        title=body.title,
    )
    db.commit()
    speech.jobs.submit(job.id)
    return job_out(job)


@router.get("/api/v1/speech/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, db: SessionDep, principal: ApiPrincipal) -> JobOut:
    return job_out(jobs.visible_job(db, principal, job_id))


@router.post("/api/v1/audio", response_model=JobOut | AssetOut, status_code=202)
def upload_audio(
    request: Request,
    response: Response,
    db: SessionDep,
    principal: ApiPrincipal,
    file: Annotated[UploadFile, File(description="Tệp âm thanh: WAV, MP3, M4A/AAC, OGG/Opus, AMR, FLAC.")],
    title: Annotated[str | None, Form(max_length=255, description="Tên của tệp âm thanh.")] = None,
) -> JobOut | AssetOut:
    """Keep a recording and level it for broadcast (−16 LUFS, ≤ −1,5 dBTP) on the job worker: 202 and
    the job to follow (``GET /api/v1/speech/jobs/{id}``). 201 and the file itself when identical bytes
    were processed before. Refused at once: files over ``max_upload_bytes``, audio declared longer than
    ``LOA_MAX_UPLOAD_DURATION_S`` (default 60 minutes), a video (even with sound), anything that is
    not audio; a file that turns out corrupt while decoding fails its job with the same message."""
    require(principal, Permission.EDIT_CONTENT)
    speech = runtime(request)
    data = read_limited(file, speech.context.max_upload_bytes)
    accepted = uploads.accept_upload(
        db,
        context=speech.context,
        data=data,
        filename=file.filename,
        title=title,
        created_by_id=principal.user_id,
    )
    db.commit()
    if accepted.asset is not None:
        response.status_code = 201
        return asset_out(accepted.asset, service.renditions_of(db, accepted.asset))
    assert accepted.job is not None
    speech.jobs.submit(accepted.job.id)
    return job_out(accepted.job)


def read_limited(file: UploadFile, max_bytes: int) -> bytes:
    if file.size is not None and file.size > max_bytes:
        raise PayloadTooLarge(service.upload_too_large_message(max_bytes))
    chunks: list[bytes] = []
    total = 0
    while chunk := file.file.read(_UPLOAD_READ_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(service.upload_too_large_message(max_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


class OverridesLayerOut(BaseModel):
    area_code: str
    area_name: str
    entries: dict[str, str]


class OverridesOut(BaseModel):
    area_code: str
    area_name: str
    text: str = Field(description="Mỗi dòng một mục «VIẾT TẮT = cách đọc»; «#» bắt đầu ghi chú.")
    version: int = Field(description="0 khi địa bàn chưa có từ điển riêng; gửi lại khi sửa (PUT).")
    updated_at: datetime | None
    updated_by_id: int | None
    entries: dict[str, str] = Field(description="Các mục của chính địa bàn này.")
    inherited: list[OverridesLayerOut] = Field(description="Từ điển của các cấp trên, từ ngoài vào trong.")
    effective: dict[str, str] = Field(description="Cách đọc được áp dụng (cấp gần hơn thắng).")
    can_edit: bool


class OverridesIn(BaseModel):
    text: str = Field(max_length=overrides.MAX_OVERRIDES_CHARS)
    version: int | None = Field(
        default=None, ge=0, description="Phiên bản đã đọc (0: chưa có); khác bản hiện tại → 409."
    )


def overrides_out(db: SessionDep, principal: Principal, area_code: str) -> OverridesOut:
    area = overrides.require_area(db, principal, area_code)
    layers = overrides.layers_for(db, area)
    own = layers[-1]
    return OverridesOut(
        area_code=area.code,
        area_name=own.name,
        text=own.row.text if own.row else "",
        version=own.row.version if own.row else 0,
        updated_at=own.row.updated_at if own.row else None,
        updated_by_id=own.row.updated_by_id if own.row else None,
        entries=own.entries,
        inherited=[
            OverridesLayerOut(area_code=layer.unit.code, area_name=layer.name, entries=layer.entries)
            for layer in layers[:-1]
            if layer.entries
        ],
        effective=overrides.merge(layer.entries for layer in layers),
        can_edit=overrides.can_edit(principal, area),
    )


@router.get("/api/v1/speech/overrides/{area_code}", response_model=OverridesOut)
def get_overrides(area_code: str, db: SessionDep, principal: ApiPrincipal) -> OverridesOut:
    """An area's own abbreviation readings, those it inherits and the merged result."""
    return overrides_out(db, principal, area_code)


@router.put("/api/v1/speech/overrides/{area_code}", response_model=OverridesOut)
def put_overrides(
    area_code: str, body: OverridesIn, request: Request, db: SessionDep, principal: ApiPrincipal
) -> OverridesOut:
    """Replace the area's list. A wrong line → 422 with ``details`` = [{line, message}] and nothing
    saved; a stale ``version`` → 409."""
    area = overrides.require_area(db, principal, area_code)
    overrides.save_overrides(
        db,
        principal=principal,
        unit=area,
        text=body.text,
        expected_version=body.version,
        ip=client_ip(request),
    )
    db.commit()
    return overrides_out(db, principal, area_code)
