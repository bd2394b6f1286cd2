"""The priority scale and pre-emption rules shared by the server and the loudspeaker agent.

One numeric scale (0–1000, the range the MQTT messages accept): a higher number pre-empts a lower one.
Rungs are spaced so that a later refinement (e.g. a province emergency above a commune emergency) can sit
between them without renumbering. Labels, colours and the mapping of the three regulated bulletin
priorities live in ``loa.vocab.ladder``; only the numbers and rule codes travel on the wire.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

PRIORITY_MIN = 0
PRIORITY_MAX = 1000


class Priority(IntEnum):
    """The rungs of the ladder: emergency > live > priority bulletin > scheduled > background > silence."""

    SILENCE = 0
    BACKGROUND = 100
    SCHEDULED = 300
    PRIORITY_BULLETIN = 500
    LIVE = 700
    EMERGENCY = 900


class PreemptRule(StrEnum):
    """What an item does when something higher takes the loudspeaker away from it."""

    RESUME = "resume"  # continue where it stopped, if its window (not_after) still allows
    RESTART = "restart"  # play again from the beginning, only if it still fits in its window
    SKIP = "skip"  # give up; never comes back
