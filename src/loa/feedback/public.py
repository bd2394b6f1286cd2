"""The public pages of citizens' feedback (no account): a commune's form (``/gop-y/{commune}``), the
answer by tracking code (``/gop-y/tra-cuu``). They name the commune and nothing else of the system:
no list of items, no other commune's data, never a phone number. Forms carry the session's CSRF
token and the challenge; pages have no inline script (the content security policy forbids it)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from loa.accounts.deps import client_ip, csrf_valid, ensure_csrf_token
from loa.db.base import utcnow
from loa.errors import LoaError, PayloadTooLarge
from loa.feedback import logic, media, service
from loa.feedback.models import FeedbackChannel
from loa.settings import Settings
from loa.topics.service import list_topics
from loa.units.models import AdminUnit
from loa.vocab.dates import vn_date
from loa.web.deps import SessionDep, SettingsDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

FORM_OVERHEAD_BYTES = 64 * 1024
SESSION_EXPIRED = "Trang đã mở quá lâu hoặc không hợp lệ. Vui lòng tải lại trang rồi gửi lại."
HONEYPOT_REFUSED = "Không gửi được ý kiến. Vui lòng tải lại trang và thử lại."


def limits_of(settings: Settings) -> service.Limits:
    return service.Limits(
        settings.feedback_max_per_hour, settings.feedback_max_per_day, settings.feedback_answer_days
    )


def media_limits(settings: Settings) -> media.MediaLimits:
    return media.MediaLimits(
        settings.feedback_max_photo_bytes, settings.feedback_max_voice_bytes, settings.feedback_max_voice_s
    )


def _form_page(
    request: Request,
    db: SessionDep,
    settings: Settings,
    commune: AdminUnit,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> Response:
    ensure_csrf_token(request)
    challenge = logic.new_challenge(settings.secret_key.get_secret_value(), utcnow())
    limits = media_limits(settings)
    return render(
        request,
        "feedback/public_form.html",
        {
            "commune": commune,
            "topics": list_topics(db),
            "form": form or {},
            "error": error,
            "error_field": field,
            "challenge": challenge,
            "photo_limit": media.size_words(limits.photo_bytes),
            "voice_limit": media.size_words(limits.voice_bytes),
            "voice_s": limits.voice_s,
            "answer_days": settings.feedback_answer_days,
        },
        status_code=status,
    )


@router.get("/gop-y")
def feedback_home(request: Request) -> Response:
    ensure_csrf_token(request)
    return render(request, "feedback/public_home.html", {})


@router.get("/gop-y/tra-cuu")
def lookup_form(request: Request) -> Response:
    ensure_csrf_token(request)
    return render(request, "feedback/public_track.html", {})


@router.post("/gop-y/tra-cuu")
def lookup(
    request: Request,
    db: SessionDep,
    code: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    context: dict[str, Any] = {"code": code}
    if not csrf_valid(request, csrf_token):
        return render(
            request, "feedback/public_track.html", {**context, "error": SESSION_EXPIRED}, status_code=403
        )
    try:
        item = service.lookup(db, code=code)
    except LoaError as err:
        return render(
            request, "feedback/public_track.html", {**context, "error": err.message}, status_code=err.status
        )
    commune = service.commune_of(db, item)
    context.update(
        item=item,
        commune=commune,
        received=vn_date(item.received_at.astimezone(VIETNAM).date()),
        state=logic.STATES[item.state].public,
    )
    return render(request, "feedback/public_track.html", context)


@router.get("/gop-y/{commune_code}")
def feedback_form(commune_code: str, request: Request, db: SessionDep, settings: SettingsDep) -> Response:
    return _form_page(request, db, settings, service.public_commune(db, commune_code))


async def _drain(request: Request, cap: int) -> None:
    """Read (and drop) a refused upload, so the browser gets the answer instead of a cut connection."""
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            break


def _text_fields(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k in {"text", "name", "phone", "topic"}}


async def _file(form: Any, name: str, limit: int, too_large: str) -> tuple[bytes, str] | None:
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(too_large, code=f"feedback_{name}_too_large")
    return (data, upload.content_type or "") if data else None


@router.post("/gop-y/gui")
async def feedback_submit(
    request: Request, db: SessionDep, settings: SettingsDep, commune: str = ""
) -> Response:
    """The form posts here, its commune in the query (``?commune=``): a citizen's post makes a record,
    it changes none that an address would name."""
    unit = service.public_commune(db, commune)
    limits = media_limits(settings)
    ceiling = limits.photo_bytes + limits.voice_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ceiling:
        await _drain(request, cap=4 * ceiling)
        message = (
            f"Tệp gửi kèm quá lớn: ảnh tối đa {media.size_words(limits.photo_bytes)}, "
            f"ghi âm tối đa {media.size_words(limits.voice_bytes)}. Vui lòng chọn tệp nhỏ hơn."
        )
        return _form_page(request, db, settings, unit, error=message, status=413)
    form = await request.form(max_files=2, max_fields=20)
    fields = _text_fields(form)
    csrf = form.get("csrf_token")
    if not csrf_valid(request, csrf if isinstance(csrf, str) else None):
        return _form_page(request, db, settings, unit, form=fields, error=SESSION_EXPIRED, status=403)
    if form.get("website"):  # the honeypot: invisible to people, filled by robots
        return _form_page(request, db, settings, unit, form=fields, error=HONEYPOT_REFUSED, status=422)
    try:
        item_and_code = await _accept(request, db, settings, unit, form, fields)
    except LoaError as err:
        db.rollback()
        field = err.details[0].get("field") if isinstance(err.details, list) and err.details else None
        return _form_page(
            request, db, settings, unit, form=fields, error=err.message, field=field, status=err.status
        )
    item, code = item_and_code
    db.commit()
    return render(
        request,
        "feedback/public_sent.html",
        {"commune": unit, "code": code, "due": vn_date(item.due_at.astimezone(VIETNAM).date())},
    )


async def _accept(
    request: Request,
    db: SessionDep,
    settings: Settings,
    commune: AdminUnit,
    form: Any,
    fields: dict[str, str],
) -> tuple[Any, str]:
    now = utcnow()
    secret = settings.secret_key.get_secret_value()
    nonce = logic.solved(secret, str(form.get("challenge") or ""), str(form.get("answer") or ""), now)
    limits = media_limits(settings)
    photo = await _file(
        form, "photo", limits.photo_bytes, f"Ảnh quá lớn (tối đa {media.size_words(limits.photo_bytes)})."
    )
    voice = await _file(
        form, "voice", limits.voice_bytes, f"Ghi âm quá lớn (tối đa {media.size_words(limits.voice_bytes)})."
    )
    # The text is checked before any file is decoded: a refusal costs no decoding. A voice note may
    # stand alone (some people would rather speak than write).
    submission = service.Submission(
        text=fields.get("text", ""),
        name=fields.get("name", ""),
        phone=fields.get("phone", ""),
        topic=fields.get("topic", ""),
    )
    if submission.text.strip() or voice is None:
        logic.check_text(submission.text)
    logic.check_name(submission.name)
    logic.check_phone(submission.phone)
    store = media.store_for(settings.data_dir)
    stored_photo = stored_voice = None
    if photo is not None:
        stored_photo = media.keep(store, photo[0], media.check_photo_upload(photo[0], limits))
    if voice is not None:
        voice_type, duration_ms = media.check_voice_upload(voice[0], voice[1], limits)
        stored_voice = media.keep(store, voice[0], voice_type, duration_ms)
    return service.submit(
        db,
        commune=commune,
        data=submission,
        attachments=media.Attachments(stored_photo, stored_voice),
        source=logic.source_key(secret, "ip:" + client_ip(request)),
        challenge_nonce=nonce,
        channel=FeedbackChannel.WEB,
        limits=limits_of(settings),
        now=now,
    )
