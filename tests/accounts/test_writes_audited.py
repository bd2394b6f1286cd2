"""Issue 20.11: every write leaves an audit event. A walk over the writes of villages, stations,
activities (records and imports), reports and uploads (audio, TTS requests, photos), each through the
API as a person would make it, asserting the event it adds (with its Vietnamese label)."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, func, select

from loa.accounts.audit import ACTION_LABELS
from loa.accounts.models import AuditEvent
from loa.accounts.principal import Role
from loa.db import make_session_factory
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, make_user


@pytest.fixture
def tree(engine: Engine) -> Tree:
    with make_session_factory(engine)() as session:
        tree = build_tree(session)
        make_user(session, "quantri", Role.ADMIN)
        session.commit()
    return tree


def _wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x10" * int(seconds * rate))
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((64, 48), 64).convert("RGB").save(out, format="PNG")
    return out.getvalue()


class Walk:
    def __init__(self, client: TestClient, engine: Engine) -> None:
        self.client, self.engine = client, engine
        self.headers = bearer(client, "quantri")
        self.last_id = self._max_id()
        self.missing: list[str] = []

    def _max_id(self) -> int:
        with make_session_factory(self.engine)() as s:
            return int(s.scalar(select(func.max(AuditEvent.id))) or 0)

    def expect(
        self, what: str, action: str, call: Callable[[], httpx.Response], status: int | None = None
    ) -> httpx.Response:
        response = call()
        ok = response.status_code == status if status else response.status_code < 300
        assert ok, (what, response.status_code, response.text[:300])
        with make_session_factory(self.engine)() as s:
            events = list(s.scalars(select(AuditEvent).where(AuditEvent.id > self.last_id)))
        self.last_id = self._max_id()
        actions = [e.action for e in events]
        if action not in actions:
            self.missing.append(f"{what}: expected {action}, audited {actions}")
        elif any(e.actor_name != "quantri" for e in events if e.action == action):
            self.missing.append(f"{what}: {action} does not name who did it")
        if action not in ACTION_LABELS:
            self.missing.append(f"{what}: {action} has no Vietnamese label")
        return response


def test_every_write_of_these_areas_is_audited(client: TestClient, engine: Engine, tree: Tree) -> None:
    walk = Walk(client, engine)
    h, areas = walk.headers, "/api/v1/areas"

    # Villages and stations.
    walk.expect(
        "village",
        "area.village_add",
        lambda: client.post(f"{areas}/21484/villages", headers=h, json={"name": "Thôn Gò Da"}),
    )
    csv = "ten,loai,ma\nNước Lăng,thôn,\nMang Mu,thôn,\n".encode()
    walk.expect(
        "villages from CSV",
        "area.villages_import",
        lambda: client.post(
            f"{areas}/21484/villages/csv", headers={**h, "content-type": "text/csv"}, content=csv
        ),
    )
    walk.expect(
        "village place",
        "area.village_place",
        lambda: client.put(f"{areas}/2148401/place", headers=h, json={"latitude": 14.7, "longitude": 108.7}),
    )
    walk.expect(
        "station",
        "area.station_add",
        lambda: client.post(f"{areas}/21484/stations", headers=h, json={"name": "Đài truyền thanh xã Ba Tơ"}),
    )

    # Activities: a record's life, then an import.
    acts = "/api/v1/activities/events"
    event = {
        "kind": "hội nghị",
        "held_on": "2024-02-01",
        "title": "Hội nghị",
        "participants": 8,
        "area_code": "21484",
    }
    record = walk.expect(
        "activity", "activity.create", lambda: client.post(acts, headers=h, json=event)
    ).json()
    walk.expect(
        "activity edit",
        "activity.update",
        lambda: client.patch(f"{acts}/{record['id']}", headers=h, json={"participants": 9}),
    )
    walk.expect(
        "activity delete", "activity.delete", lambda: client.delete(f"{acts}/{record['id']}", headers=h)
    )
    rows = (
        "Loại,Ngày tổ chức,Tên sự kiện,Số người tham dự,Mã địa bàn\nhội nghị,02/02/2024,Tập huấn,20,21484\n"
    )
    upload = {"file": ("su-kien.csv", rows.encode(), "text/csv")}
    walk.expect(
        "activity import", "activity.import", lambda: client.post(f"{acts}/import", headers=h, files=upload)
    )
    held = walk.expect(
        "import of repeated rows",
        "activity.import_hold",
        lambda: client.post(f"{acts}/import", headers=h, files=upload),
        status=409,
    ).json()["details"]["import_id"]
    walk.expect(
        "held import confirmed",
        "activity.import",
        lambda: client.post(f"{acts}/imports/{held}", headers=h, json={"include_all": True}),
    )
    held = walk.expect(
        "import held again",
        "activity.import_hold",
        lambda: client.post(f"{acts}/import", headers=h, files=upload),
        status=409,
    ).json()["details"]["import_id"]
    walk.expect(
        "held import cancelled",
        "activity.import_cancel",
        lambda: client.delete(f"{acts}/imports/{held}", headers=h),
    )

    # Reports.
    body = {
        "period": {"kind": "quarter", "year": 2024, "index": 1},
        "issued_on": "2024-04-02",
        "area_id": tree.new_x.id,
    }
    walk.expect("report", "report.generate", lambda: client.post("/api/v1/reports", headers=h, json=body))

    # Uploads: a recording, a TTS request, a bulletin's photo.
    walk.expect(
        "audio upload",
        "speech.upload",
        lambda: client.post("/api/v1/audio", headers=h, files={"file": ("ghi-am.wav", _wav(), "audio/wav")}),
    )
    walk.expect(
        "TTS request",
        "speech.tts_request",
        lambda: client.post(
            "/api/v1/speech/jobs", headers=h, json={"text": "Xin chào bà con", "area": "21484"}
        ),
    )
    bulletin = {"title": "Tin", "kind": "news", "body": "Nội dung", "area_code": "21484"}
    bid = walk.expect(
        "bulletin", "bulletin.create", lambda: client.post("/api/v1/bulletins", headers=h, json=bulletin)
    ).json()["id"]
    photo = walk.expect(
        "photo",
        "bulletin.photo_add",
        lambda: client.post(
            f"/api/v1/bulletins/{bid}/attachments",
            headers=h,
            files={"file": ("anh.png", _png(), "image/png")},
        ),
    ).json()
    walk.expect(
        "photo removed",
        "bulletin.photo_remove",
        lambda: client.delete(f"/api/v1/bulletins/{bid}/attachments/{photo['id']}", headers=h),
    )
    assert not walk.missing, "\n".join(walk.missing)
