"""The device side of ``benchmarks.fleet``, in its own process (the machine's second core).

    python -m benchmarks.fleet_sim --host H --port P --prefix X --credentials FILE --devices N [--fanout T]
        [--server-key B64]

Prints ``READY <seconds to connect>`` once all devices are connected, then answers each ``REPORT``
line on stdin with one JSON line: the fan-out latencies (seconds) received since the last report.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

from benchmarks.common import announce_ready, serve_requests
from loa import eventloop
from loa.protocol.topics import Topics
from loa.sim.device import SimConfig
from loa.sim.fleet import SimFleet, read_credentials


async def main(args: argparse.Namespace) -> None:
    identities = read_credentials(Path(args.credentials))[: args.devices]
    config = SimConfig(
        host=args.host,
        port=args.port,
        topics=Topics(args.prefix),
        heartbeat_s=args.heartbeat_s,
        play_s=3600.0,  # devices keep "playing": no receipt flood in the middle of a measurement
        fanout_topic=args.fanout,
        server_public_key=base64.b64decode(args.server_key) if args.server_key else None,
    )
    fleet = SimFleet(identities, config)
    await fleet.start()
    took = await fleet.wait_connected(timeout_s=600)
    announce_ready(f"{took:.3f}")

    def report(_request: str) -> object:  # REPORT: the fan-out latencies since the last one
        latencies, fleet.stats.fanout_latencies_s = fleet.stats.fanout_latencies_s, []
        return {"fanout": latencies, "commands": fleet.stats.commands, "connected": fleet.stats.connected}

    await serve_requests(report)
    await fleet.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--credentials", required=True)
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--fanout", default=None)
    parser.add_argument("--server-key", default=None, help="base64 Ed25519 public key (group commands)")
    parser.add_argument("--heartbeat-s", type=float, default=30.0)
    eventloop.run(main(parser.parse_args()))
