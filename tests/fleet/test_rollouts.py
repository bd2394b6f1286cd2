"""Agent releases on the server (issue 18.4), on SQLite and PostgreSQL: ``loa agent-release publish``
signs a wheel with the release key (not the manifest key); a rollout to one commune goes out in waves
of 5 %, 25 % and 100 %, the next wave only once the previous one reports the new version; a failed
install or a rollback on a device halts it; only a device told to update may download the wheel."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.db import make_session_factory
from loa.fleet import keys, releases, service
from loa.fleet.ingest import write_events
from loa.fleet.models import AgentRelease, Device, DeviceCommand, Rollout, RolloutTarget
from loa.protocol import messages as m
from loa.settings import Settings
from loa.units.models import AdminUnit
from tests.fleet.world import COMMUNE_A, COMMUNE_B
from tests.support.auth import login_web
from tests.support.cli import run_loa
from tests.support.wheels import GOOD_MAIN, build_wheel, tiny_agent_files

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
EXTRA = 17  # 2 world devices + 17 = 19 in commune A besides


def add_devices(engine: Engine) -> None:
    with make_session_factory(engine)() as s, s.begin():
        commune = s.scalar(select(AdminUnit.id).where(AdminUnit.code == COMMUNE_A))
        for i in range(EXTRA):
            service.create_device(s, name=f"Cụm loa số {i + 3}", commune_id=commune)
        for row in s.scalars(select(Device)):
            row.enrolled_at, row.agent_version = T0 - timedelta(days=3), "1.0"


def publish(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Path:
    monkeypatch.setenv("LOA_DATA_DIR", str(tmp_path / "server"))
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "1.1", tiny_agent_files(GOOD_MAIN))
    code, out, err = run_loa(monkeypatch, engine, capsys, "agent-release", "publish", str(wheel))
    assert code == 0, err
    assert "Đã phát hành phiên bản 1.1" in out and "Khóa công khai phát hành" in out
    return wheel


def commands_of(s: Session, wave: int) -> list[DeviceCommand]:
    return list(
        s.scalars(
            select(DeviceCommand)
            .join(RolloutTarget, RolloutTarget.command_id == DeviceCommand.id)
            .where(RolloutTarget.wave == wave)
        )
    )


def report(engine: Engine, uids: list[str], at: datetime, **status: object) -> None:
    with make_session_factory(engine)() as s, s.begin():
        write_events(s, events=[(uid, at, m.Status(sent_at=at, **status)) for uid in uids])  # type: ignore[arg-type]


def answer(engine: Engine, command: DeviceCommand, uid: str, status: str, detail: str) -> None:
    with make_session_factory(engine)() as s, s.begin():
        result = m.CommandResult(command_id=command.id, status=m.CommandStatus(status), at=T0, detail=detail)
        write_events(s, events=[(uid, T0, result)])


def advance(engine: Engine, at: datetime) -> str:
    with make_session_factory(engine)() as s, s.begin():
        rollout = s.scalars(select(Rollout).order_by(Rollout.id.desc())).first()
        assert rollout is not None
        return releases.advance(s, rollout, now=at)


def test_a_release_goes_out_in_waves_and_halts_on_a_failure(
    monkeypatch: pytest.MonkeyPatch, world_engine: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    add_devices(world_engine)
    wheel = publish(monkeypatch, world_engine, capsys, tmp_path)
    factory = make_session_factory(world_engine)
    data_dir = tmp_path / "server"
    with factory() as s:
        release = s.scalar(select(AgentRelease))
        assert release is not None and release.filename == wheel.name
        assert releases.wheel_path(data_dir, release.sha256).read_bytes() == wheel.read_bytes()
        # Signed by the release key, which is not the manifest key.
        release_key = keys.load_or_create_release_key(data_dir)
        manifest_key = keys.load_or_create_signing_key(data_dir)
        assert keys.public_key_b64(release_key) != keys.public_key_b64(manifest_key)
        Ed25519PublicKey.from_public_bytes(base64.b64decode(keys.public_key_b64(release_key))).verify(
            base64.b64decode(release.signature), m.release_signed_bytes("1.1", release.sha256)
        )
    code, out, err = run_loa(
        monkeypatch, world_engine, capsys, "agent-release", "rollout", "1.1", "--commune", COMMUNE_A
    )
    assert code == 0, err
    assert "19 cụm loa" in out and "đợt đầu: 1 cụm loa" in out
    with factory() as s:
        (first,) = commands_of(s, 0)
        args = json.loads(first.payload)["args"]
        assert (first.kind, args["version"], args["sha256"], args["signature"]) == (
            "update",
            "1.1",
            release.sha256,
            release.signature,
        )
        sizes = [s.scalar(select(func.count()).where(RolloutTarget.wave == w)) for w in (0, 1, 2)]
        assert sizes == [1, 4, 14]  # 5 % → 25 % → 100 % of 19
        b_devices = s.scalar(
            select(func.count())
            .select_from(RolloutTarget)
            .join(Device)
            .join(AdminUnit)
            .where(AdminUnit.code == COMMUNE_B)
        )
        assert b_devices == 0  # another commune is not touched
        first_uid = s.get(Device, first.device_id).uid  # type: ignore[union-attr]
    assert advance(world_engine, T0) == "running"  # nobody reported yet: wave 1 waits
    with factory() as s:
        assert commands_of(s, 1) == []
    report(world_engine, [first_uid], T0 + timedelta(minutes=5), agent_version="1.1")
    assert advance(world_engine, T0 + timedelta(minutes=6)) == "running"
    with factory() as s:
        wave1 = commands_of(s, 1)
        assert len(wave1) == 4
        uids = [s.get(Device, c.device_id).uid for c in wave1]  # type: ignore[union-attr]
    # Three take it; one fails to install (or starts and rolls back): the rollout stops there.
    report(world_engine, uids[:3], T0 + timedelta(minutes=20), agent_version="1.1")
    answer(world_engine, wave1[3], uids[3], "failed", "install_failed")
    assert advance(world_engine, T0 + timedelta(minutes=21)) == "halted"
    with factory() as s:
        assert commands_of(s, 2) == []
        rollout = s.scalar(select(Rollout))
        assert rollout is not None and rollout.detail == "1 cụm loa cập nhật không thành công"
        actions = list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("agent.%")).order_by(AuditEvent.id)
            )
        )
        assert actions == ["agent.release_publish", "agent.rollout_start", "agent.rollout_halted"]
        (view,) = releases.rollout_views(s)
        assert view.state == "Đã dừng vì lỗi" and view.wave_text == "Đợt 2/3 (25 %)"
        assert dict(view.counts) == {
            "Đã cập nhật, hoạt động tốt": 4,
            "Cập nhật thất bại": 1,
            "Chờ đợt sau": 14,
        }
    code, out, _ = run_loa(monkeypatch, world_engine, capsys, "agent-release", "status")
    assert code == 0 and "Cập nhật 1.1 — Ba Tơ: Đã dừng vì lỗi; Đợt 2/3 (25 %)" in out


def test_a_rollback_halts_and_a_tight_budget_only_waits(
    monkeypatch: pytest.MonkeyPatch, world_engine: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    add_devices(world_engine)
    publish(monkeypatch, world_engine, capsys, tmp_path)
    factory = make_session_factory(world_engine)
    with factory() as s, s.begin():
        releases.start_rollout(
            s, version="1.1", commune_code=COMMUNE_A, waves=(50, 100), created_by="quantri", now=T0
        )
    with factory() as s:
        wave0 = commands_of(s, 0)
        uids = [s.get(Device, c.device_id).uid for c in wave0]  # type: ignore[union-attr]
    assert len(wave0) == 10
    report(world_engine, uids[:9], T0 + timedelta(minutes=5), agent_version="1.1")
    answer(world_engine, wave0[9], uids[9], "failed", "budget")  # no data left today: skipped, not failed
    assert advance(world_engine, T0 + timedelta(minutes=6)) == "running"
    with factory() as s:
        wave1 = commands_of(s, 1)
        uids1 = [s.get(Device, c.device_id).uid for c in wave1]  # type: ignore[union-attr]
    assert len(wave1) == 9
    report(world_engine, uids1[:8], T0 + timedelta(minutes=30), agent_version="1.1")
    # The last one started 1.1 three times without becoming healthy and went back to 1.0.
    report(world_engine, uids1[8:], T0 + timedelta(minutes=30), agent_version="1.0", rolled_back_from="1.1")
    assert advance(world_engine, T0 + timedelta(minutes=31)) == "halted"
    with factory() as s:
        (view,) = releases.rollout_views(s)
        assert ("Đã quay lại phiên bản trước", 1) in view.counts and (
            "Bỏ qua (hết dung lượng dữ liệu)",
            1,
        ) in view.counts


def test_waves_are_checked_and_sized() -> None:
    assert releases.wave_sizes(19, (5, 25, 100)) == [1, 4, 14]
    assert releases.wave_sizes(2, (5, 25, 100)) == [1, 1, 0]
    assert releases.wave_sizes(1000, (5, 25, 100)) == [50, 200, 750]
    for bad in ("25,5,100", "5,25", "0,100", "x", "5,5,100"):
        with pytest.raises(Exception, match="Các đợt"):
            releases.parse_waves(bad)


def test_only_a_device_told_to_update_may_download_the_wheel(
    monkeypatch: pytest.MonkeyPatch, world_engine: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wheel = publish(monkeypatch, world_engine, capsys, tmp_path)
    settings = Settings(
        demo=True, data_dir=tmp_path / "server", secret_key="test-secret-key-0123456789abcdef"
    )  # type: ignore[arg-type]
    factory = make_session_factory(world_engine)
    secrets = {}
    with factory() as s, s.begin():
        for row in s.scalars(select(Device).order_by(Device.id)):
            code = service.issue_enrol_code(s, device=row)
            secrets[row.uid] = service.enrol(s, code=code).secret
        chosen = s.scalars(select(Device).order_by(Device.id)).first()
        assert chosen is not None
        release = s.scalar(select(AgentRelease))
        assert release is not None
        target, other = chosen.uid, next(u for u in secrets if u != chosen.uid)
        rollout = Rollout(release_id=release.id, waves="100", wave=0, state="running", created_by="quantri")
        s.add(rollout)
        s.flush()
        s.add(RolloutTarget(rollout_id=rollout.id, device_id=chosen.id, wave=0, outcome="sent", sent_at=T0))
    from loa.app import create_app

    with TestClient(create_app(settings, engine=world_engine)) as web:
        path = f"/api/v1/devices/{{uid}}/releases/{release.sha256}/{wheel.name}"
        got = web.get(path.format(uid=target), auth=(target, secrets[target]))
        assert got.status_code == 200 and got.content == wheel.read_bytes()
        assert web.get(path.format(uid=other), auth=(other, secrets[other])).status_code == 404
        assert web.get(path.format(uid=target), auth=(target, "wrong")).status_code == 401
        assert web.get(path.format(uid=target)).status_code == 401


def test_administrators_publish_and_roll_out_from_the_page(world_engine: Engine, tmp_path: Path) -> None:
    add_devices(world_engine)
    settings = Settings(
        demo=True, data_dir=tmp_path / "server", secret_key="test-secret-key-0123456789abcdef"
    )  # type: ignore[arg-type]
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "2.0", tiny_agent_files(GOOD_MAIN))
    from loa.app import create_app

    with TestClient(create_app(settings, engine=world_engine)) as web:
        token = login_web(web, "vanhanh.a")
        assert web.get("/fleet/releases").status_code == 403
        token = login_web(web, "quantri")
        page = web.get("/fleet/releases")
        assert page.status_code == 200 and "Chưa có đợt cập nhật nào." in page.text
        bad = web.post(
            "/fleet/releases",
            data={"csrf_token": token, "version": "2.0"},
            files={"wheel": ("notes.txt", b"hello", "text/plain")},
        )
        assert bad.status_code == 422 and "Tên tệp phải là một gói wheel (.whl)." in bad.text
        done = web.post(
            "/fleet/releases",
            data={"csrf_token": token, "version": "2.0"},
            files={"wheel": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
        )
        assert done.status_code == 200 and "Đã phát hành phiên bản 2.0." in done.text
        started = web.post(
            "/fleet/rollouts",
            data={"csrf_token": token, "version": "2.0", "commune_code": COMMUNE_B, "waves": "100"},
        )
        assert started.status_code == 200 and "Đã bắt đầu cập nhật lên phiên bản 2.0." in started.text
        assert "Đang cập nhật" in started.text and "Ba Vì" in started.text
        fleet = web.get("/fleet")
        assert "Cập nhật phần mềm lên phiên bản 2.0 (Ba Vì): <strong" in fleet.text
        assert 'data-testid="version">1.0' in fleet.text
    with make_session_factory(world_engine)() as s:
        assert (
            s.scalar(select(func.count()).select_from(DeviceCommand).where(DeviceCommand.kind == "update"))
            == 1
        )
