"""Settings, read once in an entry point from the environment (prefix ``LOA_``) or an env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "loa-demo-secret-do-not-use"})
DEMO_SECRET = "loa-demo-secret-do-not-use"


class Settings(BaseSettings):
    """Everything configurable. Built by ``Settings()`` in ``cli.py``/``app.py``, never at import."""

    model_config = SettingsConfigDict(env_prefix="LOA_", env_file=".env", extra="ignore")

    demo: bool = Field(default=False, description="Demo mode: allows the placeholder secret key.")
    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file and audio store live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in data_dir."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    session_max_age_s: int = 8 * 3600
    token_ttl_s: int = 12 * 3600
    login_max_failures: int = 5
    login_window_s: int = 15 * 60
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
    manifest_recompile_interval_s: int = Field(default=3600, ge=1)  # the gateway recompiles manifests

    # Speech.
    tts_engine: Literal["espeak", "piper"] = "espeak"
    tts_voice: str | None = None
    piper_voice_dir: Path | None = None

    max_upload_bytes: int = 200 * 1024 * 1024
    max_upload_duration_s: int = 3600  # longer recordings are refused (not truncated)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        # Error types (not messages) are what ``loa.config_errors`` translates for people.
        if not self.demo and self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise PydanticCustomError(
                "secret_placeholder",
                "LOA_SECRET_KEY is unset or a placeholder; set a long random value "
                "(or LOA_DEMO=1 for a demo).",
            )
        if len(self.secret_key.get_secret_value()) < 16 and not self.demo:
            raise PydanticCustomError("secret_short", "LOA_SECRET_KEY must be at least 16 characters.")
        return self

    @classmethod
    def without_secret(cls, **values: object) -> Settings:
        """Settings for commands that sign nothing and open no session (``loa speech normalize``,
        ``say``, ``voices``): a missing secret key is no error there."""
        return _SettingsWithoutSecret(**values)  # type: ignore[arg-type]

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
    def _refuse_placeholder_secret(self) -> Settings:
        return self
