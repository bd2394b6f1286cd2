"""Headline numbers of the statistics page: one per channel (the items it produced, without audience
or participant counts, which are people, not items), per area group and in total. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loa.activities.registers import REGISTERS
from loa.reports.data import ChannelSection, Figure
from loa.reports.statistics import CHANNEL_ORDER, AreaGroup
from loa.reports.wording import CHANNEL_TITLES

# Figures that count people or places reached rather than items made.
NOT_ITEMS = frozenset({"mobile.village", "mobile.audience", "events.participants"})
REGISTER_OF_CHANNEL: dict[str, str] = {spec.channel: spec.key for spec in REGISTERS.values()}
NOUN_OF_CHANNEL: dict[str, str] = {spec.channel: spec.noun for spec in REGISTERS.values()}
LEVEL_LABELS: dict[str, str] = {"commune": "Theo xã mới", "former_district": "Theo huyện cũ"}


def headline(channel: str, figures: Iterable[Figure]) -> Figure:
    """The channel's items in one number, with the union of the rows behind them."""
    counted = [f for f in figures if f.key.startswith(f"{channel}.") and f.key not in NOT_ITEMS]
    ids: dict[int | str, None] = {}
    for f in counted:
        ids.update(dict.fromkeys(f.row_ids))
    return Figure(
        f"{channel}.*",
        CHANNEL_TITLES.get(channel, channel),
        sum(f.value for f in counted),
        NOUN_OF_CHANNEL.get(channel, ""),
        tuple(ids),
    )


@dataclass(frozen=True)
class RollupRow:
    key: str
    label: str
    area_id: int | None
    cells: dict[str, Figure]  # channel → headline

    def value(self, channel: str) -> int:
        return self.cells[channel].value


def rollup_rows(groups: Sequence[AreaGroup]) -> list[RollupRow]:
    return [
        RollupRow(g.key, g.label, g.area_id, {c: headline(c, g.figures) for c in CHANNEL_ORDER})
        for g in groups
    ]


def totals_row(rows: Sequence[RollupRow]) -> dict[str, int]:
    return {c: sum(r.value(c) for r in rows) for c in CHANNEL_ORDER}


def channel_headlines(channels: Sequence[ChannelSection]) -> dict[str, Figure]:
    return {c.key: headline(c.key, c.figures) for c in channels}


def find_figure(figures: Iterable[Figure], key: str) -> Figure | None:
    """A figure by key; ``<channel>.*`` is the channel's headline."""
    listed = list(figures)
    if key.endswith(".*"):
        return headline(key[:-2], listed)
    return next((f for f in listed if f.key == key), None)
