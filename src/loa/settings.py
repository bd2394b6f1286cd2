"""Settings, read once in an entry point from the environment (prefix ``LOA_``) or an env file."""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "loa-demo-secret-do-not-use"})
DEMO_SECRET = "loa-demo-secret-do-not-use"
SECRET_MIN_BYTES = 32
DEMO_LOOPBACK_ONLY = (
    "Chế độ trình diễn (LOA_DEMO) chỉ chạy trên địa chỉ nội bộ của máy này (127.0.0.1), "
    "không được mở ra mạng: {name}={host}. Để chạy thật, tắt LOA_DEMO và đặt LOA_SECRET_KEY riêng."
)
_HEX = frozenset("0123456789abcdefABCDEF")
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=")


def is_loopback(host: str) -> bool:
    """True for an address or name that only this machine can reach."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def secret_strength_bytes(secret: str) -> float:
    """How many random bytes a key can hold: its length in its alphabet (hex 4 bits a character,
    base64 6, anything else 8). A key whose characters repeat far more than random ones would
    (``"a" * 64``, ``"0123" * 20``) counts only what its Shannon entropy allows."""
    if not secret:
        return 0.0
    if set(secret) <= _HEX:
        bits_per_char = 4.0
    elif set(secret) <= _BASE64:
        bits_per_char = 6.0
    else:
        bits_per_char = 8.0
    counts = Counter(secret)
    entropy = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    # A random key's measured entropy falls a little short of its alphabet's (a 64-character hex key
    # measures about 3.8 bits a character); 70 % leaves room for that and catches the patterns.
    if entropy >= 0.7 * min(bits_per_char, math.log2(len(secret))):
        return len(secret) * bits_per_char / 8
    return len(secret) * entropy / 8


class Settings(BaseSettings):
    """Everything configurable. Built by ``Settings()`` in ``cli.py``/``app.py``, never at import."""

    model_config = SettingsConfigDict(env_prefix="LOA_", env_file=".env", extra="ignore")

    demo: bool = Field(
        default=False, description="Demo mode: allows the placeholder secret key; loopback addresses only."
    )
    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file and audio store live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in data_dir."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    session_max_age_s: int = 8 * 3600
    token_ttl_s: int = 12 * 3600
    # Login throttling (docs/security.md): failures one account and one address may make before the
    # delays start, how long a failure counts, and the longest delay.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=24 * 3600, ge=60)
    login_max_delay_s: int = Field(default=15 * 60, ge=1)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: "10.0.0.0/8,127.0.0.1".
    trusted_proxies: str = ""
    # Mark cookies Secure on every response, also when the request's scheme looks like plain HTTP
    # (TLS ended by a proxy that is not in trusted_proxies). HTTPS requests always get Secure.
    secure_cookies: bool = False
    locale: Literal["vi", "en"] = "vi"

    # Device messaging (used by the fleet gateway).
    mqtt_mode: Literal["embedded", "external"] = "embedded"
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1884
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_topic_prefix: str = "loa"
    # Where devices reach the broker, as enrolment tells them (default: mqtt_host/mqtt_port; a
    # loopback host is replaced by the server's own name on the device). Over 4G/Internet: the
    # broker's TLS listener (``loa broker config --tls-port``) and mqtt_device_tls = true.
    mqtt_device_host: str | None = None
    mqtt_device_port: int | None = Field(default=None, ge=1, le=65535)
    mqtt_device_tls: bool = False
    # A production Mosquitto's password file (from ``loa broker config``): the gateway keeps it in
    # step with enrolments and signals the pid in mosquitto_pid_file to reload it.
    mosquitto_password_file: Path | None = None
    mosquitto_pid_file: Path | None = None
    # More brokers of the same cluster, tried in turn after mqtt_host:mqtt_port when it is lost
    # ("host:port,host:port"; a NATS cluster's other nodes).
    mqtt_fallback_brokers: str = ""
    # Several ``loa gateway run`` processes share the ingest; each has its own number (1, 2, …) and
    # so its own broker account (``loa broker config --gateways N`` writes them all).
    gateway_index: int = Field(default=1, ge=1, le=99)
    # Where the gateways read what devices publish: the MQTT subscription (shared on Mosquitto), or,
    # on a NATS cluster, JetStream (``loa.fleet.jetstream``) from the servers in nats_urls.
    mqtt_ingest: Literal["mqtt", "jetstream"] = "mqtt"
    nats_urls: str = ""  # "nats://host:4222,nats://host2:4222"
    # A NATS cluster's accounts file (``loa broker nats-config``): gateway 1 keeps it in step with
    # enrolments and signals the pids in nats_pid_files (comma-separated) to reload it.
    nats_accounts_file: Path | None = None
    nats_pid_files: str = ""
    manifest_recompile_interval_s: int = Field(default=3600, ge=1)  # the gateway recompiles manifests
    # History (``loa.fleet.history``): the gateway makes the months ahead's partitions (PostgreSQL) and
    # forgets device status changes older than this many months; play receipts are never forgotten.
    status_log_retention_months: int = Field(default=24, ge=1)
    history_maintenance_interval_s: int = Field(default=6 * 3600, ge=60)
    # Emergency alerts: the lead-in signal before each round, per risk level, where the province wants
    # another than ``loa.alerts.leadin.DEFAULT_BY_LEVEL`` (JSON: {"3": "siren", "1": "none"}; signals:
    # none, chime, alarm, siren); and how often the gateway ends alerts whose expiry has passed.
    alert_lead_ins: dict[int, Literal["none", "chime", "alarm", "siren"]] = Field(default_factory=dict)
    alert_expiry_check_s: float = Field(default=15.0, gt=0)

    # Live broadcast and relay (docs/operations.md): the built-in relay (embedded, at most
    # stream_max_listeners listeners) or Icecast at icecast_url (``loa live icecast-config``).
    # stream_public_url is where loudspeakers open streams (default: this server's /live/stream, or
    # icecast_url); over 4G it must be a public address.
    stream_server: Literal["embedded", "icecast"] = "embedded"
    stream_public_url: str | None = None
    icecast_url: str = "http://127.0.0.1:8010"
    stream_max_listeners: int = Field(default=200, ge=1, le=2000)
    # Where relays pulled by Loa are fed (default: icecast_url, or the built-in relay of this server).
    stream_ingest_url: str | None = None
    # Hosts a relay's outside URL may name although they resolve to a loopback, private or link-local
    # address (comma-separated names or addresses, e.g. the province station's relay on its own
    # network, or 127.0.0.1 for tests). Every other such URL is refused, when scheduled and when the
    # puller connects (SSRF; ``loa.live.relay_url``, docs/security.md).
    relay_allowed_hosts: str = ""

    # Speech.
    tts_engine: Literal["espeak", "piper"] = "espeak"
    tts_voice: str | None = None
    piper_voice_dir: Path | None = None

    # The map (/map). Without a tile URL it draws only what Loa knows (communes, villages, loudspeakers):
    # it works with no network. With one, e.g. a province's own server
    # "https://tiles.example.gov.vn/{z}/{x}/{y}.png", that base layer is drawn under them.
    map_tile_url: str | None = Field(default=None, description="XYZ tile URL template ({z}/{x}/{y}).")
    map_tile_attribution: str = ""
    map_tile_max_zoom: int = Field(default=18, ge=1, le=22)
    map_coverage_radius_m: int = Field(default=300, ge=10, le=5000)  # docs/map.md: why 300 m

    max_upload_bytes: int = 200 * 1024 * 1024
    max_upload_duration_s: int = 3600  # longer recordings are refused (not truncated)

    # Exchange with higher/lower information-source systems (docs/exchange.md).
    exchange_rate_limit_per_min: int = Field(default=120, ge=1)  # calls per connected system, default
    exchange_max_body_bytes: int = Field(default=40 * 1024 * 1024, ge=1024)  # a pushed bulletin's audio
    exchange_poll_s: float = Field(default=5.0, gt=0)  # how often ``loa exchange run`` delivers
    exchange_push_interval_s: int = Field(default=300, ge=1)  # play logs, inventory, statistics upward
    exchange_timeout_s: float = Field(default=30.0, gt=0)
    # A provincial LGSP (or NGSP) in front of the systems we call: OAuth2 client credentials at its
    # token endpoint, then every call to a connection marked "via LGSP" carries its token.
    exchange_lgsp_token_url: str | None = None
    exchange_lgsp_client_id: str = ""
    exchange_lgsp_client_secret: SecretStr | None = None

    # Citizens' feedback (docs/feedback.md). The answer deadline is an assumption (see the docs).
    feedback_answer_days: int = Field(default=10, ge=1, le=365)
    feedback_max_per_hour: int = Field(default=3, ge=1)  # posts from one source
    feedback_max_per_day: int = Field(default=10, ge=1)
    feedback_max_photo_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    feedback_max_voice_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    feedback_max_voice_s: int = Field(default=120, ge=5)
    # SMS/hotline provider: replies are POSTed to this URL; its webhook calls us with the token.
    feedback_sms_url: str | None = None
    feedback_sms_token: SecretStr | None = None
    # Prometheus scrapes /metrics with "Authorization: Bearer <this>"; unset, /metrics answers 404.
    metrics_token: SecretStr | None = None

    # Web Push (docs/operations.md): the server's VAPID key pair, made by ``loa push keys``. Without a
    # private key the phones are never asked to subscribe and nothing is sent. The subject is how a
    # push service reaches whoever runs this server (``mailto:`` or an ``https:`` address).
    vapid_private_key: SecretStr | None = None
    vapid_subject: str = ""
    push_timeout_s: float = Field(default=10.0, gt=0)
    # A loudspeaker back within this long (an agent restart, a 4G hand-over) is not announced.
    push_offline_grace_s: float = Field(default=60.0, ge=0)
    # Where browsers' subscriptions may point (the server POSTs there, so not anywhere): host names
    # (HTTPS, sub-domains included) of the browsers' push services, or an exact origin such as
    # ``http://127.0.0.1:8099`` for a private push service.
    push_services: str = "fcm.googleapis.com,push.services.mozilla.com,push.apple.com,notify.windows.com"

    # Fleet health (docs/operations.md): alarms are evaluated every ``alarm_interval_s``; a
    # loudspeaker offline longer than ``alarm_offline_after_s`` raises one. Raised and cleared alarms
    # are e-mailed (SMTP, no authentication: a relay on the server's network) to ``alarm_email_to``
    # (comma-separated) and POSTed as JSON to ``alarm_webhook_url``, each when set; and pushed (Web Push).
    alarm_interval_s: float = Field(default=60.0, gt=0)
    alarm_offline_after_s: int = Field(default=3600, ge=60)
    alarm_smtp_host: str | None = None
    alarm_smtp_port: int = Field(default=25, ge=1, le=65535)
    alarm_email_from: str = "loa@localhost"
    alarm_email_to: str = ""
    alarm_webhook_url: str | None = None
    health_keep_days: int = Field(default=14, ge=1, le=400)
    # CAP 1.2 (docs/protocol.md "CAP"): what we call ourselves in exported messages, the largest
    # message accepted, a feed polled for messages (with the account whose areas and rights it acts
    # with), the signature rule and the auto-send rule the province sets.
    cap_sender: str = "loa@localhost"
    cap_max_bytes: int = Field(default=512 * 1024, ge=4096, le=16 * 1024 * 1024)
    cap_feed_url: str | None = None
    cap_feed_username: str = ""
    cap_feed_interval_s: float = Field(default=60.0, ge=5)
    # PEM certificate whose key signs the CAP messages (enveloped XML signature); with
    # ``cap_require_signature`` an unsigned or badly signed message is refused.
    cap_trusted_cert_path: Path | None = None
    cap_require_signature: bool = False
    # A message from one of these senders (comma-separated) at this risk level or above is sent at
    # once instead of waiting as a draft; unset: every CAP message waits for a person.
    cap_auto_send_min_level: int | None = Field(default=None, ge=1, le=5)
    cap_auto_send_senders: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if item:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(
                        f"LOA_TRUSTED_PROXIES: «{item}» không phải địa chỉ IP hoặc dải mạng (CIDR)."
                    ) from None
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret_and_open_demo(self) -> Settings:
        if self.demo:
            for name, host in (("LOA_HOST", self.host), ("LOA_MQTT_HOST", self.mqtt_host)):
                if not is_loopback(host):
                    raise ValueError(DEMO_LOOPBACK_ONLY.format(name=name, host=host))
            return self
        secret = self.secret_key.get_secret_value()
        if secret in PLACEHOLDER_SECRETS:
            raise ValueError(
                "LOA_SECRET_KEY chưa đặt hoặc là giá trị mẫu; hãy đặt một chuỗi ngẫu nhiên dài, ví dụ "
                "`openssl rand -hex 32` (hoặc LOA_DEMO=1 để chạy trình diễn)."
            )
        if secret_strength_bytes(secret) < SECRET_MIN_BYTES:
            raise ValueError(
                f"LOA_SECRET_KEY quá yếu: cần ít nhất {SECRET_MIN_BYTES} byte ngẫu nhiên, ví dụ "
                "`openssl rand -hex 32` (64 ký tự hex) hoặc `openssl rand -base64 32`."
            )
        return self

    @model_validator(mode="after")
    def _check_tile_url(self) -> Settings:
        url = self.map_tile_url
        if url and (
            not all(part in url for part in ("{z}", "{x}", "{y}"))
            or not url.startswith(("https://", "http://", "/"))
        ):
            raise ValueError(
                "LOA_MAP_TILE_URL phải là mẫu địa chỉ ô bản đồ có {z}, {x} và {y}, "
                "ví dụ https://tiles.example.gov.vn/{z}/{x}/{y}.png."
            )
        return self

    @model_validator(mode="after")
    def _check_vapid(self) -> Settings:
        if self.vapid_private_key is None:
            return self
        key = self.vapid_private_key.get_secret_value().strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}=?", key):
            raise ValueError(
                "LOA_VAPID_PRIVATE_KEY không đúng dạng: hãy dùng khóa do lệnh «loa push keys» in ra."
            )
        if not self.vapid_subject.startswith(("mailto:", "https://")):
            raise ValueError(
                "LOA_VAPID_SUBJECT phải là địa chỉ liên hệ của người vận hành máy chủ, dạng "
                "mailto:ten@example.gov.vn hoặc https://…, khi đã đặt LOA_VAPID_PRIVATE_KEY."
            )
        return self

    @classmethod
    def without_secret(cls, **values: object) -> Settings:
        """Settings for commands that sign nothing and open no session (``loa speech normalize``,
        ``say``, ``voices``): a missing secret key is no error there."""
        return _SettingsWithoutSecret(**values)  # type: ignore[arg-type]

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(i.strip(), strict=False)
            for i in self.trusted_proxies.split(",")
            if i.strip()
        )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'loa.sqlite3').resolve()}"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"


class _SettingsWithoutSecret(Settings):
    @model_validator(mode="after")  # type: ignore[misc]  # replaces the parent's check by its name
    def _refuse_weak_secret_and_open_demo(self) -> Settings:
        return self
