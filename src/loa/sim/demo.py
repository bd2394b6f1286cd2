"""The live part of ``loa demo``: six simulated loudspeakers in xã Ba Tơ (21484), behind the embedded
broker and the gateway, so the fleet page has something to show from the first second. Given the
server's address they fetch their signed manifests and play their schedule, so receipts accumulate
as they would from real loudspeakers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.fleet import service
from loa.fleet.models import Device
from loa.fleet.runner import run_fleet
from loa.process import Process
from loa.protocol.topics import Topics
from loa.settings import Settings
from loa.sim.device import SimConfig
from loa.sim.fleet import (
    CREDENTIALS_FILE,
    SimFleet,
    known_uids,
    provision,
    read_credentials,
    server_public_key,
    write_credentials,
)
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

DEMO_COMMUNE = "21484"
DEMO_DEVICE_NAMES = (
    "Cụm loa UBND xã Ba Tơ",
    "Cụm loa chợ Ba Tơ",
    "Cụm loa Tổ dân phố 1",
    "Cụm loa Tổ dân phố 2",
    "Cụm loa Thôn 1",
    "Cụm loa Thôn 2",
)
PLAY_NOW_S = 20  # a "play now" of audio no manifest item carries (the simulator cannot measure it)


def seed_demo_devices(session: Session, settings: Settings) -> list[str]:
    """Idempotent: the six devices exist once, with their secrets in ``data_dir/sim-devices.json``."""
    path = settings.data_dir / CREDENTIALS_FILE
    have = read_credentials(path)
    if have and len(known_uids(session, [i.uid for i in have])) >= len(DEMO_DEVICE_NAMES):
        return []
    if session.scalar(select(AdminUnit.id).where(AdminUnit.code == DEMO_COMMUNE)) is None:
        return []
    stale = session.scalars(select(Device).where(Device.name.in_(DEMO_DEVICE_NAMES)))
    for device in stale:  # devices whose secrets were lost with the credentials file
        device.name = f"{device.name} (cũ)"
        service.deactivate_device(session, device=device)
    created = provision(
        session, count=len(DEMO_DEVICE_NAMES), commune_code=DEMO_COMMUNE, names=DEMO_DEVICE_NAMES, seed=21484
    )
    write_credentials(path, created)
    return [f"Cụm loa mô phỏng: {len(created)} cụm ở xã Ba Tơ."]


@dataclass
class DemoFleet:
    """The background thread running broker, gateway and simulated loudspeakers; ``fleet`` once up."""

    thread: threading.Thread | None = None
    started: threading.Event = field(default_factory=threading.Event)
    fleet: SimFleet | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _main: asyncio.Task[None] | None = None

    def stop(self, timeout_s: float = 15.0) -> None:
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(main.cancel)
        if self.thread is not None:
            self.thread.join(timeout_s)


def start_demo_fleet(
    settings: Settings, engine: Engine, process: Process, *, server_url: str | None = None
) -> DemoFleet:
    """Broker, gateway and the simulated devices in a background thread (daemon: dies with the server).
    ``process``: the one the web app beside them uses (``loa.wiring.wire``); ``server_url``: where
    they fetch their manifests (the demo's own web server) to play them."""
    handle = DemoFleet()

    async def main() -> None:
        handle._loop, handle._main = asyncio.get_running_loop(), asyncio.current_task()
        identities = read_credentials(settings.data_dir / CREDENTIALS_FILE)[: len(DEMO_DEVICE_NAMES)]
        fleet_task = asyncio.create_task(
            run_fleet(settings, engine, process, with_broker=True, with_gateway=True)
        )
        sim: SimFleet | None = None
        try:
            await asyncio.sleep(0.5)  # the broker binds its port
            if fleet_task.done():
                fleet_task.result()  # raises the reason (e.g. the port is taken)
            config = SimConfig(
                host="127.0.0.1", port=settings.mqtt_port, topics=Topics(settings.mqtt_topic_prefix),
                heartbeat_s=15, play_s=PLAY_NOW_S,
                server_public_key=server_public_key(settings.data_dir, create=True),
                server_url=server_url,
            )  # fmt: skip
            sim = handle.fleet = SimFleet(identities, config)
            await sim.start()
            handle.started.set()
            await fleet_task
        finally:
            if sim is not None:
                await sim.stop()
            fleet_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await fleet_task

    def target() -> None:
        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass  # stopped
        except OSError as err:
            log.warning("không chạy được broker MQTT nhúng ở cổng %d: %s", settings.mqtt_port, err)
        except Exception:
            log.exception("cụm loa mô phỏng dừng vì lỗi")

    handle.thread = threading.Thread(target=target, name="loa-demo-fleet", daemon=True)
    handle.thread.start()
    return handle
