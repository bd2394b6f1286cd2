"""The SMS trigger: a short signed text that makes a loudspeaker play its pre-positioned warning clip
for a risk level (or stop) when the data network is down (docs/protocol.md "SMS trigger",
docs/security.md "SMS trigger").

Text (one SMS, typed on any phone)::

    LOA <action> <counter> <code>      e.g.  LOA 4 1796198400 K7QF2MXA9D

* ``action``: ``1``…``5`` plays the clip of that risk level, repeated until stopped; ``0`` stops.
* ``counter``: UNIX seconds when it was composed — a counter that only grows, so a device accepts a
  code only if its counter is above the last one it accepted (a replayed SMS is refused) and within
  ``MAX_SKEW_S`` of its own clock (an old code kept in someone's phone is refused too).
* ``code``: the first 50 bits of HMAC-SHA256(device key, ``loa-sms-v1|<device id>|<action>|<counter>``)
  in RFC 4648 base32 (10 letters/digits, no padding, case-insensitive). A guess succeeds once in 2^50.

The text is read in ASCII only: at most ``MAX_TEXT_CHARS`` characters, all ASCII, ASCII blanks between
the parts, ASCII digits, ASCII letters compared case-insensitively as bytes. (Unicode matching would let
a Kelvin sign stand for ``K``, a long s for ``S``, full-width digits for digits.)

The device key is per loudspeaker: HMAC-SHA256(server master key, ``loa-sms-key-v1|<device id>``),
given to the device at enrolment and never sent again; the server re-derives it to compose a code.

Only the standard library: the device agent imports this module."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "LOA"
MAX_SKEW_S = 6 * 3600  # the device's clock may drift while it is cut off
CODE_CHARS = 10
STOP = 0
ACTIONS = frozenset(range(0, 6))
MAX_TEXT_CHARS = 160  # one GSM 7-bit SMS; a trigger is about 30
# re.ASCII: \s and \d are ASCII only, and IGNORECASE folds ASCII letters only.
_TEXT = re.compile(r"\s*LOA\s+([0-5])\s+([0-9]{9,11})\s+([A-Z2-7]{10})\s*", re.ASCII | re.IGNORECASE)


class SmsRefused(Exception):
    """A text that must not play anything; ``code`` is stable (counted and reported by the agent)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def device_key(master: bytes, device_id: str) -> bytes:
    return hmac.new(master, f"loa-sms-key-v1|{device_id}".encode(), hashlib.sha256).digest()


def _code(key: bytes, device_id: str, action: int, counter: int) -> str:
    mac = hmac.new(key, f"loa-sms-v1|{device_id}|{action}|{counter}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:7]).decode()[:CODE_CHARS]


def compose(key: bytes, device_id: str, action: int, counter: int) -> str:
    if action not in ACTIONS:
        raise ValueError("action must be 0 (stop) or a risk level 1–5")
    return f"{PREFIX} {action} {counter} {_code(key, device_id, action, counter)}"


@dataclass(frozen=True)
class Trigger:
    action: int  # 0 stop, 1–5 the level whose clip plays
    counter: int


def verify(text: str, *, key: bytes, device_id: str, last_counter: int, now_s: int) -> Trigger:
    """The trigger a text carries, if it is well formed, signed for this device, newer than the last
    one accepted and close to now; else ``SmsRefused`` (not_a_trigger, forged, replayed, stale)."""
    match = _TEXT.fullmatch(text) if len(text) <= MAX_TEXT_CHARS and text.isascii() else None
    if match is None:
        raise SmsRefused("not_a_trigger")
    action, counter, given = int(match[1]), int(match[2]), match[3].upper().encode("ascii")
    if not hmac.compare_digest(given, _code(key, device_id, action, counter).encode("ascii")):
        raise SmsRefused("forged")
    if counter <= last_counter:
        raise SmsRefused("replayed")
    if abs(now_s - counter) > MAX_SKEW_S:
        raise SmsRefused("stale")
    return Trigger(action, counter)
