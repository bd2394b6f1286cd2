"""Vietnamese wording of a report: section I written channel by channel from the figures, in the shape
of a district report (shared/reference); numbers, sizes and periods are worded by ``loa.vocab``. Pure:
returns blocks of text that the DOCX writer lays out, so the wording is testable without a document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from loa.reports.composition import inline_details, programme_lines
from loa.reports.data import ChannelSection, DetailRow, ReportData
from loa.vocab.numbers import count_text, number_text, percent_text, size_text

BlockKind = Literal["heading", "subheading", "paragraph", "bullet", "placeholder"]

# Channel keys shared with the statistics service.
RADIO, PORTAL, PRESS, VISUAL, MOBILE, EVENTS = "radio", "portal", "press", "visual", "mobile", "events"
FEEDBACK = "feedback"  # not a register: figures of citizens' feedback (loa.reports.feedback_section)
CHANNEL_TITLES: dict[str, str] = {
    RADIO: "Truyền thanh",
    PORTAL: "Cổng thông tin điện tử",
    PRESS: "Cộng tác báo chí",
    VISUAL: "Tuyên truyền trực quan",
    MOBILE: "Xe thông tin lưu động",
    EVENTS: "Hội nghị, sự kiện",
    FEEDBACK: "Ý kiến người dân",
}


AIRED_KINDS = ("news", "article", "reportage", "announcement", "segment")  # radio figures of "aired"
MAX_PLACE_LINES = 15  # a province report lists the first places, the XLSX lists them all


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str


# --- text ------------------------------------------------------------------------------------------
def join_vn(items: Sequence[str]) -> str:
    """'a', 'a và b', 'a, b và c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} và {items[-1]}"


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def figure_list(section: ChannelSection | None, keys: Iterable[str] | None = None) -> str:
    """'32 bài viết, 25 tin, 60 ảnh' for the non-zero figures of a channel."""
    if section is None:
        return ""
    wanted = None if keys is None else set(keys)
    parts = [
        f"{count_text(f.value)} {f.unit}"
        for f in section.figures
        if f.value > 0 and (wanted is None or f.key in wanted)
    ]
    return ", ".join(parts)


def _about(data: ReportData) -> str:
    if data.topic is None:
        return ""
    return f" về {data.topic.abbreviation or data.topic.name.lower()}"


# --- section I -------------------------------------------------------------------------------------
def media_paragraph(data: ReportData) -> str:
    """Radio, portal and press in one paragraph, as the reference's '1. Lĩnh vực thông tin truyền thông'."""
    radio, portal, press = data.channel(RADIO), data.channel(PORTAL), data.channel(PRESS)
    about = _about(data)
    programmes = radio.value(f"{RADIO}.programme") if radio else 0
    clauses: list[str] = []
    aired = figure_list(radio, [f"{RADIO}.{k}" for k in AIRED_KINDS])
    if aired:
        clauses.append(
            f"thực hiện {join_vn(aired.split(', '))} phát trên sóng đài và hệ thống truyền thanh cơ sở"
        )
    posted = figure_list(portal)
    if posted:
        clauses.append(f"đăng tải {posted} trên cổng thông tin điện tử")
    pressed = figure_list(press)
    if pressed and press is not None:
        outlets = _distinct(press.rows, "outlet")
        partner = f"cộng tác với {join_vn(outlets)}" if outlets else "cộng tác với các cơ quan báo chí"
        clauses.append(f"{partner}: {pressed}")
    opening = f"{data.period.opening}, {_subject(data)}"
    if programmes:
        text = (
            f"{opening} đã xây dựng và phát sóng {count_text(programmes)} chuyên mục{about} "
            f"trên hệ thống truyền thanh{programme_details(data)}."
        )
        return f"{text} Ngoài ra, đã {'; '.join(clauses)}{about}." if clauses else text
    if clauses:
        return f"{opening} đã {'; '.join(clauses)}{about}."
    return (
        f"{data.period.opening}, chưa ghi nhận tin, bài, chuyên mục{about} trên hệ thống truyền thanh, "
        "cổng thông tin điện tử và báo chí."
    )


def programme_details(data: ReportData) -> str:
    """', phát vào thứ Hai thứ ba trong tháng lúc 07:00 (mỗi chuyên mục 3-5 tin, 6-7 bài viết)' for the
    one programme that aired (``loa.reports.composition``); empty for several or for figures that
    came from the manual register."""
    return inline_details(data.airtime.programmes) if data.airtime else ""


CONTENTS_LEAD = "Đồng thời, đã tuyên truyền một số nội dung cụ thể như sau:"


def contents_blocks(data: ReportData) -> list[Block]:
    """The main contents put across, as the person wrote them, one bullet a line."""
    lines = [line.strip() for line in data.contents.splitlines() if line.strip()]
    if not lines:
        return []
    bullets = [line if line[:1] in "-+•" else f"- {capitalise(line)}" for line in lines]
    return [Block("paragraph", CONTENTS_LEAD), *(Block("bullet", b) for b in bullets)]


def assessment_blocks(data: ReportData) -> list[Block]:
    lines = [line.strip() for line in data.assessment.splitlines() if line.strip()]
    return [Block("bullet" if line[:1] in "-+•" else "paragraph", line) for line in lines]


def broadcast_sentence(data: ReportData) -> str:
    """Proof of play, when loudspeakers reported receipts: the broadcasts played, hours, and beside
    them the plan: the share of the plan due that was played, and the plays outside the plan."""
    if data.airtime is None or not data.airtime.receipts:
        return ""
    total = data.airtime.total
    text = (
        f"Trên hệ thống truyền thanh ứng dụng công nghệ thông tin, các cụm loa đã phát "
        f"{count_text(total.played)} lượt tin, bài{_about(data)}, "
        f"tổng {hours_text(total.played_ms)} giờ phát sóng (theo biên nhận phát của cụm loa)"
    )
    percent = total.played_percent
    if percent is not None:
        text += (
            f"; trong đó {count_text(total.in_plan)} lượt theo kế hoạch, đạt "
            f"{percent_text(percent)} kế hoạch ({count_text(total.due)} lượt)"
        )
    if total.extra:
        text += f"; {count_text(total.extra)} lượt phát ngoài kế hoạch (phát ngay, phát khẩn cấp)"
    return text + "."


def hours_text(played_ms: int) -> str:
    """Hours on air: '1.234,5' (one decimal; two below ten hours)."""
    hours = played_ms / 3_600_000
    return number_text(hours, 1 if hours >= 10 else 2, trim=True)


def visual_blocks(data: ReportData) -> list[Block]:
    section = data.channel(VISUAL)
    about = _about(data)
    if section is None or section.is_empty:
        return [
            Block(
                "paragraph", f"{data.period.opening}, chưa ghi nhận hoạt động tuyên truyền trực quan{about}."
            )
        ]
    hung = figure_list(section, [f"{VISUAL}.banner", f"{VISUAL}.flag"])
    built = figure_list(section, [f"{VISUAL}.panel", f"{VISUAL}.board"])
    actions = []
    if hung:
        actions.append(f"treo {hung}")
    if built:
        actions.append(f"lắp đặt, làm mới {built}")
    blocks = [
        Block(
            "paragraph",
            f"{data.period.opening}, {_subject(data)} đã thực hiện {'; '.join(actions)} tuyên truyền{about}. "
            "Cụ thể địa điểm đặt như sau:",
        )
    ]
    groups: dict[tuple[object, ...], list[DetailRow]] = {}
    for row in section.rows:
        key = (row.get("kind"), row.get("place"), row.get("width_m"), row.get("height_m"), row.get("sides"))
        groups.setdefault(key, []).append(row)
    shown = list(groups.items())[:MAX_PLACE_LINES]
    for (kind, place, width, height, sides), rows in shown:
        quantity = sum(int(r.get("quantity") or 0) for r in rows)
        size = size_text(_num(width), _num(height), int(sides) if isinstance(sides, int) else None)
        suffix = f" ({size})" if size else ""
        where = capitalise(str(place or "Chưa ghi địa điểm"))
        blocks.append(Block("bullet", f"+ {where}: {count_text(quantity)} {kind}{suffix}"))
    if len(groups) > MAX_PLACE_LINES:
        rest = len(groups) - MAX_PLACE_LINES
        blocks.append(
            Block("bullet", f"+ Và {count_text(rest)} địa điểm khác (chi tiết tại bảng số liệu kèm theo).")
        )
    return blocks


def mobile_blocks(data: ReportData) -> list[Block]:
    section = data.channel(MOBILE)
    about = _about(data)
    if section is None or section.is_empty:
        return [
            Block("paragraph", f"{data.period.opening}, chưa ghi nhận chuyến xe thông tin lưu động{about}.")
        ]
    trips = section.value(f"{MOBILE}.trip")
    villages = section.value(f"{MOBILE}.village")
    audience = section.value(f"{MOBILE}.audience")
    text = (
        f"{data.period.opening}, đã thực hiện {count_text(trips)} lượt xe thông tin lưu động "
        f"tuyên truyền{about}"
    )
    if villages:
        text += f" đến {count_text(villages)} thôn, tổ dân phố"
    if audience:
        text += f", phục vụ khoảng {count_text(audience)} lượt người nghe"
    contents = _distinct(section.rows, "content")
    blocks = [Block("paragraph", text + (". Nội dung tuyên truyền chủ yếu:" if contents else "."))]
    blocks.extend(Block("bullet", f"- {capitalise(c)}.") for c in contents[:8])
    return blocks


def events_blocks(data: ReportData) -> list[Block]:
    section = data.channel(EVENTS)
    if section is None or section.is_empty:
        return []
    held = figure_list(section, [f.key for f in section.figures if f.key != f"{EVENTS}.participants"])
    text = f"{data.period.opening}, đã tổ chức {held}{_about(data)}"
    participants = section.value(f"{EVENTS}.participants")
    if participants:
        text += f" với khoảng {count_text(participants)} lượt người tham dự"
    return [Block("paragraph", text + ".")]


def feedback_blocks(data: ReportData) -> list[Block]:
    section = data.channel(FEEDBACK)
    if section is None or section.is_empty:
        return []
    received = section.value(f"{FEEDBACK}.received")
    answered, on_time = section.value(f"{FEEDBACK}.answered"), section.value(f"{FEEDBACK}.on_time")
    text = (
        f"{data.period.opening}, đã tiếp nhận {count_text(received)} ý kiến, phản ánh, kiến nghị "
        f"của người dân{_about(data)}; đã trả lời {count_text(answered)} ý kiến"
    )
    if answered:
        text += f", trong đó {count_text(on_time)} ý kiến trả lời đúng hạn"
    return [Block("paragraph", text + ".")]


def former_sentences(data: ReportData) -> list[str]:
    """The records of former units (a former district's own, an old commune split in several) that
    the report's commune came out of with others: stated apart, never added to its figures."""
    out = []
    for former in data.former:
        parts = [
            f"{c.title.lower()}: {figure_list(c)}"
            for c in former.channels
            if not c.is_empty and figure_list(c)
        ]
        if parts:
            out.append(
                f"Số liệu do {former.name} (đơn vị cũ, nay là {former.became_text}) ghi nhận chung, "
                f"không cộng vào số liệu của {data.area_name}: {'; '.join(parts)}."
            )
    return out


def results_blocks(data: ReportData) -> list[Block]:
    """Section I, numbered like the reference; the events subsection appears only when there are events."""
    media = [Block("paragraph", media_paragraph(data))]
    if data.airtime is not None:
        lines = programme_lines(data.airtime.programmes)
        media.extend(Block("bullet" if line.startswith("+") else "paragraph", line) for line in lines)
    if broadcast_sentence(data):
        media.append(Block("paragraph", broadcast_sentence(data)))
    media.extend(Block("paragraph", text) for text in former_sentences(data))
    media.extend(contents_blocks(data))
    parts: list[tuple[str, list[Block]]] = [
        ("Lĩnh vực thông tin truyền thông", media),
        ("Tuyên truyền trực quan", visual_blocks(data)),
        ("Tuyên truyền xe thông tin lưu động", mobile_blocks(data)),
    ]
    events = events_blocks(data)
    if events:
        parts.append(("Hội nghị, sự kiện", events))
    feedback = feedback_blocks(data)
    if feedback:
        parts.append(("Tiếp nhận, trả lời ý kiến của người dân", feedback))
    assessment = assessment_blocks(data)
    if assessment:
        parts.append(("Đánh giá chung", assessment))
    blocks = [Block("heading", "I. KẾT QUẢ CÔNG TÁC TUYÊN TRUYỀN")]
    for number, (title, body) in enumerate(parts, start=1):
        blocks.append(Block("subheading", f"{number}. {title}"))
        blocks.extend(body)
    return blocks


# Sections II-V: number and title as a sentence ("{next}": the period section V plans for). The
# heading is the title in capitals; the placeholder names it as written, never by lower-casing the
# heading (that would turn "QUÝ II" into "quý ii").
PROSE_HEADINGS: tuple[tuple[str, str, str], ...] = (
    ("advantages", "II", "Thuận lợi"),
    ("limitations", "III", "Hạn chế, tồn tại"),
    ("proposals", "IV", "Đề xuất, kiến nghị"),
    ("next_tasks", "V", "Nhiệm vụ trọng tâm {next}"),
)

PLACEHOLDER = "[Cần bổ sung: {what}. Nội dung này do người lập báo cáo viết trước khi trình ký.]"


def prose_blocks(data: ReportData) -> list[Block]:
    """Sections II-V from the user's text; an empty section becomes a marked placeholder line."""
    blocks: list[Block] = []
    for key, number, title in PROSE_HEADINGS:
        what = title.format(next=data.period.next_label)
        blocks.append(Block("heading", f"{number}. {what.upper()}"))
        text = data.prose.get(key, "").strip()
        if not text:
            blocks.append(Block("placeholder", PLACEHOLDER.format(what=what)))
            continue
        for line in text.splitlines():
            line = line.strip()
            if line:
                blocks.append(Block("bullet" if line[:1] in "-+•" else "paragraph", line))
    return blocks


def document_blocks(data: ReportData) -> list[Block]:
    blocks: list[Block] = []
    for line in data.introduction.strip().splitlines():
        if line.strip():
            blocks.append(Block("paragraph", line.strip()))
    return blocks + results_blocks(data) + prose_blocks(data)


def _subject(data: ReportData) -> str:
    name = data.organisation.prose_name.strip() or "đơn vị"
    return "đơn vị" if name.lower() == "đơn vị" else name


def _distinct(rows: Sequence[DetailRow], key: str) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            seen.setdefault(value.strip(), None)
    return list(seen)


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
