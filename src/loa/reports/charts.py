"""Charts drawn on the server as inline SVG (no JavaScript, nothing fetched): horizontal bar charts
whose bars link to the records behind them. Pure: values in, markup out; every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from loa.vocab.numbers import count_text

ROW_HEIGHT = 26
LABEL_WIDTH = 210
VALUE_WIDTH = 70
MAX_LABEL_CHARS = 30
PALETTE = ("#b3261e", "#0b4a8b", "#1f7a3a", "#8a4b00", "#5b3a8c", "#0d5c55")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    href: str = ""
    note: str = ""  # tooltip; defaults to "label: value"


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def bar_chart(
    bars: Sequence[Bar], *, title: str, width: int = 600, colour: str = PALETTE[0], test_id: str = ""
) -> Markup:
    """One horizontal bar per item, scaled to the largest value; a zero is drawn as a hairline."""
    height = ROW_HEIGHT * max(len(bars), 1) + 8
    track = max(width - LABEL_WIDTH - VALUE_WIDTH, 40)
    top = max((b.value for b in bars), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{escape(title)}"'
        + (f' data-testid="{escape(test_id)}"' if test_id else "")
        + ">",
        f"<title>{escape(title)}</title>",
    ]
    if not bars:
        parts.append(f'<text x="0" y="18" fill="#5d6778">{escape("Không có số liệu.")}</text>')
    for i, bar in enumerate(bars):
        y = 4 + i * ROW_HEIGHT
        length = 1.0 if top == 0 or bar.value == 0 else max(track * bar.value / top, 2.0)
        note = bar.note or f"{bar.label}: {count_text(bar.value)}"
        row = (
            f"<g><title>{escape(note)}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" font-size="13">'
            f"{escape(_short(bar.label))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{ROW_HEIGHT - 10}" '
            f'fill="{colour}" rx="2"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 16}" font-size="13" font-weight="600">'
            f"{escape(count_text(bar.value))}</text></g>"
        )
        if bar.href and bar.value:
            row = f'<a href="{escape(bar.href)}">{row}</a>'
        parts.append(row)
    parts.append("</svg>")
    return Markup("".join(parts))
