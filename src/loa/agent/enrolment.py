"""Enrolment (once, with the one-time code) and the TLS context for the broker."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import httpx

from loa.agent.config import AgentConfig, Identity
from loa.protocol.topics import valid_group_code


class EnrolmentError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


async def enrol(config: AgentConfig) -> Identity:
    if not config.enrol_code:
        raise EnrolmentError("chưa đăng ký: cần enrol_code trong tệp cấu hình", permanent=True)
    try:
        async with httpx.AsyncClient(base_url=config.server_url, timeout=30) as client:
            response = await client.post("/api/v1/devices/enrol", json={"code": config.enrol_code})
    except httpx.HTTPError as err:
        raise EnrolmentError(f"không kết nối được máy chủ: {err}") from err
    if response.status_code != 200:
        raise EnrolmentError(
            f"đăng ký thất bại ({response.status_code}): {response.text[:200]}",
            permanent=400 <= response.status_code < 500,
        )
    body = response.json()
    mqtt = body["mqtt"]
    host = mqtt["host"]
    if host in ("127.0.0.1", "0.0.0.0", "localhost", "::1"):
        host = urlsplit(config.server_url).hostname or host
    return Identity(
        device_id=body["device_id"],
        device_name=body.get("device_name", ""),
        secret=body["secret"],
        mqtt_host=host,
        mqtt_port=mqtt["port"],
        mqtt_tls=bool(mqtt.get("tls", False)),
        topic_prefix=mqtt["topic_prefix"],
        manifest_public_key=body["manifest_public_key"],
        release_public_key=body.get("release_public_key") or None,
        groups=[g for g in body.get("groups", []) if isinstance(g, str) and valid_group_code(g)],
        sms_key=body["sms_key"] if isinstance(body.get("sms_key"), str) else None,
    )


def mqtt_tls_context(config: AgentConfig, ident: Identity) -> ssl.SSLContext | None:
    """TLS to the broker when enrolment or the configuration asks for it: the broker's certificate
    is verified (host name included) against ``mqtt_ca_file`` or the system's trusted CAs."""
    use_tls = ident.mqtt_tls if config.mqtt_tls is None else config.mqtt_tls
    if not use_tls:
        return None
    context = ssl.create_default_context(cafile=str(config.mqtt_ca_file) if config.mqtt_ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
