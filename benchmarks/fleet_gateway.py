"""The gateway of ``benchmarks.fleet``, in its own process, as ``loa gateway run`` runs beside the web
application in production: it learns of new commands from PostgreSQL's NOTIFY (or its poll).

    python -m benchmarks.fleet_gateway --port P --prefix X --database-url URL --data-dir DIR
        [--per-device] [--password P --ingest jetstream --nats-urls nats://…]

Prints ``READY`` once subscribed; answers each ``STATS`` line on stdin with one JSON line of its
counters, each ``ARRIVALS n`` with the command results it parsed from the n-th on (device id,
command id, ``time.perf_counter()``); stops on ``QUIT`` or end of input.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

from sqlalchemy import create_engine

from benchmarks.common import announce_ready, serve_requests
from loa import eventloop
from loa.db import make_session_factory
from loa.fleet import keys
from loa.fleet.gateway import Gateway, GatewayConfig
from loa.protocol import messages as m
from loa.protocol.topics import Topics


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, format="gateway %(relativeCreated)d ms %(message)s")
    if os.environ.get("LOA_BENCH_DEBUG") == "1":
        logging.getLogger("loa.fleet.gateway").setLevel(logging.DEBUG)
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    engine = create_engine(args.database_url)
    config = GatewayConfig(
        host="127.0.0.1",
        port=args.port,
        username="loa_backend",
        password=args.password,
        topics=Topics(args.prefix),
        shared_subscriptions=True,
        ingest=args.ingest,
        nats_urls=tuple(u for u in args.nats_urls.split(",") if u),
        client_id=f"bench-gw-{args.prefix}",
        signing_key=None if args.per_device else keys.load_or_create_signing_key(Path(args.data_dir)),
    )
    gateway = Gateway(config, make_session_factory(engine))
    answers: list[tuple[str, str, float]] = []

    def timed(uid: str, message: m.DeviceMessage) -> None:
        if isinstance(message, m.CommandResult):
            answers.append((uid, message.command_id, time.perf_counter()))

    gateway.on_message = timed
    task = asyncio.create_task(gateway.run())
    try:
        await asyncio.wait_for(gateway.ready.wait(), 30)
        announce_ready()

        def answer(request: str) -> object:
            if request.startswith("ARRIVALS"):
                return answers[int(request.split()[1]) :]
            stats = gateway.stats  # STATS
            return {
                "received": stats.received,
                "dropped": stats.dropped_total,
                "statuses": stats.statuses,
                "group_messages_sent": stats.group_messages_sent,
                "commands_sent": stats.commands_sent,
            }

        await serve_requests(answer)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", required=True, help="where the server's signing key is")
    parser.add_argument("--per-device", action="store_true", help="no group messages (the old path)")
    parser.add_argument("--password", default="", help="the backend account's (a NATS cluster)")
    parser.add_argument("--ingest", default="mqtt", choices=["mqtt", "jetstream"])
    parser.add_argument("--nats-urls", default="", help="comma-separated (--ingest jetstream)")
    eventloop.run(main(parser.parse_args()))
