"""The agent's link to the broker, as a technician on site needs to see it.

A loudspeaker that cannot log in to the broker hears no command; without a word in its log nobody
knows why. Every failed attempt is classified (``not_authorised``, ``refused``, ``unreachable``); a
change of state is logged once — at WARNING when it goes wrong, at INFO when it comes back — and
written to ``link.json`` in the data directory (only on a change: no flash wear per attempt), which
``python -m loa.agent --config FILE --status`` prints in Vietnamese.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt

from loa.agent.storage import read_json, write_json

log = logging.getLogger(__name__)

LINK_FILE = "link.json"
_NOT_AUTHORISED = {4, 5, 134, 135}  # MQTT 3.1.1 CONNACK 4/5, and paho's MQTT 5 reason codes for them

# state → (what the log says, what the technician reads)
STATES: dict[str, tuple[str, str]] = {
    "connected": ("connected to the broker", "Đã kết nối với máy chủ tin nhắn (MQTT)."),
    "not_authorised": (
        "cannot connect to the broker: not authorised",
        "Không kết nối được máy chủ tin nhắn (MQTT): máy chủ từ chối tên đăng nhập hoặc mật khẩu "
        "của cụm loa. Cần đăng ký lại cụm loa bằng mã đăng ký mới.",
    ),
    "refused": (
        "cannot connect to the broker: refused",
        "Không kết nối được máy chủ tin nhắn (MQTT): máy chủ từ chối kết nối.",
    ),
    "unreachable": (
        "cannot connect to the broker: unreachable",
        "Không kết nối được máy chủ tin nhắn (MQTT): không tới được máy chủ (kiểm tra mạng).",
    ),
    "lost": ("lost the broker", "Mất kết nối với máy chủ tin nhắn (MQTT), đang thử kết nối lại."),
}


def classify(err: aiomqtt.MqttError) -> str:
    """The state a failed connection attempt puts the link in."""
    if isinstance(err, aiomqtt.MqttCodeError):
        code = getattr(err.rc, "value", err.rc)
        if code in _NOT_AUTHORISED:
            return "not_authorised"
        return "refused"
    return "unreachable"


class BrokerLink:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LINK_FILE
        self.state: str | None = None
        self.failures = 0  # failed attempts since the last connection (in memory only)

    def connected(self) -> None:
        self.failures = 0
        self._enter("connected", logging.INFO)

    def failed(self, err: aiomqtt.MqttError, *, was_connected: bool) -> None:
        """A connection attempt failed, or (``was_connected``) the session ended."""
        self.failures += 1
        state = "lost" if was_connected else classify(err)
        self._enter(state, logging.WARNING, detail=str(err))

    def _enter(self, state: str, level: int, detail: str = "") -> None:
        if state == self.state:
            return
        self.state = state
        text = STATES[state][0]
        if detail:
            log.log(level, "%s (%s)", text, detail)
        else:
            log.log(level, "%s", text)
        write_json(
            self.path, {"state": state, "since": datetime.now(UTC).isoformat(), "detail": detail[:200]}
        )


def describe(data_dir: Path) -> str:
    """What ``--status`` prints: the link's last state, in Vietnamese, and since when."""
    raw = read_json(data_dir / LINK_FILE)
    if not isinstance(raw, dict) or raw.get("state") not in STATES:
        return "Chưa có thông tin kết nối máy chủ tin nhắn (tác tử chưa chạy lần nào)."
    since = str(raw.get("since", ""))[:19].replace("T", " ")
    return f"{STATES[str(raw['state'])][1]} (từ {since} UTC)"


class BrokerList:
    """Where the agent connects: the enrolled (or configured) broker, then ``mqtt_brokers`` of a
    cluster. A lost or refused connection moves to the next node at once; the backoff grows only
    after a whole round of nodes has failed, so a device whose node dies reconnects to another one
    within a second or two and finds its session there (the cluster keeps it)."""

    def __init__(self, first: tuple[str, int], more: list[str]) -> None:
        self.addresses = [first]
        for item in more:
            host, sep, port = item.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"mqtt_brokers: «{item}» không đúng dạng máy:cổng")
            if (host, int(port)) not in self.addresses:
                self.addresses.append((host, int(port)))
        self.index = 0

    @property
    def current(self) -> tuple[str, int]:
        return self.addresses[self.index]

    def next(self) -> None:
        self.index = (self.index + 1) % len(self.addresses)

    def rounds(self, attempt: int) -> int:
        """Failed rounds over every node, for the backoff."""
        return attempt // len(self.addresses)
