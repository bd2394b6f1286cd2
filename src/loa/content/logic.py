"""Pure rules for bulletin input: validation of a draft, and the full snapshot kept per revision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loa.content.catalog import LANGUAGES, BulletinKind, Priority, SourceKind
from loa.content.richtext import (
    MAX_BODY_CHARS,
    MAX_TITLE_CHARS,
    clean_multiline,
    html_to_text,
    render_markdown,
)
from loa.errors import InvalidInput
from loa.vocab.text import clean_line

MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_RENDITION_CHARS = 50_000

CONFLICT_MESSAGE = (
    "Bản tin đã được người khác sửa. Vui lòng tải lại để xem bản mới nhất; "
    "nội dung bạn vừa soạn được giữ lại bên dưới để chép lại."
)


@dataclass(frozen=True)
class DraftInput:
    """What a person typed, before checks (the API and the form both build one)."""

    title: str
    body: str = ""
    kind: str = BulletinKind.NEWS.value
    priority: str = Priority.NORMAL.value
    topics: Sequence[str] = ()
    area_code: str | None = None
    organisation: str = ""
    source_kind: str = SourceKind.OWN.value
    source_reference: str = ""
    rights_note: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    tags: Sequence[str] = ()

    def as_dict(self) -> dict[str, Any]:
        """For returning a person's unsaved text to them (conflicts)."""
        return {
            "title": self.title,
            "body": self.body,
            "kind": self.kind,
            "priority": self.priority,
            "topics": list(self.topics),
            "area_code": self.area_code,
            "organisation": self.organisation,
            "source_kind": self.source_kind,
            "source_reference": self.source_reference,
            "rights_note": self.rights_note,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class CleanDraft:
    title: str
    body_markdown: str
    body_html: str
    body_text: str
    kind: BulletinKind
    priority: Priority
    topic_codes: tuple[str, ...]
    area_code: str | None
    organisation: str
    source_kind: SourceKind
    source_reference: str
    rights_note: str
    valid_from: datetime | None
    valid_until: datetime | None
    tags: tuple[str, ...] = field(default=())


def _choice(value: str, allowed: type[BulletinKind] | type[Priority] | type[SourceKind]) -> bool:
    return value in {m.value for m in allowed}


def clean_draft(raw: DraftInput) -> CleanDraft:
    """Check and normalise a draft; all problems are reported together, per field, in Vietnamese."""
    problems: list[dict[str, str]] = []

    def bad(field_name: str, message: str) -> None:
        problems.append({"field": field_name, "message": message})

    title = clean_line(raw.title)
    if not title:
        bad("title", "Vui lòng nhập tiêu đề.")
    elif len(title) > MAX_TITLE_CHARS:
        bad("title", f"Tiêu đề quá dài (tối đa {MAX_TITLE_CHARS} ký tự).")
    body = clean_multiline(raw.body)
    if len(body) > MAX_BODY_CHARS:
        bad("body", f"Nội dung quá dài (tối đa {MAX_BODY_CHARS} ký tự).")
    if not _choice(raw.kind, BulletinKind):
        bad("kind", "Thể loại không hợp lệ.")
    if not _choice(raw.priority, Priority):
        bad("priority", "Mức ưu tiên không hợp lệ (thông thường, ưu tiên hoặc khẩn cấp).")
    if not _choice(raw.source_kind, SourceKind):
        bad("source_kind", "Nguồn tin không hợp lệ.")
    source_reference = clean_line(raw.source_reference)
    if raw.source_kind == SourceKind.FORWARDED.value and not source_reference:
        bad("source_reference", "Tin tiếp nhận từ cấp trên cần ghi rõ nguồn (cơ quan, số văn bản).")
    for name, value in (("valid_from", raw.valid_from), ("valid_until", raw.valid_until)):
        if value is not None and value.tzinfo is None:
            bad(name, "Thời điểm phải kèm múi giờ.")
    if (
        raw.valid_from is not None
        and raw.valid_until is not None
        and raw.valid_from.tzinfo is not None
        and raw.valid_until.tzinfo is not None
        and raw.valid_until <= raw.valid_from
    ):
        bad("valid_until", "Thời hạn hiệu lực phải sau thời điểm bắt đầu.")
    tags: list[str] = []
    for tag in raw.tags:
        cleaned = clean_line(tag).lstrip("#")
        if cleaned and cleaned not in tags:
            tags.append(cleaned[:MAX_TAG_CHARS])
    if len(tags) > MAX_TAGS:
        bad("tags", f"Tối đa {MAX_TAGS} từ khóa.")
    topic_codes = tuple(dict.fromkeys(code.strip() for code in raw.topics if code.strip()))
    if problems:
        raise InvalidInput("Bản tin chưa hợp lệ, vui lòng kiểm tra lại.", details=problems)
    body_html = render_markdown(body)
    return CleanDraft(
        title=title,
        body_markdown=body,
        body_html=body_html,
        body_text=html_to_text(body_html),
        kind=BulletinKind(raw.kind),
        priority=Priority(raw.priority),
        topic_codes=topic_codes,
        area_code=raw.area_code.strip() if raw.area_code else None,
        organisation=clean_line(raw.organisation)[:200],
        source_kind=SourceKind(raw.source_kind),
        source_reference=source_reference[:500],
        rights_note=clean_multiline(raw.rights_note)[:1000],
        valid_from=raw.valid_from,
        valid_until=raw.valid_until,
        tags=tuple(tags),
    )


def check_language(code: str) -> str:
    if code not in LANGUAGES:
        raise InvalidInput(
            "Ngôn ngữ không được hỗ trợ.",
            details=[{"field": "language", "message": "Mã ngôn ngữ không có trong danh mục"}],
        )
    return code


def clean_rendition_text(text: str) -> str:
    cleaned = clean_multiline(text)
    if len(cleaned) > MAX_RENDITION_CHARS:
        raise InvalidInput(f"Bản dịch quá dài (tối đa {MAX_RENDITION_CHARS} ký tự).")
    return cleaned


# Fields compared between revisions, in display order, with their Vietnamese labels.
DIFF_LABELS: dict[str, str] = {
    "title": "Tiêu đề",
    "body": "Nội dung",
    "meta": "Thông tin chung",
}


def diffable(snapshot: Mapping[str, Any]) -> dict[str, str]:
    """Flatten a snapshot into the texts a reviewer compares (one entry per rendition too)."""
    meta = [
        f"Thể loại: {snapshot.get('kind', '')}",
        f"Mức ưu tiên: {snapshot.get('priority', '')}",
        f"Chủ đề: {', '.join(snapshot.get('topics', []))}",
        f"Cơ quan: {snapshot.get('organisation', '')}",
        f"Nguồn: {snapshot.get('source_kind', '')} {snapshot.get('source_reference', '')}".rstrip(),
        f"Hiệu lực: {snapshot.get('valid_from') or '…'} → {snapshot.get('valid_until') or '…'}",
        f"Từ khóa: {', '.join(snapshot.get('tags', []))}",
    ]
    flat = {
        "title": str(snapshot.get("title", "")),
        "body": str(snapshot.get("body_text", "")),
        "meta": "\n".join(meta),
    }
    for lang, rendition in sorted(snapshot.get("renditions", {}).items()):
        audio = rendition.get("audio_sha256") or ""
        flat[f"rendition:{lang}"] = str(rendition.get("text", "")) + (
            f"\n[âm thanh {audio[:12]}]" if audio else ""
        )
    return flat


def diff_labels(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    labels = dict(DIFF_LABELS)
    for key in sorted(set(old) | set(new)):
        if key.startswith("rendition:"):
            lang = key.split(":", 1)[1]
            labels[key] = f"Bản {LANGUAGES[lang].label if lang in LANGUAGES else lang}"
    return labels
