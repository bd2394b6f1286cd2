"""Agent releases and their rollouts (issue 18.4; docs/agent.md, docs/security.md).

* ``publish``: an administrator's wheel is checked (a zip with a ``.dist-info``), stored by SHA-256 in
  ``data_dir/releases/``, and signed with the *release* key (``loa.fleet.keys``), never the manifest
  key, over ``messages.release_signed_bytes(version, sha256)``; audited.
* ``start_rollout``: the devices of one commune (or all) are shuffled deterministically into waves of
  cumulative percentages ("5,25,100"): the first wave is sent at once (one ``update`` command each).
* ``advance``: a wave is over when each of its devices reports the release (``agent_version``) or
  could not take it for its data budget; then the next wave goes out. A device whose update failed,
  that rolled back (reports ``rolled_back_from`` the release) or stayed silent past ``WAVE_TIMEOUT``
  halts the rollout (``halted``), audited: an administrator looks before anything else is sent.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.db.base import utcnow
from loa.errors import InvalidInput, NotFound
from loa.fleet import keys, service
from loa.fleet.models import AgentRelease, Device, DeviceCommand, Rollout, RolloutTarget
from loa.protocol import messages as m
from loa.units.models import AdminUnit

RELEASES_DIR = "releases"
MAX_WHEEL_BYTES = 50 * 1024 * 1024
WAVE_TIMEOUT = timedelta(hours=24)
UPDATE_TTL = timedelta(hours=24)
DEFAULT_WAVES = (5, 25, 100)
WHEEL_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,120}\.whl$")


@dataclass(frozen=True)
class StateInfo:
    label: str
    colour: str


ROLLOUT_STATES: dict[str, StateInfo] = {
    "running": StateInfo("Đang cập nhật", "blue"),
    "halted": StateInfo("Đã dừng vì lỗi", "red"),
    "done": StateInfo("Hoàn tất", "green"),
}
TARGET_OUTCOMES: dict[str, StateInfo] = {
    "waiting": StateInfo("Chờ đợt sau", "grey"),
    "sent": StateInfo("Đã gửi lệnh cập nhật", "blue"),
    "updated": StateInfo("Đã cập nhật, hoạt động tốt", "green"),
    "skipped": StateInfo("Bỏ qua (hết dung lượng dữ liệu)", "grey"),
    "failed": StateInfo("Cập nhật thất bại", "red"),
    "rolled_back": StateInfo("Đã quay lại phiên bản trước", "red"),
}


def wheel_path(data_dir: Path, sha256: str) -> Path:
    return data_dir / RELEASES_DIR / f"{sha256}.whl"


def _check_wheel(data: bytes, filename: str) -> None:
    if not WHEEL_NAME.match(filename):
        raise InvalidInput("Tên tệp phải là một gói wheel (.whl).", code="release_bad_name")
    if len(data) > MAX_WHEEL_BYTES:
        raise InvalidInput("Tệp phần mềm quá lớn.", code="release_too_large")
    try:
        import io

        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as err:
        raise InvalidInput("Tệp không phải là gói wheel hợp lệ.", code="release_not_wheel") from err
    if not any(n.split("/")[0].endswith(".dist-info") and n.endswith("/WHEEL") for n in names):
        raise InvalidInput("Tệp không phải là gói wheel hợp lệ.", code="release_not_wheel")


def publish(
    session: Session, *, data: bytes, filename: str, version: str, data_dir: Path, published_by: str
) -> AgentRelease:
    if not re.match(m.RELEASE_VERSION_PATTERN, version):
        raise InvalidInput("Số phiên bản không hợp lệ.", code="release_bad_version")
    _check_wheel(data, filename)
    if session.scalar(select(AgentRelease.id).where(AgentRelease.version == version)) is not None:
        raise InvalidInput("Phiên bản này đã được phát hành.", code="release_exists")
    sha256 = hashlib.sha256(data).hexdigest()
    key = keys.load_or_create_release_key(data_dir)
    signature = base64.b64encode(key.sign(m.release_signed_bytes(version, sha256))).decode()
    path = wheel_path(data_dir, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    release = AgentRelease(
        version=version,
        filename=filename,
        sha256=sha256,
        size_bytes=len(data),
        signature=signature,
        published_by=published_by,
    )
    session.add(release)
    session.flush()
    audit.record(
        session,
        action="agent.release_publish",
        actor_name=published_by,
        target_type="agent_release",
        target_id=version,
        details={"version": version, "size_bytes": len(data)},
    )
    return release


def release_for_device(session: Session, *, device: Device, sha256: str) -> AgentRelease | None:
    """The release ``sha256`` if an update command for it was sent to ``device`` (else None)."""
    release = session.scalar(select(AgentRelease).where(AgentRelease.sha256 == sha256))
    if release is None:
        return None
    sent = session.scalar(
        select(RolloutTarget.device_id)
        .join(Rollout, Rollout.id == RolloutTarget.rollout_id)
        .where(
            Rollout.release_id == release.id,
            RolloutTarget.device_id == device.id,
            RolloutTarget.sent_at.is_not(None),
        )
    )
    return release if sent is not None else None


def parse_waves(text: str) -> tuple[int, ...]:
    try:
        waves = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError as err:
        raise InvalidInput("Các đợt phải là phần trăm, ví dụ 5,25,100.", code="rollout_bad_waves") from err
    if (
        not waves
        or waves[-1] != 100
        or any(not 0 < w <= 100 for w in waves)
        or list(waves) != sorted(set(waves))
    ):
        raise InvalidInput(
            "Các đợt phải là phần trăm tăng dần và kết thúc ở 100, ví dụ 5,25,100.", code="rollout_bad_waves"
        )
    return waves


def wave_sizes(count: int, waves: tuple[int, ...]) -> list[int]:
    """How many devices each wave adds (each wave at least one while devices remain)."""
    sizes, done = [], 0
    for percent in waves:
        upto = min(count, max(done + 1, -(-count * percent // 100)))
        sizes.append(upto - done)
        done = upto
    return sizes


def start_rollout(
    session: Session,
    *,
    version: str,
    commune_code: str | None,
    waves: tuple[int, ...] = DEFAULT_WAVES,
    created_by: str,
    now: datetime | None = None,
) -> Rollout:
    now = now or utcnow()
    release = session.scalar(select(AgentRelease).where(AgentRelease.version == version))
    if release is None:
        raise NotFound("Không tìm thấy phiên bản phần mềm.", code="release_not_found")
    query = select(Device).where(Device.active.is_(True), Device.enrolled_at.is_not(None))
    commune_id = None
    if commune_code:
        commune_id = session.scalar(select(AdminUnit.id).where(AdminUnit.code == commune_code))
        if commune_id is None:
            raise NotFound("Không tìm thấy xã.", code="unit_not_found")
        query = query.where(Device.commune_id == commune_id)
    devices = [d for d in session.scalars(query.order_by(Device.uid)) if d.agent_version != version]
    if not devices:
        raise InvalidInput("Không có cụm loa nào cần cập nhật.", code="rollout_empty")
    random.Random(f"{version}:{commune_code}").shuffle(devices)  # the same order if started again
    rollout = Rollout(
        release_id=release.id,
        commune_id=commune_id,
        waves=",".join(str(w) for w in waves),
        wave=0,
        state="running",
        created_by=created_by,
        created_at=now,
    )
    session.add(rollout)
    session.flush()
    start = 0
    for index, size in enumerate(wave_sizes(len(devices), waves)):
        for device in devices[start : start + size]:
            session.add(RolloutTarget(rollout_id=rollout.id, device_id=device.id, wave=index))
        start += size
    session.flush()
    audit.record(
        session,
        action="agent.rollout_start",
        actor_name=created_by,
        target_type="agent_release",
        target_id=version,
        area_id=commune_id,
        details={"version": version, "count": len(devices), "waves": rollout.waves},
        at=now,
    )
    _send_wave(session, rollout, release, 0, now)
    return rollout


def _send_wave(session: Session, rollout: Rollout, release: AgentRelease, wave: int, now: datetime) -> None:
    args = {
        "version": release.version,
        "url": f"/api/v1/devices/releases/{release.sha256}/{release.filename}",
        "sha256": release.sha256,
        "size_bytes": release.size_bytes,
        "signature": release.signature,
    }
    targets = session.scalars(
        select(RolloutTarget).where(RolloutTarget.rollout_id == rollout.id, RolloutTarget.wave == wave)
    )
    for target in targets:
        device = session.get(Device, target.device_id)
        if device is None:
            continue
        (issued,) = service.issue_command(
            session,
            devices=[device],
            kind="update",
            args=args,
            issued_by=rollout.created_by,
            ttl=UPDATE_TTL,
            now=now,
        )
        target.command_id, target.outcome, target.sent_at = issued.id, "sent", now
    rollout.wave = wave
    session.flush()


def _target_outcome(
    target: RolloutTarget, device: Device, command: DeviceCommand | None, version: str, now: datetime
) -> str:
    if device.rolled_back_from == version:
        return "rolled_back"
    if device.agent_version == version:
        return "updated"
    if command is not None and command.result in ("failed", "rejected", "expired"):
        return "skipped" if command.result_detail == "budget" else "failed"
    if target.sent_at is not None and now - target.sent_at > WAVE_TIMEOUT:
        return "failed"
    return "sent"


def advance(session: Session, rollout: Rollout, *, now: datetime) -> str:
    """Move one running rollout on; returns its state."""
    release = session.get(AgentRelease, rollout.release_id)
    if release is None or rollout.state != "running":
        return rollout.state
    rows = session.execute(
        select(RolloutTarget, Device, DeviceCommand)
        .join(Device, Device.id == RolloutTarget.device_id)
        .outerjoin(DeviceCommand, DeviceCommand.id == RolloutTarget.command_id)
        .where(RolloutTarget.rollout_id == rollout.id, RolloutTarget.wave == rollout.wave)
    ).all()
    for target, device, command in rows:
        if target.outcome in ("sent", "updated"):
            target.detail = (command.result_detail or "") if command is not None else ""
            target.outcome = _target_outcome(target, device, command, release.version, now)
    bad = [t for t, _, _ in rows if t.outcome in ("failed", "rolled_back")]
    if bad:
        return _finish(session, rollout, "halted", now, f"{len(bad)} cụm loa cập nhật không thành công")
    if any(t.outcome == "sent" for t, _, _ in rows):
        return rollout.state
    last_wave = len(rollout.waves.split(",")) - 1
    next_wave = rollout.wave + 1
    while next_wave <= last_wave:
        has_targets = session.scalar(
            select(RolloutTarget.device_id).where(
                RolloutTarget.rollout_id == rollout.id, RolloutTarget.wave == next_wave
            )
        )
        if has_targets is not None:
            _send_wave(session, rollout, release, next_wave, now)
            return rollout.state
        next_wave += 1
    return _finish(session, rollout, "done", now, "")


def _finish(session: Session, rollout: Rollout, state: str, now: datetime, detail: str) -> str:
    rollout.state, rollout.finished_at, rollout.detail = state, now, detail
    release = session.get(AgentRelease, rollout.release_id)
    audit.record(
        session,
        action="agent.rollout_halted" if state == "halted" else "agent.rollout_done",
        actor_name="hệ thống",
        target_type="agent_release",
        target_id=release.version if release else "",
        area_id=rollout.commune_id,
        details={"rollout_state": ROLLOUT_STATES[state].label, **({"reason": detail} if detail else {})},
        at=now,
    )
    session.flush()
    return state


def advance_all(session: Session, *, now: datetime) -> None:
    for rollout in list(session.scalars(select(Rollout).where(Rollout.state == "running"))):
        advance(session, rollout, now=now)


@dataclass(frozen=True)
class RolloutView:
    key: str  # running | halted | done
    version: str
    area: str
    state: str
    state_colour: str
    wave_text: str
    counts: list[tuple[str, int]]
    detail: str


def rollout_views(session: Session, *, limit: int = 10) -> list[RolloutView]:
    """The latest rollouts in words, for the fleet page."""
    views = []
    rollouts = session.scalars(select(Rollout).order_by(Rollout.id.desc()).limit(limit))
    for rollout in rollouts:
        release = session.get(AgentRelease, rollout.release_id)
        area = session.get(AdminUnit, rollout.commune_id) if rollout.commune_id else None
        outcomes = list(
            session.scalars(select(RolloutTarget.outcome).where(RolloutTarget.rollout_id == rollout.id))
        )
        counts = [
            (info.label, outcomes.count(key)) for key, info in TARGET_OUTCOMES.items() if outcomes.count(key)
        ]
        waves = rollout.waves.split(",")
        state = ROLLOUT_STATES.get(rollout.state, ROLLOUT_STATES["halted"])
        views.append(
            RolloutView(
                key=rollout.state,
                version=release.version if release else "",
                area=area.name if area else "Toàn bộ cụm loa",
                state=state.label,
                state_colour=state.colour,
                wave_text=f"Đợt {rollout.wave + 1}/{len(waves)} ({waves[rollout.wave]} %)",
                counts=counts,
                detail=rollout.detail,
            )
        )
    return views
