"""What arrives from the broker, made into events for the device core — or refused.

Whatever a message holds, it never ends the agent (issue 21.1): one that is not a valid message (not
bytes, not JSON, too large, wrong types, a group command without the server's signature) is refused
and counted by code (``refused``, in every status) and logged at the first of each code and then at
every power of two, so a flood does not flood the log; a failure while handling one is logged and
counted (``errors``).
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Callable

from loa.agent.config import Identity
from loa.protocol import group
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.topics import Topics

log = logging.getLogger(__name__)


class Inbox:
    def __init__(self, feed: Callable[[s.Event], None], changed: Callable[[], None]) -> None:
        """``feed``: hand an event to the core; ``changed``: a status is due (a count changed)."""
        self._feed = feed
        self._changed = changed
        self.identity: Identity | None = None
        self.topics = Topics()
        self.errors = 0  # messages whose handling failed (logged; the agent carries on)
        self.refused: Counter[str] = Counter()  # by code: not a valid message (ignored)

    def adopt(self, identity: Identity, topics: Topics) -> None:
        self.identity, self.topics = identity, topics

    def deliver(self, topic: str, payload: object) -> None:
        """One message from the broker; never raises."""
        if self.identity is None:
            return
        try:
            if not isinstance(payload, bytes | bytearray):
                raise m.ProtocolError("not_bytes", type(payload).__name__)
            event = self._event_of(topic, bytes(payload), self.identity)
            if event is not None:
                self._feed(event)
        except m.ProtocolError as err:
            self._refuse(topic, err.code)
        except Exception:
            self.errors += 1
            self._changed()
            log.exception("message on %s not handled", topic)

    def refuse(self, code: str) -> None:
        """Count a refusal that did not come from the broker (e.g. an SMS trigger, ``sms_forged``)."""
        self._refuse("sms", code)

    def _refuse(self, topic: str, code: str) -> None:
        self.refused[code] += 1
        n = self.refused[code]
        if n & (n - 1) == 0:  # 1, 2, 4, 8 …
            log.warning("ignored a message on %s: %s (%d so far)", topic, code, n)
        self._changed()

    def _event_of(self, topic: str, payload: bytes, ident: Identity) -> s.Event | None:
        """The core's event for one message, None for one not meant for this device; raises
        ``ProtocolError`` for one that is not a valid message."""
        if self.topics.is_group_cmd(topic):
            # A command on a shared group topic: only the server's signature makes it trustworthy.
            return s.GroupReceived(group.open_sealed(payload, base64.b64decode(ident.manifest_public_key)))
        parsed = self.topics.parse(topic)
        if parsed is None or parsed[0] != ident.device_id:
            return None  # someone else's retained message (amqtt 0.12): ignore it
        return s.Received(m.parse_server_message(parsed[1], payload))
