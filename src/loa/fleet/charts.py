"""Small line charts drawn on the server as inline SVG (no script, no CDN): the device page's health
history. Pure: points in, SVG text out (escaped; only numbers and fixed words go in)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from markupsafe import Markup

from loa.accounts.logic import VIETNAM_TZ
from loa.vocab.numbers import number_text

WIDTH, HEIGHT, PAD = 640, 150, 34


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    svg: Markup
    latest: str  # the last value in words, "—" when none


def line_chart(
    title: str, unit: str, points: Sequence[tuple[datetime, float | None]], *, digits: int = 0
) -> Chart:
    known = [(at, value) for at, value in points if value is not None]
    latest = f"{number_text(known[-1][1], digits)} {unit}" if known else "—"
    label = escape(f"{title} ({unit})")
    if len(known) < 2:
        empty = (
            f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" class="health-chart">'
            f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">Chưa đủ số liệu</text></svg>'
        )
        return Chart(title, unit, Markup(empty), latest)
    t0, t1 = known[0][0].timestamp(), known[-1][0].timestamp()
    low, high = min(v for _, v in known), max(v for _, v in known)
    if high == low:
        low, high = low - 1, high + 1
    span_t = max(t1 - t0, 1.0)

    def x(at: datetime) -> float:
        return PAD + (at.timestamp() - t0) / span_t * (WIDTH - 2 * PAD)

    def y(value: float) -> float:
        return HEIGHT - PAD + (low - value) / (high - low) * (HEIGHT - 2 * PAD)

    line = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in known)
    first = known[0][0].astimezone(VIETNAM_TZ).strftime("%d/%m %H:%M")
    last = known[-1][0].astimezone(VIETNAM_TZ).strftime("%d/%m %H:%M")
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" class="health-chart">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#1a5fb4" stroke-width="2" points="{line}"/>'
        f'<text x="2" y="{PAD - 4:.0f}" font-size="11">{escape(number_text(high, digits))}</text>'
        f'<text x="2" y="{HEIGHT - PAD:.0f}" font-size="11">{escape(number_text(low, digits))}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{first}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{last}</text>'
        "</svg>"
    )
    return Chart(title, unit, Markup(svg), latest)
