"""Repeated "play now" messages (an emergency repeated until cancelled): each round comes ``gap`` after
the previous one ended, as its own item (``itemids.round_item``) with its own receipt, until a stop."""

from __future__ import annotations

import dataclasses

from loa.protocol import itemids
from loa.protocol.device.items import Finished, PlayItem
from loa.protocol.device.playout import Playout


@dataclasses.dataclass
class _Repeat:
    first: PlayItem
    gap_ms: int
    current_id: str
    rounds: int = 1


class Repeats:
    def __init__(self, playout: Playout) -> None:
        self.playout = playout
        self._by_first: dict[str, _Repeat] = {}  # first round's id → its repetition

    def start(self, first: PlayItem, gap_ms: int) -> None:
        self._by_first[first.id] = _Repeat(first, gap_ms, current_id=first.id)

    def end_all(self, now: int, *, stop_sounding: bool) -> None:
        """No repeated message comes round again; the sounding item is cut if ``stop_sounding``, or
        if it is itself a round of a repeated message."""
        rounds = {i for k, r in self._by_first.items() for i in (k, r.current_id)}
        self._by_first.clear()
        self.playout.cancel_unheard(rounds)
        playing = self.playout.playing
        if playing is not None and (stop_sounding or playing.id in rounds):
            self.playout.stop_sounding(now)

    def after(self, done: Finished, now: int) -> bool:
        """The next round of a repeated message ``gap`` after this one ended (not after a stop);
        True when one was added."""
        base = next((k for k, r in self._by_first.items() if r.current_id == done.item.id), None)
        if base is None:
            return False
        if done.detail == "by:operator_stop":
            del self._by_first[base]
            return False
        repeat = self._by_first[base]
        repeat.rounds += 1
        item = repeat.first._replace(
            id=itemids.round_item(base, repeat.rounds), start_ms=now + repeat.gap_ms, not_after_ms=None
        )
        repeat.current_id = item.id
        self.playout.add(item, now)
        return True
