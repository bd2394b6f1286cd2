"""Alerts: an emergency alert to N simulated loudspeakers through Mosquitto, the same method as
"play now" (``benchmarks.fleet``), beside the broker's own round trip measured in the same run.

Ten communes share the fleet; each device has its manifest (so it knows its commune's group topic,
from the retained ``state`` the gateway publishes). Each round: the broker alone (one QoS 1 publish
to every device, each answering a server-side subscriber; time to 99 % of the answers); a plain "play
now" to every device (``benchmarks.fleet.play_now_round``, for comparison in the same run); then the
operator's path — ``alerts.start_alert`` for every commune (permission, scope, the alert row, the
signed group "play now" at the emergency rung with its repeat, the audit; committed), the gateway
in its own process publishing, the devices' real answers — time from the call to the 99th percentile
answer parsed by the gateway; then the stop, timed the same way (the board's "confirmed the stop").

Besides, the manifests the alert adds: recompiling and storing the signed manifests of
``LOA_BENCH_ALERT_MANIFEST_DEVICES`` (default 1,000) devices that carry an active alert (what the
process's alert thread does after the commit; the devices do not wait for it to get the command).

Environment: ``LOA_BENCH_DEVICES`` (default 10,000), ``LOA_BENCH_POSTGRES_URL``, ``LOA_BENCH_DEBUG``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from benchmarks.common import Result, scratch_database
from benchmarks.fleet import (
    DEBUG,
    DEVICES,
    ROUNDS,
    SHA,
    SIM_HEARTBEAT_S,
    EchoCounter,
    GatewayProcess,
    SimProcess,
    p99_count,
    play_now_round,
    private_mosquitto,
    raw_round_trip_round,
    seed_devices,
    seed_operator,
    settle,
)
from loa import eventloop
from loa.accounts.principal import Principal
from loa.alerts import service as alerts
from loa.db import make_session_factory
from loa.fleet import keys
from loa.fleet import service as fleet
from loa.fleet.models import Device, DeviceCommandBatch, DeviceManifest
from loa.protocol.mqtt_lite import LiteClient
from loa.protocol.topics import Topics
from loa.schedule.manifests import compile_and_store
from loa.sim.fleet import write_credentials
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.speech.store import LocalAudioStore
from loa.units.models import AdminUnit, UnitKind

COMMUNES = 10
MANIFEST_DEVICES = int(os.environ.get("LOA_BENCH_ALERT_MANIFEST_DEVICES", "1000"))


# The benches' audio is a placeholder row (no file to decode): level 4 set to no signal, so the figures
# measure the fan-out and the manifests, as before the lead-in existed.
NO_LEAD_IN = alerts.AiredAudio(LocalAudioStore(Path("/nonexistent")), {4: "none"})


def seed_communes(engine: Engine, uids: list[str]) -> list[str]:
    """A province of ``COMMUNES`` communes sharing the devices, and the alert's audio (20 s)."""
    codes = [f"{29000 + i}" for i in range(COMMUNES)]
    with make_session_factory(engine)() as s, s.begin():
        province = AdminUnit(
            code="99", kind=UnitKind.PROVINCE, name="Tỉnh thử", name_folded="tinh thu", path="/99/"
        )
        s.add(province)
        s.flush()
        for i, code in enumerate(codes):
            unit = AdminUnit(
                code=code,
                kind=UnitKind.COMMUNE,
                name=f"Xã {i}",
                name_folded=f"xa {i}",
                parent_id=province.id,
                path=f"/99/{code}/",
            )
            s.add(unit)
            s.flush()
            s.execute(update(Device).where(Device.uid.in_(uids[i::COMMUNES])).values(commune_id=unit.id))
        s.add(
            AudioAsset(
                sha256=SHA,
                format="mp3",
                size_bytes=320_000,
                duration_ms=20_000,
                loudness_lufs=-16.0,
                true_peak_dbtp=-2.0,
                sample_rate=22_050,
                source_kind=AudioSourceKind.UPLOAD,
                original_filename="canh-bao-bao.mp3",
            )
        )
    return codes


def compile_all(engine: Engine, server_dir: Path) -> float:
    """Compile and store every device's manifest; seconds it took."""
    started = time.perf_counter()
    with make_session_factory(engine)() as s, s.begin():
        compile_and_store(s, key=keys.load_or_create_signing_key(server_dir), full=True, reason="bench")
    return time.perf_counter() - started


async def wait_published(engine: Engine) -> None:
    """Until the gateway published every device's newest manifest reference (``state`` with groups)."""
    factory = make_session_factory(engine)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with factory() as s:
            waiting = s.scalar(select(func.count()).where(DeviceManifest.published_at.is_(None)))
        if not waiting:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("manifest references not published")


async def alert_round(
    engine: Engine, gateway: GatewayProcess, codes: list[str], operator: Principal, n: int
) -> tuple[float, float]:
    """(p99 acknowledged, p99 stop confirmed), seconds from the call."""
    factory = make_session_factory(engine)

    def expected(batch_ids: list[str]) -> set[tuple[str, str]]:
        with factory() as s:
            batches = list(s.scalars(select(DeviceCommandBatch).where(DeviceCommandBatch.id.in_(batch_ids))))
            return {(uid, b.id) for b in batches for _, uid in s.execute(fleet.batch_members(s, batch=b))}

    def start() -> tuple[int, list[str]]:
        with factory() as s, s.begin():
            alert = alerts.start_alert(
                s,
                principal=operator,
                commune_codes=codes,
                audio_sha256=SHA,
                repeat_gap_s=30,
                hazard="storm",
                risk_level=4,
                aired=NO_LEAD_IN,
            )
            return alert.id, [str(b) for b in json.loads(alert.batch_ids)]

    def stop(alert_id: int) -> list[str]:
        with factory() as s, s.begin():
            alert = alerts.stop_alert(s, principal=operator, alert_id=alert_id)
            return [str(b) for b in json.loads(alert.stop_batch_ids or "[]")]

    out: list[float] = []
    alert_id = 0
    for what in ("start", "stop"):
        await settle(gateway.received, n, SIM_HEARTBEAT_S)
        await gateway.reset_clock()
        started = time.perf_counter()
        if what == "start":
            alert_id, batch_ids = await asyncio.to_thread(start)
        else:
            batch_ids = await asyncio.to_thread(stop, alert_id)
        wanted = await asyncio.to_thread(expected, batch_ids)
        assert len(wanted) == n, f"the alert addressed {len(wanted)} of {n} devices"
        done = await gateway.clock.wait_for(wanted, p99_count(n), gateway.refresh, timeout_s=120)
        out.append(done - started)
        if DEBUG:
            sys.stderr.write(f"alert {what}: p99 {out[-1]:.3f} s\n")
    return out[0], out[1]


async def mosquitto_bench(
    engine: Engine, workdir: Path, creds: Path, codes: list[str], operator: Principal, server_dir: Path
) -> list[Result]:
    topics = Topics(f"e{uuid.uuid4().hex[:6]}")
    fanout = f"{topics.prefix}/bench/fanout"
    server_key = keys.public_key_b64(keys.load_or_create_signing_key(server_dir))
    # Every device's manifest first: the gateway publishes their retained ``state`` (with the commune's
    # group), which the simulated devices find when they subscribe.
    await asyncio.to_thread(compile_all, engine, server_dir)
    with private_mosquitto(workdir) as port:
        url = engine.url.render_as_string(hide_password=False)
        gateway = await GatewayProcess.start(
            port=port, prefix=topics.prefix, database_url=url, data_dir=server_dir
        )
        sim: SimProcess | None = None
        try:
            await wait_published(engine)
            sim = await SimProcess.start(
                port=port,
                prefix=topics.prefix,
                credentials=creds,
                devices=DEVICES,
                fanout=fanout,
                server_key=server_key,
            )
            echoes = EchoCounter()
            publisher = LiteClient(f"bench-publisher-{uuid.uuid4().hex[:6]}", on_message=echoes.on_message)
            await publisher.connect("127.0.0.1", port)
            await publisher.subscribe([(f"{fanout}/echo/+", 1)])
            round_trip: list[float] = []
            play_now: list[float] = []
            acknowledged: list[float] = []
            stopped: list[float] = []
            uids = await asyncio.to_thread(_uids, engine)
            for i in range(ROUNDS):
                await settle(gateway.received, DEVICES, SIM_HEARTBEAT_S)
                round_trip.append(await raw_round_trip_round(publisher, echoes, fanout, DEVICES))
                play_now.append(await play_now_round(engine, gateway, uids, f"bench-{i}", operator))
                ack_s, stop_s = await alert_round(engine, gateway, codes, operator, DEVICES)
                acknowledged.append(ack_s)
                stopped.append(stop_s)
            raw_s, ack_s = statistics.median(round_trip), statistics.median(acknowledged)
            return [
                Result(f"alerts.mosquitto.raw_round_trip_p99_{DEVICES}", raw_s, "s"),
                Result(f"alerts.mosquitto.alert_acknowledged_p99_{DEVICES}", ack_s, "s", target=1.0),
                Result(f"alerts.mosquitto.alert_vs_raw_round_trip_{DEVICES}", ack_s / raw_s, "ratio"),
                Result(f"alerts.mosquitto.play_now_p99_{DEVICES}", statistics.median(play_now), "s"),
                Result(
                    f"alerts.mosquitto.stop_confirmed_p99_{DEVICES}",
                    statistics.median(stopped),
                    "s",
                    target=1.0,
                ),
            ]
        finally:
            if sim is not None:
                await sim.stop()
            await gateway.stop()


def _uids(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as s:
        return list(s.scalars(select(Device.uid).order_by(Device.uid)))


def manifests_bench(engine: Engine, operator: Principal, server_dir: Path) -> Result:
    """Recompile and store the manifests of ``MANIFEST_DEVICES`` devices after an alert starts."""
    factory = make_session_factory(engine)
    with factory() as s:
        code = s.scalar(
            select(AdminUnit.code).where(AdminUnit.kind == UnitKind.COMMUNE).order_by(AdminUnit.code)
        )
        unit_id = s.scalar(select(AdminUnit.id).where(AdminUnit.code == code))
        uids = list(s.scalars(select(Device.uid).where(Device.commune_id == unit_id).order_by(Device.uid)))
    assert code is not None and len(uids) >= MANIFEST_DEVICES, "not enough devices for the manifest bench"
    with factory() as s, s.begin():
        s.execute(update(Device).where(Device.uid.in_(uids[MANIFEST_DEVICES:])).values(active=False))
        s.execute(update(Device).where(Device.commune_id != unit_id).values(active=False))
    compile_all(engine, server_dir)  # the baseline: the same devices without the alert
    with factory() as s, s.begin():
        alerts.start_alert(
            s, principal=operator, commune_codes=[code], audio_sha256=SHA, repeat_gap_s=30,
            hazard="storm", risk_level=4, aired=NO_LEAD_IN,
        )  # fmt: skip
    took = compile_all(engine, server_dir)
    return Result(f"alerts.manifests_with_alert_{MANIFEST_DEVICES}", took, "s")


def run() -> Iterable[Result]:
    with tempfile.TemporaryDirectory(prefix="loa-bench-alerts-") as tmp, scratch_database("alerts") as engine:
        workdir = Path(tmp)
        identities = seed_devices(engine, DEVICES)
        creds = workdir / "sim.json"
        write_credentials(creds, identities)
        codes = seed_communes(engine, [i.uid for i in identities])
        operator = seed_operator(engine)
        server_dir = workdir / "server-keys"
        yield from eventloop.run(mosquitto_bench(engine, workdir, creds, codes, operator, server_dir))
        yield manifests_bench(engine, operator, server_dir)


if __name__ == "__main__":
    for result in run():
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
