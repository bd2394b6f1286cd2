"""The "Lập báo cáo" form: its fields as typed, how they are checked (errors by field, in Vietnamese),
and how the form starts (from the previous report's organisation and prose, or from the area). Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from typing import Any

from loa.errors import LoaError
from loa.reports.data import PROSE_SECTIONS, Organisation, ReportData
from loa.reports.service import MAX_PROSE_CHARS
from loa.vocab.period import Period
from loa.vocab.periodform import PeriodFields, fields_of, parse_period

CONTENTS_HINT = (
    "Các nội dung chính đã tuyên truyền trong kỳ, mỗi ý một dòng; trong báo cáo là các gạch đầu dòng "
    "sau câu «Đồng thời, đã tuyên truyền một số nội dung cụ thể như sau:». Để trống nếu không cần."
)
ASSESSMENT_HINT = (
    "Để trống thì báo cáo dùng đoạn hệ thống tự soạn từ số liệu (so sánh với kỳ trước cùng độ dài). "
    "Bấm «Soạn đoạn đánh giá từ số liệu» để xem và sửa đoạn đó trước khi lập báo cáo."
)
PROSE_HINTS: dict[str, str] = {
    "advantages": "Những thuận lợi trong kỳ (mỗi ý một dòng; dòng bắt đầu bằng dấu - thành gạch đầu dòng).",
    "limitations": "Hạn chế, tồn tại và nguyên nhân.",
    "proposals": "Đề xuất, kiến nghị với cấp trên.",
    "next_tasks": "Nhiệm vụ trọng tâm kỳ tới.",
}
LIMITS: dict[str, int] = {
    "parent_name": 200,
    "org_name": 300,
    "place": 100,
    "short_code": 40,
    "prose_name": 200,
    "signer_title": 200,
    "signer_name": 200,
    "number": 40,
    "summary": 500,
    "recipients": 3000,
}


@dataclass(frozen=True)
class ReportForm:
    period: str = "year"
    year: str = ""
    start: str = ""
    end: str = ""
    topic: str = ""
    area: str = ""
    former_district: str = ""
    parent_name: str = ""
    org_name: str = ""
    place: str = ""
    short_code: str = ""
    prose_name: str = ""
    signer_title: str = ""
    signer_name: str = ""
    recipients: str = ""
    number: str = ""
    issued_on: str = ""
    summary: str = ""
    introduction: str = ""
    contents: str = ""
    assessment: str = ""
    assessment_draft: str = ""  # the draft last shown in the form: posted back unchanged, it stays a draft
    advantages: str = ""
    limitations: str = ""
    proposals: str = ""
    next_tasks: str = ""
    with_pdf: str = ""

    @classmethod
    def from_posted(cls, get: Callable[[str], Any]) -> ReportForm:
        values = {}
        for f in fields(cls):
            raw = get(f.name)
            values[f.name] = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
        return cls(**values)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def prose(self) -> dict[str, str]:
        return {key: getattr(self, key) for key, _ in PROSE_SECTIONS}

    @property
    def edited_assessment(self) -> str | None:
        """The assessment as the person edited it; None when blank or the draft shown, unchanged
        (the report then drafts it again from its own figures)."""
        text = self.assessment.strip()
        if not text or _same_text(text, self.assessment_draft):
            return None
        return text


def _same_text(a: str, b: str) -> bool:
    return a.split() == b.split()


@dataclass
class CheckedForm:
    period: Period | None = None
    issued_on: date | None = None
    organisation: Organisation | None = None
    errors: dict[str, str] = field(default_factory=dict)


def check(form: ReportForm, *, today: date) -> CheckedForm:
    """Everything that needs no database; areas and topics are checked by the caller."""
    out = CheckedForm()
    try:
        out.period = parse_period(PeriodFields(form.period or "year", form.year, form.start, form.end))
        if out.period is None:
            out.errors["period"] = "Cần chọn kỳ báo cáo."
        elif out.period.start > today:
            out.errors["period"] = "Kỳ báo cáo chưa bắt đầu."
    except LoaError as err:
        out.errors["period"] = err.message
    try:
        out.issued_on = date.fromisoformat(form.issued_on) if form.issued_on.strip() else today
    except ValueError:
        out.errors["issued_on"] = "Ngày ban hành không hợp lệ."
    if not form.area.strip() and not form.former_district.strip():
        out.errors["area"] = "Cần chọn địa bàn hoặc huyện cũ."
    for name, limit in LIMITS.items():
        if len(getattr(form, name)) > limit:
            out.errors[name] = f"Quá dài (tối đa {limit} ký tự)."
    for name in ("introduction", "contents", "assessment", *form.prose):
        if len(getattr(form, name)) > MAX_PROSE_CHARS:
            out.errors[name] = f"Quá dài (tối đa {MAX_PROSE_CHARS} ký tự)."
    org_fields = (form.parent_name, form.org_name, form.place, form.signer_title, form.signer_name)
    if any(v.strip() for v in org_fields):
        for name in ("parent_name", "org_name", "place"):
            if not getattr(form, name).strip():
                out.errors[name] = "Bắt buộc khi ghi thông tin cơ quan ban hành."
        out.organisation = Organisation(
            parent_name=form.parent_name.strip(),
            name=form.org_name.strip(),
            place=form.place.strip(),
            short_code=form.short_code.strip(),
            prose_name=form.prose_name.strip() or "Đơn vị",
            signer_title=form.signer_title.strip() or "GIÁM ĐỐC",
            signer_name=form.signer_name.strip(),
            recipients=tuple(line.strip() for line in form.recipients.splitlines() if line.strip()),
        )
    return out


def organisation_fields(org: Organisation) -> dict[str, str]:
    return {
        "parent_name": org.parent_name,
        "org_name": org.name,
        "place": org.place,
        "short_code": org.short_code,
        "prose_name": org.prose_name,
        "signer_title": org.signer_title,
        "signer_name": org.signer_name,
        "recipients": "\n".join(org.recipients),
    }


def starting_form(
    *,
    today: date,
    area_code: str = "",
    organisation: Organisation | None = None,
    previous: ReportData | None = None,
    previous_prose: Mapping[str, str] | None = None,
    previous_area_code: str = "",
) -> ReportForm:
    """The form a person starts from: this year, their area, and, when there is a previous report, its
    organisation, topic and prose (II–V) to edit rather than retype."""
    form = replace(ReportForm(), **asdict(PeriodFields.for_year(today.year)), issued_on=today.isoformat())
    if previous is not None:
        prose = dict(previous_prose or previous.prose)
        form = replace(
            form,
            area=previous_area_code or area_code,
            topic=previous.topic.code if previous.topic else "",
            introduction=prose.get("introduction", previous.introduction),
            contents=prose.get("contents", previous.contents),
            **{k: prose.get(k, "") for k, _ in PROSE_SECTIONS},
            **organisation_fields(previous.organisation),
        )
        return form
    form = replace(form, area=area_code)
    if organisation is not None:
        form = replace(form, **organisation_fields(organisation))
    return form


def form_for_period(form: ReportForm, period: Period) -> ReportForm:
    return replace(form, **asdict(fields_of(period)))
