"""Many simulated devices in one asyncio process, plus provisioning them in the database.

``provision`` creates devices (enrolled, with fresh secrets) and writes their credentials to a JSON
file (0600) that ``SimFleet`` reads; the embedded broker authenticates them from the database like
real devices. On a broker without authentication any username works.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.errors import InvalidInput, NotFound
from loa.fleet import credentials, service
from loa.fleet.models import Device, DeviceStatusLog, StatusEvent
from loa.sim.device import SimConfig, SimDevice, SimIdentity, SimStats
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "sim-devices.json"
CONNECT_CONCURRENCY = 200
BA_TO = (14.7725, 108.7286)  # centre of xã Ba Tơ, for simulated devices without a place


def read_credentials(path: Path) -> list[SimIdentity]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise InvalidInput(f"Tệp thông tin thiết bị mô phỏng {path} bị hỏng.") from err
    return [SimIdentity(uid, secret) for uid, secret in raw.items()]


def write_credentials(path: Path, identities: Sequence[SimIdentity]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = {i.uid: i.secret for i in read_credentials(path)}
    existing.update({i.uid: i.secret for i in identities})
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(existing, fh, indent=0)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def provision(
    session: Session,
    *,
    count: int,
    commune_code: str | None,
    names: Sequence[str] = (),
    centre: tuple[float, float] | None = BA_TO,
    spread_km: float = 2.0,
    seed: int | None = None,
) -> list[SimIdentity]:
    """Create ``count`` enrolled devices (named from ``names`` first) and return their credentials."""
    if not 1 <= count <= 100_000:
        raise InvalidInput("Số thiết bị mô phỏng phải từ 1 đến 100.000.")
    commune_id = None
    if commune_code:
        unit = session.scalar(select(AdminUnit).where(AdminUnit.code == commune_code))
        if unit is None:
            raise NotFound(f"Không tìm thấy đơn vị hành chính mã {commune_code}.")
        commune_id = unit.id
    rng = random.Random(seed)
    now = utcnow()
    out = []
    for i in range(count):
        lat = lon = None
        if centre is not None:
            d_lat = rng.uniform(-1, 1) * spread_km / 111.32
            d_lon = rng.uniform(-1, 1) * spread_km / (111.32 * math.cos(math.radians(centre[0])))
            lat, lon = round(centre[0] + d_lat, 5), round(centre[1] + d_lon, 5)
        name = names[i] if i < len(names) else f"Cụm loa mô phỏng {i + 1}"
        device = service.create_device(session, name=name, commune_id=commune_id, latitude=lat, longitude=lon)
        secret = credentials.new_secret()
        device.secret_sha256 = credentials.sha256_hex(secret)
        device.mqtt_password_hash = credentials.mosquitto_hash(secret)
        device.bcrypt_password_hash = credentials.bcrypt_hash(secret)
        device.enrolled_at = now
        session.add(DeviceStatusLog(device_id=device.id, at=now, event=StatusEvent.ENROLLED, detail="sim"))
        out.append(SimIdentity(device.uid, secret))
    session.flush()
    return out


def known_uids(session: Session, uids: Sequence[str]) -> set[str]:
    return set(session.scalars(select(Device.uid).where(Device.uid.in_(list(uids)))))


class SimFleet:
    """Run ``identities`` as simulated devices until ``stop()``."""

    def __init__(self, identities: Sequence[SimIdentity], config: SimConfig) -> None:
        self.config = config
        self.stats = SimStats()
        # One HTTP client for every device's manifest fetches (each request carries its own credentials).
        self.http = httpx.AsyncClient(timeout=30.0) if config.server_url else None
        self.devices = [SimDevice(i, config, self.stats, http=self.http) for i in identities]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self._tasks = [asyncio.create_task(d.run(gate), name=f"sim-{d.identity.uid}") for d in self.devices]

    async def wait_connected(self, fraction: float = 1.0, timeout_s: float = 120.0) -> float:
        """Seconds until ``fraction`` of the devices are connected (raises TimeoutError)."""
        started = time.monotonic()
        needed = math.ceil(len(self.devices) * fraction)
        while self.stats.connected < needed:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{self.stats.connected}/{len(self.devices)} devices connected")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.gather(*(d.stop() for d in self.devices), return_exceptions=True)
        if self.http is not None:
            await self.http.aclose()

    async def run_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()


def server_public_key(data_dir: Path, *, create: bool = False) -> bytes | None:
    """The server's Ed25519 public key from its data directory (simulated devices verify group
    commands with it, as a real device does with the key pinned at enrolment). None when this
    machine has no key and ``create`` is false (a simulator pointed at another server)."""
    from loa.fleet import keys
    from loa.protocol import manifest as mf

    if not create and not keys.key_path(data_dir).exists():
        return None
    return mf.public_key_bytes(keys.load_or_create_signing_key(data_dir))
