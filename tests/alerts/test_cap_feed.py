"""A CAP feed polled from a real HTTP server on this machine (the feed is outside Loa): an Atom feed
with one message embedded, one linked and one hostile link; polling twice makes each alert once and
counts the hostile one. Signed messages: with the province's certificate a signed message from a
trusted sender at level ≥ 4 is sent at once; unsigned or tampered ones are refused."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from sqlalchemy import Engine

from loa.accounts.models import User
from loa.accounts.service import principal_for
from loa.alerts.cap.feed import http_fetcher, poll_once
from loa.alerts.cap.parse import CapRefused
from loa.alerts.cap.service import CapPolicy, ingest
from loa.alerts.service import aired_audio
from loa.db import make_session_factory
from loa.settings import Settings
from loa.speech.runtime import SpeechRuntime
from loa.speech.service import SpeechContext
from loa.wiring import wire
from tests.alerts.test_cap import SAMPLES, alerts_in, refusals, sample
from tests.fleet.world import IDS, commands

PORT = 18701


@pytest.fixture
def speech(settings: Settings, world_engine: Engine) -> Iterator[SpeechContext]:
    runtime = SpeechRuntime.build(settings, make_session_factory(world_engine), recover=False)
    yield runtime.context
    runtime.close()


@pytest.fixture
def feed_server(tmp_path: Path) -> Iterator[Path]:
    """A plain HTTP server for the files of a folder, on 127.0.0.1:18701."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path
    server.shutdown()
    server.server_close()


def _atom(flood: bytes) -> bytes:
    embedded = flood.decode().split("?>", 1)[1]  # the message without its XML declaration
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>tag:nchmf.gov.vn,2026:qng</id><title>Tin cảnh báo Quảng Ngãi</title>"
        "<updated>2026-11-06T01:30:00Z</updated>"
        "<entry><id>1</id><title>Bão</title>"
        '<link rel="alternate" type="application/cap+xml" href="storm.xml"/></entry>'
        f'<entry><id>2</id><title>Lũ</title><content type="application/cap+xml">{embedded}</content></entry>'
        '<entry><id>3</id><title>?</title><link type="application/cap+xml" href="laughs.xml"/></entry>'
        "</feed>"
    ).encode()


def test_feed_polled_twice_makes_each_alert_once_and_counts_the_hostile_entry(
    world_engine: Engine, feed_server: Path, speech: SpeechContext, settings: Settings
) -> None:
    (feed_server / "storm.xml").write_bytes(sample("storm-ba-to.xml"))
    (feed_server / "laughs.xml").write_bytes((SAMPLES / "billion-laughs.xml").read_bytes())
    (feed_server / "feed.atom").write_bytes(_atom(sample("flood-song-lien.xml")))
    sessions = make_session_factory(world_engine)
    policy = CapPolicy()
    url = f"http://127.0.0.1:{PORT}/feed.atom"
    with httpx.Client(timeout=10) as client:
        first = poll_once(
            sessions,
            url=url,
            username="quantri",
            policy=policy,
            speech=speech,
            aired=aired_audio(settings),
            fetch=http_fetcher(client, policy.max_bytes),
        )
        second = poll_once(
            sessions,
            url=url,
            username="quantri",
            policy=policy,
            speech=speech,
            aired=aired_audio(settings),
            fetch=http_fetcher(client, policy.max_bytes),
        )
    assert first.ingested == ["draft", "draft"] and first.refused == {"entities": 1}
    assert second.ingested == [] and second.duplicates == 2
    made = alerts_in(world_engine)
    assert [(a.hazard, a.status) for a in made] == [("storm", "draft"), ("flood", "draft")]
    assert refusals(world_engine)["cap.refused.entities"] == 2

    # A feed larger than the limit is refused while it streams.
    (feed_server / "feed.atom").write_bytes(b"<feed>" + b" " * (policy.max_bytes + 10) + b"</feed>")
    with httpx.Client(timeout=10) as client:
        third = poll_once(
            sessions,
            url=url,
            username="quantri",
            policy=policy,
            speech=speech,
            aired=aired_audio(settings),
            fetch=http_fetcher(client, policy.max_bytes),
        )
    assert third.refused == {"oversized": 1}

    # A feed that cannot be reached (the provider is down) is logged and tried again next time.
    with httpx.Client(timeout=10) as client:
        down = poll_once(
            sessions,
            url=f"http://127.0.0.1:{PORT + 1}/feed.atom",
            username="quantri",
            policy=policy,
            speech=speech,
            aired=aired_audio(settings),
            fetch=http_fetcher(client, policy.max_bytes),
        )
    assert (down.failed, down.ingested, down.refused) == (1, [], {})


def test_the_gateway_process_polls_the_configured_feed(
    world_engine: Engine, feed_server: Path, settings: Settings
) -> None:
    """The periodic job ``loa.wiring`` adds when ``LOA_CAP_FEED_URL`` is set, run once as the gateway
    runs it."""
    (feed_server / "storm.xml").write_bytes(sample("storm-ba-to.xml"))
    configured = settings.model_copy(
        update={"cap_feed_url": f"http://127.0.0.1:{PORT}/storm.xml", "cap_feed_username": "quantri"}
    )
    assert "CAP feed polling" not in [p.what for p in wire(world_engine, settings).periodic]
    (job,) = [p for p in wire(world_engine, configured).periodic if p.what == "CAP feed polling"]
    assert job.interval_s == 60
    job.work()
    job.work()  # the same message again: nothing new
    assert [(a.source_ref, a.status) for a in alerts_in(world_engine)] == [
        ("VN-KTTV-QNG-2026-BAO13-001", "draft")
    ]


def _certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Đài KTTV Quảng Ngãi")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def _signed(data: bytes, key: rsa.RSAPrivateKey, cert_pem: bytes) -> bytes:
    root = etree.fromstring(data)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signed = XMLSigner().sign(root, key=key_pem, cert=cert_pem.decode())
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def test_signed_messages_from_a_trusted_sender_at_level_4_are_sent_at_once(
    world_engine: Engine, speech: SpeechContext, settings: Settings
) -> None:
    aired = aired_audio(settings)
    key, cert_pem = _certificate()
    policy = CapPolicy(
        trusted_cert_pem=cert_pem,
        require_signature=True,
        auto_send_min_level=4,
        auto_send_senders=frozenset({"dai-kttv-quangngai@nchmf.gov.vn"}),
    )
    sessions = make_session_factory(world_engine)

    def ingest_as_admin(data: bytes) -> str:
        with sessions() as s:
            user = s.query(User).filter_by(username="quantri").one()
            result = ingest(
                s, principal=principal_for(s, user), data=data, policy=policy, speech=speech, aired=aired
            )
            s.commit()
            return result.outcome

    with pytest.raises(CapRefused, match="chưa được ký số"):
        ingest_as_admin(sample("storm-ba-to.xml"))
    signed = _signed(sample("storm-ba-to.xml"), key, cert_pem)
    tampered = signed.replace("cấp 14".encode(), "cấp 04".encode())
    with pytest.raises(CapRefused, match="Chữ ký số"):
        ingest_as_admin(tampered)
    _, stranger = _certificate()  # signed, but checked against another sender's certificate
    with sessions() as s, pytest.raises(CapRefused, match="Chữ ký số"):
        user = s.query(User).filter_by(username="quantri").one()
        ingest(
            s,
            principal=principal_for(s, user),
            data=signed,
            policy=CapPolicy(trusted_cert_pem=stranger),
            speech=speech,
            aired=aired,
        )

    assert ingest_as_admin(signed) == "active"  # storm, level 4, trusted and signed: on air at once
    sent = [(uid, args) for uid, kind, args in commands(world_engine) if kind == "play_now"]
    assert {uid for uid, _ in sent} == {IDS.a1, IDS.a2, IDS.b1}
    assert {args["title"] for _, args in sent} == {"Tin bão khẩn cấp: bão số 13 đổ bộ vào Quảng Ngãi"}
    # The flood (level 3) from the same signed sender still waits for a person.
    assert ingest_as_admin(_signed(sample("flood-song-lien.xml"), key, cert_pem)) == "draft"
