"""docs/reporting.md states the counting rules in a table — figure, records behind it, rule — and the
table names every figure a report can carry (issue 19, "What it must show"): a figure added to a
channel without its rule fails here."""

from __future__ import annotations

from pathlib import Path

from loa.activities.registers import REGISTERS
from loa.reports.airtime import PORTAL_KINDS, RADIO_KINDS
from loa.reports.statistics import channel_figures

DOC = Path(__file__).resolve().parents[2] / "docs" / "reporting.md"
# How the table's first column names each channel (a row, or the "—" rows right after it).
CHANNEL_WORDS = {
    "radio": "Truyền thanh",
    "portal": "Cổng thông tin",
    "press": "Cộng tác báo chí",
    "visual": "Tuyên truyền trực quan",
    "mobile": "Xe thông tin lưu động",
    "events": "Hội nghị, sự kiện",
    "feedback": "Ý kiến người dân",
}
# The broadcast figures of pages, workbook and document (``loa.reports.airdata``).
BROADCAST_FIGURES = (
    "Lượt đã phát",
    "Ngoài kế hoạch",
    "Kế hoạch, kế hoạch đã đến giờ",
    "Tỷ lệ thực hiện",
    "Phát dở, Lỗi",
    "Giờ phát sóng",
    "Cụm loa đã phát / kế hoạch",
)


def _table() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Figures, records, rules", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, rule, *rows = lines
    assert [c.strip() for c in header.strip("|").split("|")] == ["figure", "records behind it", "rule"]
    assert set(rule.replace("|", "")) == {"-"}
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert all(len(c) == 3 and c[1] and c[2] for c in cells), "every figure names its records and rule"
    return cells


def _channel_text(rows: list[list[str]], channel: str) -> str:
    """The figure cells of a channel's rows: those naming it and the "— …" rows that follow them."""
    out, inside = [], False
    for figure, _, _ in rows:
        if figure.startswith(CHANNEL_WORDS[channel]):
            inside = True
        elif not figure.startswith("—"):
            inside = False
        if inside:
            out.append(figure)
    assert out, f"no row for {channel}"
    return " ".join(out).casefold()


def _labels() -> dict[str, list[str]]:
    labels = {
        "radio": [k.label for k in RADIO_KINDS],
        "portal": [k.label for k in PORTAL_KINDS],
        "feedback": ["Nhận được", "Đã trả lời", "Trả lời đúng hạn"],
    }
    for spec in REGISTERS.values():
        if spec.channel in ("radio", "portal"):
            continue
        figures = channel_figures(spec, [])
        if spec.channel == "events":  # one row "(by kind)" for the kinds, then the participants
            labels["events"] = ["by kind", "Người tham dự"]
            continue
        labels[spec.channel] = [f.label for f in figures]
    return labels


def test_the_table_names_every_figure_with_its_records_and_rule() -> None:
    rows = _table()
    for channel, labels in _labels().items():
        text = _channel_text(rows, channel)
        for label in labels:
            assert label.casefold() in text, f"{channel}: {label}"
    figures = " ".join(r[0] for r in rows).casefold()
    for name in (
        *BROADCAST_FIGURES,
        "Mỗi chuyên mục gồm",
        "Đánh giá chung",
        "Device day page",
        "Statistics page",
    ):
        assert name.casefold() in figures, name
