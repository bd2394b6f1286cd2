"""The agent's configuration file (TOML) and its identity (written at enrolment, kept secret)."""

from __future__ import annotations

import ssl
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loa.agent.switch import OutputSwitchConfig


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_url: str = Field(description="Base URL of the Loa server, e.g. https://loa.example.vn")
    data_dir: Path = Path("/var/lib/loa-agent")
    enrol_code: str | None = Field(default=None, description="One-time code; needed only once.")
    mqtt_host: str | None = None  # override what enrolment said (e.g. a public name)
    mqtt_port: int | None = None
    # More nodes of a broker cluster ("host:port"), tried in turn after the first when it is lost.
    mqtt_brokers: list[str] = Field(default_factory=list)
    mqtt_tls: bool | None = None  # override what enrolment said
    # CA bundle (PEM) that signed the broker's certificate; default: the system's trusted CAs.
    mqtt_ca_file: Path | None = None
    mqtt_keepalive_s: int = Field(default=30, ge=5, le=3600)
    heartbeat_s: int = Field(default=30, ge=1, le=3600)
    # A burst of changes (a command, a pre-emption, a volume change) is reported in one status this
    # long after the first: fewer messages on 4G, and none in the way of the command's own answer.
    status_coalesce_s: float = Field(default=1.0, ge=0, le=60)
    sink: Literal["aplay", "file", "null"] = "aplay"
    sink_dir: Path | None = None
    alsa_device: str | None = None
    daily_data_budget_mb: float | None = Field(default=None, ge=0)
    resend_receipts_after_s: float = Field(default=20.0, gt=0)
    sync_interval_s: float = Field(default=900.0, gt=0)
    download_horizon_s: int = Field(default=36 * 3600, gt=0)
    reconnect_max_s: float = Field(default=120.0, gt=0)
    firmware: str = "loa-agent/0.1"
    # Stream items (live, relay): audio held before the speaker starts (the jitter buffer; the delay
    # from the source is about this plus the server's), and the longest wait between retries.
    stream_buffer_ms: int = Field(default=500, ge=100, le=5000)
    stream_retry_max_s: float = Field(default=10.0, gt=0, le=300)
    # An amplifier or an FM/wired transmitter turned on before playing and off after (``[output_switch]``).
    output_switch: OutputSwitchConfig | None = None
    # Where agent releases are installed, one slot per version (``loa.agent.launch``); unset: the
    # agent refuses ``update`` (``not_supported``). Run it with ``loa-agent-launch --root`` this.
    install_root: Path | None = None
    # The release-signing public key (base64), if not the one enrolment gave (pinned either way).
    release_public_key: str | None = None
    # The GSM modem's serial port (e.g. /dev/ttyUSB2): signed SMS triggers play the pre-positioned
    # warning clips when the data network is down (loa.agent.modem, docs/agent.md). None: no modem.
    modem_device: Path | None = None

    @classmethod
    def load(cls, path: Path) -> AgentConfig:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
        config = cls.model_validate(raw)
        if not config.data_dir.is_absolute():
            config = config.model_copy(update={"data_dir": (path.parent / config.data_dir).resolve()})
        if config.install_root is not None and not config.install_root.is_absolute():
            config = config.model_copy(update={"install_root": (path.parent / config.install_root).resolve()})
        if config.mqtt_ca_file is not None:
            ca_file = config.mqtt_ca_file
            if not ca_file.is_absolute():
                ca_file = (path.parent / ca_file).resolve()
                config = config.model_copy(update={"mqtt_ca_file": ca_file})
            try:  # a missing or unreadable CA bundle is a configuration error, not a crash later
                ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as err:
                raise ValueError(f"mqtt_ca_file {ca_file}: không đọc được chứng chỉ CA ({err})") from err
        return config


class Identity(BaseModel):
    """What enrolment returned. Stored 0600 in the data dir; the secret never leaves the device."""

    model_config = ConfigDict(extra="ignore")

    device_id: str
    device_name: str = ""
    secret: str
    mqtt_host: str
    mqtt_port: int
    mqtt_tls: bool = False
    topic_prefix: str = "loa"
    manifest_public_key: str  # base64, pinned
    release_public_key: str | None = None  # base64, pinned: signs agent releases (not manifests)
    groups: list[str] = []  # commune group codes at enrolment (the manifest names them afterwards)
    sms_key: str | None = None  # base64: this device's key for SMS triggers (loa.protocol.sms)
