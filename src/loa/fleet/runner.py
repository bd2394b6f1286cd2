"""The long-running fleet processes (broker, gateway) from ``Settings`` and the ``Process`` their
entry point wired (``loa.wiring.wire``): its session factory, doorbell and periodic work."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable

from sqlalchemy import Engine

from loa.fleet import keys, queries
from loa.fleet.broker import DeviceCredentials, EmbeddedBroker, StaticCredentials
from loa.fleet.gateway import Gateway, GatewayConfig
from loa.process import Periodic, Process
from loa.protocol.topics import Topics
from loa.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BACKEND_USER = "loa_backend"  # not a valid device id, so never a device's username


def backend_credentials(settings: Settings, index: int | None = None) -> tuple[str, str]:
    """The MQTT login of gateway ``index`` (default: this process's ``gateway_index``): from settings,
    else derived from the secret key (same on every process of one installation, so ``loa broker
    run`` and ``loa gateway run`` agree). Gateway 1 is ``loa_backend``, gateway 2 ``loa_backend_2``…:
    Mosquitto allows one connection per username."""
    index = settings.gateway_index if index is None else index
    suffix = "" if index == 1 else f"_{index}"
    if settings.mqtt_username and settings.mqtt_password:
        return settings.mqtt_username + suffix, settings.mqtt_password.get_secret_value()
    key = settings.secret_key.get_secret_value().encode()
    password = hmac.new(key, f"loa-mqtt-backend{suffix}".encode(), hashlib.sha256).hexdigest()
    return DEFAULT_BACKEND_USER + suffix, password


def backend_accounts(settings: Settings, gateways: int) -> list[tuple[str, str]]:
    """(username, password) of gateways 1…``gateways``."""
    return [backend_credentials(settings, i) for i in range(1, gateways + 1)]


def broker_addresses(settings: Settings) -> list[tuple[str, int]]:
    """``mqtt_host:mqtt_port`` then ``mqtt_fallback_brokers``, in order."""
    first = settings.mqtt_host if settings.mqtt_host != "0.0.0.0" else "127.0.0.1"
    out = [(first, settings.mqtt_port)]
    for item in filter(None, (x.strip() for x in settings.mqtt_fallback_brokers.split(","))):
        host, _, port = item.rpartition(":")
        out.append((host, int(port)))
    return out


def embedded_broker(settings: Settings, engine: Engine, *, host: str | None = None) -> EmbeddedBroker:
    user, password = backend_credentials(settings)
    return EmbeddedBroker(
        host=host or settings.mqtt_host,
        port=settings.mqtt_port,
        store=DeviceCredentials(engine, StaticCredentials({user: password})),
        topics=Topics(settings.mqtt_topic_prefix),
        backend_users=[user],
    )


def gateway(settings: Settings, process: Process) -> Gateway:
    user, password = backend_credentials(settings)
    (host, port), *fallback = broker_addresses(settings)
    suffix = "" if settings.gateway_index == 1 else f"-{settings.gateway_index}"
    config = GatewayConfig(
        host=host,
        port=port,
        fallback_brokers=tuple(fallback),
        username=user,
        password=password,
        topics=Topics(settings.mqtt_topic_prefix),
        shared_subscriptions=settings.mqtt_mode == "external",
        ingest=settings.mqtt_ingest,
        nats_urls=tuple(filter(None, (u.strip() for u in settings.nats_urls.split(",")))),
        client_id=f"loa-gateway-{settings.mqtt_topic_prefix}{suffix}",
        signing_key=keys.load_or_create_signing_key(settings.data_dir),
    )
    return Gateway(config, process.sessions, process.doorbell)


async def run_periodic(job: Periodic) -> None:
    """``job`` every ``job.interval_s`` until cancelled; a failure is logged once (and once when it
    works again), never fatal to the gateway beside it."""
    await _every(job.interval_s, job.work, job.what)


async def _every(interval_s: float, work: Callable[[], None], what: str) -> None:
    """Run ``work`` in a thread every ``interval_s`` until cancelled; a failure is logged once (and
    once when it works again), never fatal to the gateway beside it."""
    failing = False
    while True:
        try:
            await asyncio.to_thread(work)
        except Exception:
            if not failing:
                log.exception("%s failed (will retry)", what)
            failing = True
        else:
            if failing:
                log.info("%s works again", what)
            failing = False
        await asyncio.sleep(interval_s)


async def run_fleet(
    settings: Settings, engine: Engine, process: Process, *, with_broker: bool, with_gateway: bool
) -> None:
    """Run the embedded broker and/or the gateway (with the process's periodic work, e.g. the
    manifest recompilation) until cancelled (Ctrl-C)."""
    broker = embedded_broker(settings, engine) if with_broker else None
    if broker is not None:
        await broker.start()
    side_tasks: list[asyncio.Task[None]] = []
    try:
        if with_gateway:
            for job in process.periodic:
                side_tasks.append(asyncio.create_task(run_periodic(job), name=job.what))
            if settings.mosquitto_password_file is not None and settings.gateway_index == 1:
                passwords = asyncio.create_task(sync_passwords(settings, process), name="mosquitto-passwords")
                side_tasks.append(passwords)
            if settings.nats_accounts_file is not None and settings.gateway_index == 1:
                accounts = asyncio.create_task(sync_nats_accounts(settings, process), name="nats-accounts")
                side_tasks.append(accounts)
            await gateway(settings, process).run()
        else:
            await asyncio.Event().wait()
    finally:
        for task in side_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if broker is not None:
            await broker.stop()


async def sync_passwords(settings: Settings, process: Process, *, interval_s: float = 5.0) -> None:
    """Keep ``mosquitto_password_file`` in step with the device registry (``PasswordFileSync``),
    checked every ``interval_s``; a failure is logged once, never fatal to the gateway."""
    from loa.fleet.mosquitto import PasswordFileSync

    assert settings.mosquitto_password_file is not None
    user, password = backend_credentials(settings)
    syncer = PasswordFileSync(
        settings.mosquitto_password_file,
        backend_user=user,
        backend_password=password,
        pid_file=settings.mosquitto_pid_file,
    )

    def once() -> None:
        with process.sessions() as session:
            syncer.sync(queries.device_password_entries(session))

    await _every(interval_s, once, "Mosquitto password file update")


async def sync_nats_accounts(settings: Settings, process: Process, *, interval_s: float = 2.0) -> None:
    """Keep ``nats_accounts_file`` in step with the device registry (``nats.AccountsFileSync``)."""
    from pathlib import Path

    from loa.fleet.nats import AccountsFileSync

    assert settings.nats_accounts_file is not None
    pids = [Path(p.strip()) for p in settings.nats_pid_files.split(",") if p.strip()]
    syncer = AccountsFileSync(
        settings.nats_accounts_file, topics=Topics(settings.mqtt_topic_prefix), pid_files=pids
    )

    def once() -> None:
        with process.sessions() as session:
            syncer.sync(queries.device_bcrypt_entries(session))

    await _every(interval_s, once, "NATS accounts file update")
