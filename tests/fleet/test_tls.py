"""Devices reach Mosquitto over TLS: ``loa broker config --tls-port`` writes the listener, enrolment
tells the device, and the agent verifies the broker's certificate. A private Mosquitto runs the
generated configuration; the certificates are made here (a CA, and a broker certificate for
127.0.0.1 and localhost)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import subprocess
from pathlib import Path

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from loa.agent.config import AgentConfig, Identity
from loa.agent.runtime import mqtt_tls_context
from loa.db import make_session_factory
from loa.fleet import credentials, mosquitto, service
from loa.protocol.topics import Channel, Topics
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    MOSQUITTO,
    SAFETY_NET_S,
    free_port,
    new_device,
    unique_prefix,
    wait_for_port,
)
from tests.support.cli import run_loa

pytestmark = pytest.mark.mqtt


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(tmp: Path, label: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"Loa test CA {label}"))
        .issuer_name(_name(f"Loa test CA {label}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path = tmp / f"ca-{label}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def make_server_cert(
    tmp: Path, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "broker.pem", tmp / "broker.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_conf_refuses_a_tls_listener_without_its_key() -> None:
    with pytest.raises(ValueError):
        mosquitto.MosquittoOptions(tls_port=8883, certfile=Path("/x.pem"))
    conf = mosquitto.conf_text(
        mosquitto.MosquittoOptions(tls_port=8883, certfile=Path("/c.pem"), keyfile=Path("/k.pem")),
        password_file=Path("/p"),
        acl_file=Path("/a"),
    )
    assert "listener 8883 0.0.0.0\n" in conf and "certfile /c.pem\n" in conf and "tls_version tlsv1.2" in conf
    assert "allow_duplicate_messages true\n" in conf  # fan-out to N devices stays linear


def test_device_over_tls_with_the_agents_context(engine: Engine, tmp_path: Path) -> None:
    if not Path(MOSQUITTO).exists():
        pytest.fail("the fleet tests need /usr/sbin/mosquitto")
    ca_key, ca_cert, ca_path = make_ca(tmp_path, "loa")
    _, _, other_ca_path = make_ca(tmp_path, "other")
    cert_path, key_path = make_server_cert(tmp_path, ca_key, ca_cert)
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    uid, code = new_device(factory, "Cụm loa TLS")
    with factory() as s, s.begin():
        enrolment = service.enrol(s, code=code)
    with factory() as s:
        password_hash = service.get_device(s, uid=uid).mqtt_password_hash or ""
    plain_port, tls_port = free_port(), free_port()
    mosquitto.write_config(
        tmp_path / "mqtt",
        topics=topics,
        options=mosquitto.MosquittoOptions(
            bind_host="127.0.0.1",
            port=plain_port,
            run_as_user="root",
            tls_port=tls_port,
            tls_bind_host="127.0.0.1",
            certfile=cert_path,
            keyfile=key_path,
        ),
        passwords=[(uid, password_hash), (BACKEND_USER, credentials.mosquitto_hash(BACKEND_PASSWORD))],
        backend_users=[BACKEND_USER],
    )
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(tmp_path / "mqtt" / "mosquitto.conf")], stderr=subprocess.PIPE
    )
    ident = Identity(
        device_id=enrolment.device_uid,
        secret=enrolment.secret,
        mqtt_host="127.0.0.1",
        mqtt_port=tls_port,
        mqtt_tls=True,
        topic_prefix=topics.prefix,
        manifest_public_key="",
    )
    trusting = AgentConfig(server_url="http://127.0.0.1:1", mqtt_ca_file=ca_path)
    foreign = AgentConfig(server_url="http://127.0.0.1:1", mqtt_ca_file=other_ca_path)
    try:
        wait_for_port(plain_port, proc)
        wait_for_port(tls_port, proc)
        asyncio.run(_scenario(ident, trusting, foreign, topics, plain_port, tls_port))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _scenario(
    ident: Identity,
    trusting: AgentConfig,
    foreign: AgentConfig,
    topics: Topics,
    plain_port: int,
    tls_port: int,
) -> None:
    status_topic = topics.device(ident.device_id, Channel.STATUS)
    async with aiomqtt.Client(
        "127.0.0.1", plain_port, username=BACKEND_USER, password=BACKEND_PASSWORD
    ) as backend:
        await backend.subscribe(status_topic, qos=1)
        context = mqtt_tls_context(trusting, ident)
        assert context is not None
        async with aiomqtt.Client(
            "127.0.0.1",
            tls_port,
            username=ident.device_id,
            password=ident.secret,
            identifier=ident.device_id,
            tls_context=context,
        ) as device:
            await device.publish(status_topic, b'{"over": "tls"}', qos=1)
        async with asyncio.timeout(SAFETY_NET_S):
            async for message in backend.messages:
                assert message.payload == b'{"over": "tls"}'
                break

    # A broker whose certificate the device's CA did not sign is refused by the device.
    refused = mqtt_tls_context(foreign, ident)
    assert refused is not None
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            "127.0.0.1",
            tls_port,
            username=ident.device_id,
            password=ident.secret,
            tls_context=refused,
            timeout=5,
        ):
            pass
    # Plain MQTT on the TLS port gets nowhere (no password crosses the network in clear).
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            "127.0.0.1", tls_port, username=ident.device_id, password=ident.secret, timeout=3
        ):
            pass
    # Without TLS in enrolment or configuration the agent makes no TLS context.
    assert mqtt_tls_context(trusting, ident.model_copy(update={"mqtt_tls": False})) is None


def test_enrolment_tells_the_device_where_and_how(client: TestClient, engine: Engine) -> None:
    """The device-facing endpoint comes from ``LOA_MQTT_DEVICE_*`` (checked through the app)."""
    app = client.app
    settings = app.state.settings  # type: ignore[attr-defined]
    _, code = new_device(make_session_factory(engine), "Cụm loa mới")
    app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"mqtt_device_host": "mqtt.loa.example.vn", "mqtt_device_port": 8883, "mqtt_device_tls": True}
    )
    try:
        body = client.post("/api/v1/devices/enrol", json={"code": code}).json()
    finally:
        app.state.settings = settings  # type: ignore[attr-defined]
    assert body["mqtt"]["host"] == "mqtt.loa.example.vn"
    assert body["mqtt"]["port"] == 8883
    assert body["mqtt"]["tls"] is True


def _cli(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str], tmp: Path, *args: str
) -> tuple[int, str]:
    monkeypatch.setenv("LOA_DATA_DIR", str(tmp / "data"))
    code, out, err = run_loa(monkeypatch, engine, capsys, *args)
    return code, out + err


def test_broker_config_command_writes_the_tls_listener(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "mqtt"
    code, text = _cli(
        monkeypatch, engine, capsys, tmp_path, "broker", "config", "--out", str(out_dir), "--tls-port", "8883"
    )
    assert code == 2 and "Cổng TLS cần cả --certfile và --keyfile." in text
    assert not out_dir.exists()
    ca_key, ca_cert, _ = make_ca(tmp_path, "cli")
    cert, key = make_server_cert(tmp_path, ca_key, ca_cert)
    code, text = _cli(
        monkeypatch, engine, capsys, tmp_path,
        "broker", "config", "--out", str(out_dir), "--bind", "127.0.0.1",
        "--tls-port", "8883", "--certfile", str(cert), "--keyfile", str(key),
    )  # fmt: skip
    assert code == 0, text
    conf = (out_dir / "mosquitto.conf").read_text()
    assert "listener 1883 127.0.0.1\n" in conf and "listener 8883 0.0.0.0\n" in conf
    assert f"certfile {cert.resolve()}\n" in conf and f"keyfile {key.resolve()}\n" in conf
