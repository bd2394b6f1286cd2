"""A device knows its commune group without the retained ``state`` (issue 21.2): enrolment says it, the
signed manifest names it, and the device core joins what a (saved) manifest names."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from loa.db import make_session_factory
from loa.fleet import keys, service
from loa.fleet.models import Device, DeviceManifest
from loa.protocol import manifest as mf
from loa.protocol.device import signals as s
from loa.protocol.device.core import CoreConfig, DeviceCore
from loa.schedule.manifests import compile_and_store
from tests.fleet.world import COMMUNE_A, COMMUNE_B, IDS


def test_enrolment_tells_the_device_its_commune_group(web: TestClient, world_engine: Engine) -> None:
    with make_session_factory(world_engine)() as session, session.begin():
        code = service.issue_enrol_code(session, device=service.get_device(session, uid=IDS.b1))
    answer = web.post("/api/v1/devices/enrol", json={"code": code})
    assert answer.status_code == 200
    assert answer.json()["groups"] == [COMMUNE_B]


def test_compiled_manifests_name_the_commune_group(world_engine: Engine) -> None:
    key = Ed25519PrivateKey.generate()
    factory = make_session_factory(world_engine)
    with factory() as session, session.begin():
        compile_and_store(session, key=key)
    with factory() as session:
        rows = session.execute(select(Device.uid, DeviceManifest.body).join(Device)).all()
    groups = {uid: mf.decode_manifest(body).groups for uid, body in rows}
    assert groups == {IDS.a1: (COMMUNE_A,), IDS.a2: (COMMUNE_A,), IDS.b1: (COMMUNE_B,)}


def test_the_device_joins_the_groups_its_manifest_names_even_saved() -> None:
    key = Ed25519PrivateKey.generate()
    raw_public = base64.b64decode(keys.public_key_b64(key))
    now = datetime.now(UTC)
    manifest = mf.build_manifest(
        device_id="loa-a00000000001",
        manifest_version=3,
        generated_at=now,
        valid_from=now,
        valid_until=now + timedelta(hours=1),
        items=[],
        groups=[COMMUNE_A],
    )
    body = manifest.canonical_bytes()
    assert mf.open_signed(body, mf.sign(body, key), [raw_public]).groups == (COMMUNE_A,)
    for saved in (True, False):
        core = DeviceCore(CoreConfig("loa-a00000000001", server_keys=(raw_public,)), now_ms=0)
        effects = core.handle(s.ManifestFetched(body, mf.sign(body, key), saved=saved), 0)
        assert core.groups == {COMMUNE_A}
        assert s.JoinGroups((COMMUNE_A,)) in effects
    # A manifest without groups (an older server) is still the same bytes as before.
    plain = mf.build_manifest(
        device_id="loa-a00000000001",
        manifest_version=3,
        generated_at=now,
        valid_from=now,
        valid_until=now + timedelta(hours=1),
        items=[],
    )
    assert b'"groups"' not in plain.canonical_bytes()
