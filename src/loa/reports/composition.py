"""How section I words the programmes (chuyên mục) that aired: when they air and what one airing
holds ("mỗi chuyên mục 3-5 tin, 6-7 bài viết"), counted only from what aired — in the airings with a
played receipt, the lines a loudspeaker cluster played to their end — with the plan beside it,
named as the plan. Pure: the programmes of the report's snapshot in, sentences out.
"""

from __future__ import annotations

from collections.abc import Sequence

from loa.reports.airdata import MixRange, ProgrammeRow
from loa.vocab.numbers import count_text

# The unit of each kind in a composition, in the order ``loa.reports.facts.MIX_KINDS`` counts them.
MIX_UNITS: dict[str, str] = {
    "news": "tin",
    "article": "bài viết",
    "reportage": "phóng sự",
    "announcement": "thông báo",
    "segment": "bản chuyên mục thu sẵn",
}
MAX_PROGRAMME_LINES = 15  # a province report names the first programmes; the XLSX lists them all


def mix_text(mix: MixRange) -> str:
    """'3-5 tin, 6-7 bài viết'; '04 tin' when every airing had as many; 'không quá 01 phóng sự' when
    some airings had none."""
    parts = []
    for kind, low, high in mix:
        unit = MIX_UNITS.get(kind)
        if unit is None or not high:
            continue
        if low == high:
            parts.append(f"{count_text(high)} {unit}")
        elif low == 0:
            parts.append(f"không quá {count_text(high)} {unit}")
        else:
            parts.append(f"{low}-{high} {unit}")
    return ", ".join(parts)


def in_sentence(schedule: str) -> str:
    """A schedule's words (``loa.schedule.wording.describe``, capitalised to stand alone) inside a
    sentence: 'hằng ngày lúc 06:00', 'thứ Hai thứ ba trong tháng lúc 07:00'."""
    return schedule[:1].lower() + schedule[1:]


def airs_when(schedule: str) -> str:
    """'phát vào thứ Hai thứ ba trong tháng lúc 07:00', 'phát hằng ngày lúc 06:00'."""
    words = in_sentence(schedule)
    return f"phát vào {words}" if words.startswith(("thứ ", "chủ nhật", "ngày ")) else f"phát {words}"


def named(p: ProgrammeRow) -> str:
    """'chuyên mục «Bản tin sáng»'; a name that already says it, alone: '«Chuyên mục CCHC»'."""
    return f"«{p.name}»" if p.name.casefold().startswith("chuyên mục") else f"chuyên mục «{p.name}»"


def aired(programmes: Sequence[ProgrammeRow]) -> list[ProgrammeRow]:
    return [p for p in programmes if p.played_airings]


def plan_differs(p: ProgrammeRow) -> bool:
    """Whether the plan says more than what aired: airings planned that did not air (or are still to
    come), or airings planned with other lines than those played."""
    return p.scheduled_airings != p.played_airings or p.planned_mix != p.aired_mix


def inline_details(programmes: Sequence[ProgrammeRow]) -> str:
    """For one programme aired, the clause closing the radio sentence, as the reference writes it:
    ', phát vào thứ Hai thứ ba trong tháng lúc 07:00 (mỗi chuyên mục 3-5 tin, 6-7 bài viết)'. With
    several, the clause is empty and each has its own line (``programme_lines``)."""
    shown = aired(programmes)
    if len(shown) != 1:
        return ""
    p = shown[0]
    text = f", {airs_when(p.schedule)}" if p.schedule else ""
    mix = mix_text(p.aired_mix)
    return f"{text} (mỗi chuyên mục {mix})" if mix else text


def _plan_words(p: ProgrammeRow) -> str:
    """'12 buổi (02 buổi chưa đến giờ phát), mỗi buổi 4-5 tin, 6-7 bài viết': the plan of the period."""
    text = f"{count_text(p.scheduled_airings)} buổi"
    upcoming = p.scheduled_airings - p.due_airings
    if upcoming > 0:
        text += f" ({count_text(upcoming)} buổi chưa đến giờ phát)"
    planned = mix_text(p.planned_mix)
    if planned and p.planned_mix != p.aired_mix:
        text += f", mỗi buổi {planned}"
    return text


def programme_lines(programmes: Sequence[ProgrammeRow]) -> list[str]:
    """One line per programme aired, when there are several, or when the one programme's plan says
    more than what aired: '+ «Bản tin sáng» (hằng ngày lúc 06:00): đã phát 10 buổi, mỗi buổi 01 tin;
    kế hoạch 31 buổi (21 buổi chưa đến giờ phát).'"""
    shown = aired(programmes)
    if not shown or (len(shown) == 1 and not plan_differs(shown[0])):
        return []
    if len(shown) == 1:
        p = shown[0]
        return [
            f"Theo kế hoạch trong kỳ, {named(p)} có {_plan_words(p)}; số chuyên mục nêu trên "
            "chỉ tính các buổi có biên nhận đã phát của cụm loa."
        ]
    lines = []
    for p in shown[:MAX_PROGRAMME_LINES]:
        when = f" ({in_sentence(p.schedule)})" if p.schedule else ""
        mix = mix_text(p.aired_mix)
        text = f"+ «{p.name}»{when}: đã phát {count_text(p.played_airings)} buổi"
        if mix:
            text += f", mỗi buổi {mix}"
        if plan_differs(p):
            text += f"; kế hoạch {_plan_words(p)}"
        lines.append(text + ".")
    if len(shown) > MAX_PROGRAMME_LINES:
        rest = len(shown) - MAX_PROGRAMME_LINES
        lines.append(f"+ Và {count_text(rest)} chuyên mục khác (chi tiết tại bảng số liệu kèm theo).")
    return lines
