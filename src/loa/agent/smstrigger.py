"""What the agent does with a text its modem received (``loa.agent.modem``): a signed SMS trigger
(``loa.protocol.sms``) becomes a command for the device core — play the pre-positioned clip of a risk
level at the emergency rung, repeated until stopped, or stop — exactly as if the server had sent it,
but from the cache alone, with no data network.

Anything else is refused and counted by code in the agent's refused messages (``sms_forged``,
``sms_replayed``, ``sms_stale``, ``sms_no_clip``, …), so the server sees the count in the next status
and a forged attempt is in the log. The last accepted counter is kept on disk (``sms.json``): a
replayed SMS is refused across restarts too."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from loa.agent.storage import read_json, write_json
from loa.protocol import manifest as mf
from loa.protocol import messages as m
from loa.protocol import sms
from loa.protocol.device import signals as s
from loa.protocol.priority import Priority

log = logging.getLogger(__name__)

REPEAT_GAP_S = 30  # between two rounds of a clip triggered by SMS
COMMAND_TTL = timedelta(minutes=10)


class SmsTrigger:
    def __init__(
        self,
        state_path: Path,
        *,
        feed: Callable[[s.Event], None],
        refuse: Callable[[str], None],
        manifest: Callable[[], mf.Manifest | None],
        has_audio: Callable[[str], bool],
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        self.state_path = state_path
        self._feed, self._refuse, self._manifest, self._has_audio = feed, refuse, manifest, has_audio
        self._clock_s = clock_s
        self.device_id: str | None = None
        self.key: bytes | None = None
        raw = read_json(state_path)
        self.last_counter = int(raw.get("last_counter", 0)) if isinstance(raw, dict) else 0

    def adopt(self, device_id: str, key_b64: str | None) -> None:
        self.device_id = device_id
        self.key = base64.b64decode(key_b64) if key_b64 else None

    def received(self, sender: str, text: str) -> bool:
        """Act on one text; True when it played or stopped something. Never raises."""
        if self.key is None or self.device_id is None:
            return self._refused("no_key", sender)
        try:
            trigger = sms.verify(
                text,
                key=self.key,
                device_id=self.device_id,
                last_counter=self.last_counter,
                now_s=int(self._clock_s()),
            )
        except sms.SmsRefused as err:
            return self._refused(err.code, sender)
        now = m.now_utc()
        command: m.PlayNow | m.Stop
        if trigger.action == sms.STOP:
            command = m.Stop(id=f"sms-{trigger.counter}", issued_at=now, expires_at=now + COMMAND_TTL)
        else:
            manifest = self._manifest()
            clip = manifest.clip_for(trigger.action) if manifest is not None else None
            if clip is None or clip.audio.sha256 is None or not self._has_audio(clip.audio.sha256):
                return self._refused("no_clip", sender)
            command = m.PlayNow(
                id=f"sms-{trigger.counter}",
                issued_at=now,
                expires_at=now + COMMAND_TTL,
                args=m.PlayNowArgs(
                    audio_sha256=clip.audio.sha256,
                    priority=int(Priority.EMERGENCY),
                    title=clip.title,
                    repeat_gap_s=REPEAT_GAP_S,
                ),
            )
        # Kept before acting: a crash right after must not let the same SMS play twice.
        self.last_counter = trigger.counter
        write_json(self.state_path, {"last_counter": trigger.counter})
        log.warning(
            "SMS trigger from %s accepted: %s",
            _masked(sender),
            "stop" if trigger.action == 0 else f"level {trigger.action}",
        )
        self._feed(s.Received(command))
        return True

    def _refused(self, code: str, sender: str) -> bool:
        log.warning("SMS from %s refused: %s", _masked(sender), code)
        self._refuse(f"sms_{code}")
        return False


def _masked(number: str) -> str:
    """A phone number in the log without its middle digits."""
    return number[:4] + "…" + number[-3:] if len(number) > 7 else "…"
