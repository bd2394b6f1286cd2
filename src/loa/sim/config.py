"""What a simulated loudspeaker is told (``SimConfig``), who it is (``SimIdentity``) and what a fleet
of them counts (``SimStats``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from loa.protocol.topics import Topics


@dataclass(frozen=True)
class SimIdentity:
    uid: str
    secret: str


@dataclass(frozen=True)
class SimConfig:
    host: str
    port: int
    topics: Topics
    heartbeat_s: float = 30.0
    play_s: float = 10.0  # a "play now" whose audio length no manifest gives
    resend_receipts_after_s: float = 20.0
    reconnect_max_s: float = 60.0
    # Benchmarks: a plain topic every device also subscribes to (at QoS 1: the publisher's QoS decides)
    fanout_topic: str | None = None
    anonymous: bool = False  # a broker without authentication (e.g. Mosquitto in CI)
    # The server's Ed25519 public key (raw 32 bytes): group commands and manifests are verified with
    # it; without it the simulator does not subscribe to group topics.
    server_public_key: bytes | None = None
    # A change (started, stopped, volume) is reported this long after it happens, several changes
    # in one status: the agent's ``status_coalesce_s`` default.
    change_status_delay_s: float = 1.0
    # The Loa server (e.g. "http://127.0.0.1:8000") to fetch manifests from; None: commands only.
    server_url: str | None = None
    # Stream items: give up a connection that brings nothing for this long; the longest retry wait.
    stream_connect_timeout_s: float = 5.0
    stream_stall_s: float = 2.5
    stream_retry_max_s: float = 10.0


@dataclass
class SimStats:
    connected: int = 0
    connects: int = 0
    connect_failures: int = 0
    commands: int = 0
    expired: int = 0
    receipts_sent: int = 0
    receipts_acked: int = 0
    manifests: int = 0  # manifests accepted
    fanout_latencies_s: list[float] = field(default_factory=list)
    group_refused: int = 0  # group commands with a bad signature or payload
    stream_connects: int = 0  # connections to stream URLs that answered
    stream_drops: int = 0  # ... that ended or failed while the item sounded
    stream_bytes: int = 0
