"""From a typed warning to the air in one step (issue 15, point 3).

The operator types or pastes the warning, or fills a template (``TEMPLATES``: water level at a
hydrological station against its alarm thresholds, a storm's position and course, a landslide or flash
flood for named villages); the page shows the reading Loa's normaliser makes of it (what the voice will
say); and one press of "Phát" does the rest in the request: speech (``loa.speech.service``: normalise →
synthesise → loudness levelling → store, reusing an identical earlier result) and the alert itself
(``loa.alerts.service.start_alert``: manifest and command, or pending a second person). A recording or an
uploaded file (already levelled by the speech store) can stand in for the typed text.

How long it took is kept per alert (``AlertTiming``): when "Phát" was pressed, the milliseconds spent on
speech and on sending; the first play is the first loudspeaker's answer to the alert's command.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.alerts import confirm, levels
from loa.alerts import service as alerts
from loa.alerts.models import AlertTiming, EmergencyAlert
from loa.alerts.targeting import Coverage
from loa.db.changes import mark_changed
from loa.errors import InvalidInput
from loa.fleet import commands
from loa.fleet.models import DeviceCommand
from loa.speech import service as speech
from loa.speech.normalize import normalize
from loa.speech.render import prepare_text
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

MAX_WARNING_CHARS = 4000  # a warning is read in a minute or two; longer text belongs to a bulletin


# --- templates -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateField:
    name: str
    label: str
    kind: str = "text"  # text | number | choice
    choices: tuple[str, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class WarningTemplate:
    code: str
    label: str
    hazard: str  # ``levels.HAZARDS`` code the form preselects
    fields: tuple[TemplateField, ...]
    text: str  # ``str.format`` with the fields' names


ALARMS = ("báo động I", "báo động II", "báo động III", "trên báo động III")
DIRECTIONS = (
    "Bắc", "Bắc Tây Bắc", "Tây Bắc", "Tây Tây Bắc", "Tây", "Tây Tây Nam", "Tây Nam", "Nam Tây Nam", "Nam",
    "Đông Nam", "Đông", "Đông Bắc",
)  # fmt: skip

TEMPLATES: dict[str, WarningTemplate] = {
    t.code: t
    for t in (
        WarningTemplate(
            "water_level",
            "Mực nước tại trạm thủy văn (báo động I–III)",
            "flood",
            (
                TemplateField("station", "Trạm thủy văn", hint="Trà Khúc"),
                TemplateField("river", "Sông", hint="Trà Khúc"),
                TemplateField("time", "Giờ đo", hint="14 giờ"),
                TemplateField("level_m", "Mực nước (m)", "number", hint="5,8"),
                TemplateField("alarm", "So với mức báo động", "choice", ALARMS),
                TemplateField("trend", "Xu thế", "choice", ("đang lên", "tiếp tục lên nhanh", "đang xuống")),
            ),
            "Thông báo khẩn về lũ. Lúc {time}, mực nước sông {river} tại trạm {station} là {level_m} "
            "mét, ở mức {alarm}, {trend}. Đề nghị nhân dân vùng trũng thấp ven sông khẩn trương đưa "
            "người, tài sản đến nơi an toàn; không đi qua ngầm, tràn và những nơi nước chảy xiết.",
        ),
        WarningTemplate(
            "storm",
            "Vị trí, cường độ và hướng đi của bão",
            "storm",
            (
                TemplateField("number", "Bão số", "number", hint="5"),
                TemplateField("time", "Thời điểm", hint="13 giờ"),
                TemplateField("lat", "Vĩ độ Bắc (độ)", "number", hint="15,2"),
                TemplateField("lon", "Kinh độ Đông (độ)", "number", hint="111,4"),
                TemplateField("wind", "Sức gió mạnh nhất (cấp)", "number", hint="11"),
                TemplateField("gust", "Giật (cấp)", "number", hint="13"),
                TemplateField("direction", "Hướng di chuyển", "choice", DIRECTIONS),
                TemplateField("speed", "Tốc độ (km mỗi giờ)", "number", hint="15"),
            ),
            "Tin bão khẩn cấp. Hồi {time}, vị trí tâm bão số {number} ở vào khoảng {lat} độ Vĩ Bắc, "
            "{lon} độ Kinh Đông. Sức gió mạnh nhất vùng gần tâm bão mạnh cấp {wind}, giật cấp {gust}. "
            "Bão di chuyển theo hướng {direction}, mỗi giờ đi được khoảng {speed} ki lô mét. Đề nghị "
            "nhân dân chằng chống nhà cửa, tàu thuyền khẩn trương vào nơi tránh trú an toàn, không ra khơi.",
        ),
        WarningTemplate(
            "landslide",
            "Cảnh báo lũ quét, sạt lở đất cho các thôn",
            "landslide",
            (
                TemplateField("kind", "Loại", "choice", ("sạt lở đất", "lũ quét", "lũ quét và sạt lở đất")),
                TemplateField("villages", "Các thôn", hint="thôn Gò Nghênh, thôn Làng Trui"),
                TemplateField("rain_mm", "Lượng mưa (mm)", "number", hint="250"),
                TemplateField("hours", "Trong (giờ)", "number", hint="24"),
            ),
            "Cảnh báo khẩn cấp {kind}. Mưa lớn trong {hours} giờ qua đạt {rain_mm} mi li mét, nguy cơ "
            "rất cao xảy ra {kind} tại {villages}. Đề nghị người dân các khu vực này khẩn trương sơ tán "
            "đến nơi an toàn, không ở lại nhà ven suối, dưới chân đồi dốc; không qua lại khu vực nguy hiểm.",
        ),
    )
}


def _number(raw: str, label: str) -> str:
    """A number as a Vietnamese text writes it (decimal comma), from what a person typed."""
    text = raw.strip().replace(" ", "")
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(f"«{label}» phải là một số.", code="template_number") from None
    if not value.is_finite() or abs(value) > 100_000:
        raise InvalidInput(f"«{label}» phải là một số.", code="template_number")
    normal = format(value.normalize(), "f")
    return normal.replace(".", ",")


def fill(code: str, values: Mapping[str, str]) -> str:
    """The template's text with the fields filled in; a missing or invalid field is named."""
    template = TEMPLATES.get(code)
    if template is None:
        raise InvalidInput("Không có mẫu cảnh báo này.", code="template_unknown")
    filled: dict[str, str] = {}
    for f in template.fields:
        raw = " ".join((values.get(f.name) or "").split())[:300]
        if not raw:
            raise InvalidInput(f"Mẫu «{template.label}»: chưa điền «{f.label}».", code="template_missing")
        if f.kind == "number":
            raw = _number(raw, f.label)
        elif f.kind == "choice" and raw not in f.choices:
            raise InvalidInput(f"Mẫu «{template.label}»: «{f.label}» không hợp lệ.", code="template_choice")
        filled[f.name] = raw
    return template.text.format(**filled)


# --- the reading and the audio ---------------------------------------------------------------------------


ALLOWED_CONTROLS = frozenset("\t\n\r")


def check_text(text: str) -> str:
    """The warning's text, stripped; refused when empty, too long, or carrying characters no voice can
    read (control characters such as NUL or ESC, lone surrogates): they would reach the title, the
    pages and the database (PostgreSQL refuses NUL) unseen."""
    if len(text) > 4 * MAX_WARNING_CHARS:  # no need to look at every character of a huge paste
        raise InvalidInput(
            f"Nội dung cảnh báo quá dài (tối đa {MAX_WARNING_CHARS} ký tự): hãy viết ngắn gọn.",
            code="text_too_long",
        )
    bad = next(
        (c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in ALLOWED_CONTROLS), None
    )
    if bad is not None:
        raise InvalidInput(
            f"Nội dung cảnh báo có ký tự điều khiển không đọc được (mã U+{ord(bad):04X}): "
            "hãy xóa ký tự đó rồi gửi lại.",
            code="text_control_characters",
        )
    text = text.strip()
    if not text:
        raise InvalidInput("Chưa có nội dung cảnh báo để đọc.", code="empty_text")
    if len(text) > MAX_WARNING_CHARS:
        raise InvalidInput(
            f"Nội dung cảnh báo quá dài (tối đa {MAX_WARNING_CHARS} ký tự): hãy viết ngắn gọn.",
            code="text_too_long",
        )
    return text


def reading(text: str) -> str:
    """What the voice will say: Loa's normalised reading of the text (numbers, units, abbreviations
    in words)."""
    return normalize(check_text(text)).text


def title_for(text: str, hazard: str | None, risk_level: int | None) -> str:
    head = " ".join(text.split())
    head = head if len(head) <= 90 else head[:89].rstrip() + "…"
    label = levels.HAZARDS[hazard].label if hazard else "thiên tai"
    level = f" cấp độ {risk_level}" if risk_level else ""
    return f"Cảnh báo {label}{level}: {head}"[:200]


@dataclass(frozen=True)
class Spoken:
    sha256: str
    prepare_ms: int


def speak(
    session: Session, *, context: speech.SpeechContext, principal: Principal, text: str, title: str
) -> Spoken:
    """TTS → loudness levelling → store (an identical earlier warning is reused), timed."""
    started = time.perf_counter()
    prepare_text(check_text(text))  # refused clearly: nothing readable, too long
    plan = speech.plan_synthesis(session, context=context, text=check_text(text))
    if plan.cached is not None:
        asset = plan.cached
        if not asset.title:
            asset.title = title
    else:
        rendered = speech.render_plan(context, plan)
        asset = speech.store_plan_result(
            session,
            context=context,
            plan=plan,
            rendered=rendered,
            created_by_id=principal.user_id,
            title=title,
        )
    session.flush()
    return Spoken(asset.sha256, round((time.perf_counter() - started) * 1000))


# --- one step: audio → alert -------------------------------------------------------------------------


@dataclass(frozen=True)
class Warning:
    """What the form sends (after the sender confirmed it)."""

    coverage: Coverage
    hazard: str | None  # the form asks for both; an older API caller may send neither
    risk_level: int | None
    repeat_gap_s: int
    expires_at: datetime | None
    text: str = ""  # typed: spoken by TTS
    audio_sha256: str = ""  # or a recording / upload


def send(
    session: Session,
    *,
    principal: Principal,
    context: speech.SpeechContext,
    warning: Warning,
    pressed_at: datetime,
    aired: alerts.AiredAudio,
    ip: str = "",
    source_ref: str | None = None,
) -> EmergencyAlert:
    """Make the audio (when typed) and the alert in one transaction (``aired``: what renders its rounds,
    the lead-in signal then the message); the alert waits for a second
    person when the province's rule asks for one (``loa.alerts.confirm``)."""
    # Everything that can be refused is refused before the speech is made (nothing half done).
    levels.check(warning.hazard, warning.risk_level)
    alerts.check_expiry(warning.expires_at)
    commands.check_repeat_gap(warning.repeat_gap_s)
    if warning.text.strip():
        check_text(warning.text)
    coverage = warning.coverage
    if coverage.devices == 0:
        raise InvalidInput("Nơi đã chọn chưa có cụm loa nào đang hoạt động.", code="no_devices")
    units = list(session.scalars(select(AdminUnit).where(AdminUnit.code.in_(coverage.commune_codes))))
    prepare_ms = 0
    text = warning.text.strip()
    if text:
        spoken = speak(
            session,
            context=context,
            principal=principal,
            text=text,
            title=title_for(text, warning.hazard, warning.risk_level),
        )
        audio_sha256, prepare_ms = spoken.sha256, spoken.prepare_ms
    elif warning.audio_sha256.strip():
        audio_sha256 = warning.audio_sha256.strip()
    else:
        raise InvalidInput("Hãy nhập nội dung cảnh báo, hoặc chọn một bản thu âm.", code="empty_text")
    status = (
        alerts.PENDING_CONFIRMATION
        if confirm.needs_second_person(session, units, warning.risk_level)
        else alerts.ACTIVE
    )
    started = time.perf_counter()
    alert = alerts.start_alert(
        session,
        principal=principal,
        commune_codes=coverage.commune_codes,
        audio_sha256=audio_sha256,
        repeat_gap_s=warning.repeat_gap_s,
        hazard=warning.hazard,
        risk_level=warning.risk_level,
        expires_at=warning.expires_at,
        message_text=text or None,
        target=coverage.target,
        device_uids=coverage.device_uids,
        status=status,
        source_ref=source_ref,
        ip=ip,
        aired=aired,
    )
    send_ms = round((time.perf_counter() - started) * 1000)
    session.add(AlertTiming(alert_id=alert.id, pressed_at=pressed_at, prepare_ms=prepare_ms, send_ms=send_ms))
    session.flush()
    if status == alerts.PENDING_CONFIRMATION:
        mark_changed(session, confirm.AWAITING_SECOND_PERSON, alert.id)
    log.info("alert %s composed: speech %d ms, send %d ms, %s", alert.id, prepare_ms, send_ms, status)
    return alert


def first_play_at(session: Session, alert: EmergencyAlert) -> datetime | None:
    """When the first loudspeaker answered the alert's command as played (None: none yet)."""
    batches = json.loads(alert.batch_ids or "[]")
    if not batches:
        return None
    return session.scalar(
        select(func.min(DeviceCommand.acked_at)).where(
            or_(DeviceCommand.batch_id.in_(batches), DeviceCommand.id.in_(batches)),
            DeviceCommand.result == "done",
        )
    )


@dataclass(frozen=True)
class TimingView:
    pressed_at: datetime
    prepare_ms: int
    send_ms: int
    first_play_at: datetime | None

    @property
    def to_first_play_s(self) -> float | None:
        """Seconds from "Phát" to the first loudspeaker playing."""
        if self.first_play_at is None:
            return None
        return max(0.0, (self.first_play_at - self.pressed_at).total_seconds())


def timings(session: Session, alerts_shown: list[EmergencyAlert]) -> dict[int, TimingView]:
    """The composed alerts' timings, the first play read from the devices' answers."""
    ids = [a.id for a in alerts_shown]
    if not ids:
        return {}
    rows = {t.alert_id: t for t in session.scalars(select(AlertTiming).where(AlertTiming.alert_id.in_(ids)))}
    out = {}
    for alert in alerts_shown:
        row = rows.get(alert.id)
        if row is not None:
            out[alert.id] = TimingView(
                row.pressed_at, row.prepare_ms, row.send_ms, first_play_at(session, alert)
            )
    return out
