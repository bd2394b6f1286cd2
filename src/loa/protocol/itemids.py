"""Manifest and play item ids: the one place they are built and parsed. Pure, standard library only.

An item id travels from the server (manifest, "play now") to the loudspeaker and back in every play
receipt, so the reports can say which programme airing, announcement, command or emergency message a
receipt is evidence of. The grammar (at most 64 characters of ``[A-Za-z0-9_.:-]``, the protocol's
``Identifier``):

==================================  =====================================================================
``p.<programme>.<airing>.<line>``    a running-order line of a programme airing; ``<airing>`` is the
                                     airing's UTC start as ``YYYYMMDDTHHMMZ``; ``<line>`` the bulletin;
                                     ``.<n>`` appended for the n-th repeat of a bulletin in one airing
``f.<programme>.<airing>.<line>``    a line of a programme's fallback playlist, played (at the background
                                     rung) in an airing that had nothing else; same parts as ``p.``
``a.<announcement>``                 a one-off announcement
``e.<alert>``                        an emergency alert (``loa.alerts``): its first round, carried both by
                                     the "play now" command and by the manifest, whose later rounds are
                                     ``e.<alert>.r<n>`` at fixed times (``alert_round_item``)
``cmd-<command>``                    a "play now" command that named no item (the device makes it up)
``<base>.r<n>``                      the n-th round (n ≥ 2) of a repeated "play now" whose first round was
                                     ``<base>``
==================================  =====================================================================

Programme, announcement and bulletin parts are the record's id when it is short and plain (``_SAFE``),
else the first 12 hex digits of its SHA-256: an id from elsewhere never breaks the grammar.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import NamedTuple

MAX_ITEM_ID = 64
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_PROGRAMME_ITEM = re.compile(r"^([pf])\.(\d{1,12})\.(\d{8}T\d{4}Z)\.([A-Za-z0-9_-]{1,16})(?:\.(\d+))?$")
_ANNOUNCEMENT_ITEM = re.compile(r"^a\.(\d{1,12})(?:-[A-Za-z0-9_-]+)?$")
_ALERT_ITEM = re.compile(r"^e\.(\d{1,12})$")
_ROUND = re.compile(r"^(.+)\.r(\d{1,6})$")
COMMAND_PREFIX = "cmd-"
_COMMAND_ID_CHARS = 24
_REPEAT_BASE_CHARS = 56  # leaves room for ".r" and six digits within MAX_ITEM_ID


class ItemRef(NamedTuple):
    """What an item id names. A named tuple: a province-year's receipts name tens of thousands of items.

    ``programme_id``/``airing``/``bulletin_id`` for a running-order line, ``announcement_id`` for a
    one-off, ``command`` for a made-up "play now" id; ``round`` is 1 except for the later rounds of a
    repeated message (whose other fields are those of the first round). ``fallback`` marks a line of a
    programme's fallback playlist: evidence that the airing had nothing of its own."""

    programme_id: int | None = None
    airing: str = ""  # "%Y%m%dT%H%MZ" of the airing in UTC
    bulletin_id: int | None = None
    announcement_id: int | None = None
    command: str = ""  # the command id part of "cmd-<command>"
    round: int = 1
    fallback: bool = False
    alert_id: int | None = None  # an emergency alert's round


def safe_part(text: str) -> str:
    """An id part that fits the grammar: the text itself, or a short hash of it."""
    return text if _SAFE.match(text) else hashlib.sha256(text.encode()).hexdigest()[:12]


def airing_stamp(at: datetime) -> str:
    """The airing part of an item id, for an aware UTC instant."""
    return f"{at:%Y%m%dT%H%MZ}"


def programme_base(programme_id: str, airing_at: datetime, bulletin_id: str) -> str:
    """The id of a running-order line before any repeat suffix (``programme_item`` adds it)."""
    return f"p.{safe_part(programme_id)}.{airing_stamp(airing_at)}.{safe_part(bulletin_id)}"


def programme_item(programme_id: str, airing_at: datetime, bulletin_id: str, repeat: int = 0) -> str:
    """A running-order line; ``repeat`` counts earlier lines of the same bulletin in the airing."""
    base = programme_base(programme_id, airing_at, bulletin_id)
    return f"{base}.{repeat}" if repeat else base


def fallback_item(programme_id: str, airing_at: datetime, bulletin_id: str, repeat: int = 0) -> str:
    """A line of the programme's fallback playlist in an airing that had nothing else."""
    return "f" + programme_item(programme_id, airing_at, bulletin_id, repeat)[1:]


def programme_item_from_stamp(programme_id: int, stamp: str, bulletin_id: int) -> str:
    """The first line of ``bulletin_id`` in the airing ``stamp`` (as ``airing_stamp`` wrote it)."""
    return f"p.{programme_id}.{stamp}.{bulletin_id}"


def announcement_item(announcement_id: str) -> str:
    return f"a.{safe_part(announcement_id)}"


def alert_item(alert_id: int) -> str:
    """The first round of an emergency alert (the id its "play now" names, so that the device's own
    repetition and the manifest's rounds are the same items)."""
    return f"e.{alert_id}"


def alert_round_item(alert_id: int, round_number: int) -> str:
    """Round ``round_number`` (1 = the first) of an emergency alert."""
    base = alert_item(alert_id)
    return base if round_number == 1 else round_item(base, round_number)


def command_item(command_id: str) -> str:
    """The item id a device gives a "play now" that named none."""
    return f"{COMMAND_PREFIX}{command_id[:_COMMAND_ID_CHARS]}"


def round_item(base: str, round_number: int) -> str:
    """Round ``round_number`` (≥ 2) of a repeated message whose first round was ``base``."""
    if round_number < 2:
        raise ValueError("the first round keeps its own id")
    return f"{base[:_REPEAT_BASE_CHARS]}.r{round_number}"


def split_round(item_id: str) -> tuple[str, int]:
    """(first-round id as far as the id keeps it, round number): ``"x.r3"`` → ``("x", 3)``.

    A base longer than ``_REPEAT_BASE_CHARS`` was shortened by ``round_item``: the prefix comes back."""
    found = _ROUND.match(item_id)
    if found and int(found.group(2)) >= 2:
        return found.group(1), int(found.group(2))
    return item_id, 1


def parse(item_id: str) -> ItemRef:
    """What ``item_id`` names; an id of no known form names nothing (all fields empty)."""
    base, round_number = split_round(item_id)
    found = _PROGRAMME_ITEM.match(base)
    if found:
        kind, programme, airing, entry, _repeat = found.groups()
        return ItemRef(
            int(programme),
            airing,
            int(entry) if entry.isdigit() else None,
            round=round_number,
            fallback=kind == "f",
        )
    found = _ANNOUNCEMENT_ITEM.match(base)
    if found:
        return ItemRef(announcement_id=int(found.group(1)), round=round_number)
    found = _ALERT_ITEM.match(base)
    if found:
        return ItemRef(alert_id=int(found.group(1)), round=round_number)
    if base.startswith(COMMAND_PREFIX) and len(base) > len(COMMAND_PREFIX):
        return ItemRef(command=base[len(COMMAND_PREFIX) :], round=round_number)
    return ItemRef(round=round_number)
