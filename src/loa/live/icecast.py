"""Icecast 2 (Debian ``icecast2``) as Loa's production stream server.

``loa live icecast-config`` writes an ``icecast.xml`` whose default mount delegates both sides to Loa
(Icecast URL authentication): a listener is let in only when Loa's ``listener_add`` answers
``icecast-auth-user: 1`` for its token (``loa.protocol.streams``); a source (Loa itself relaying the
browser or an outside station, or an encoder such as ffmpeg or BUTT) only with the station's source
credentials (``stream_auth``). Mounts are made on demand: ``live-<commune code>`` and
``relay-<commune code>``, one pair per station.

``IcecastSource`` pushes a source to a mount with HTTP PUT (Icecast 2.4), the way an encoder does;
``listener_count`` reads ``/status-json.xsl``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

ICECAST_BINARY = "/usr/bin/icecast2"
SOURCE_USER = "source"


@dataclass(frozen=True)
class IcecastConfig:
    port: int
    auth_url: str  # Loa's URL-auth endpoint, e.g. http://127.0.0.1:8000/api/v1/live/icecast-auth
    admin_password: str
    hostname: str = "127.0.0.1"
    bind_address: str = "0.0.0.0"
    max_clients: int = 20000
    log_dir: str = "/var/log/icecast2"
    pid_file: str = ""
    queue_size: int = 256 * 1024
    burst_size: int = 16 * 1024  # ~2 s at 64 kb/s: a device starts at once, latency stays low
    run_as: tuple[str, str] | None = None  # (user, group) when started as root (Debian: icecast2, icecast)


def config_xml(config: IcecastConfig) -> str:
    """The whole ``icecast.xml``: every mount authenticated by Loa over URL auth."""
    url = escape(config.auth_url, {'"': "&quot;"})
    owner = (
        f"<changeowner><user>{escape(config.run_as[0])}</user><group>{escape(config.run_as[1])}</group></changeowner>"
        if config.run_as
        else ""
    )
    pid = f"<pidfile>{escape(config.pid_file)}</pidfile>" if config.pid_file else ""
    return f"""<icecast>
  <!-- Written by `loa live icecast-config`: listeners and sources are authenticated by Loa. -->
  <location>Loa</location>
  <admin>admin@localhost</admin>
  <hostname>{escape(config.hostname)}</hostname>
  <limits>
    <clients>{config.max_clients}</clients>
    <sources>2000</sources>
    <queue-size>{config.queue_size}</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>{config.burst_size}</burst-size>
  </limits>
  <authentication>
    <admin-user>admin</admin-user>
    <admin-password>{escape(config.admin_password)}</admin-password>
  </authentication>
  <listen-socket>
    <port>{config.port}</port>
    <bind-address>{escape(config.bind_address)}</bind-address>
  </listen-socket>
  <mount type="default">
    <public>0</public>
    <authentication type="url">
      <option name="listener_add" value="{url}"/>
      <option name="listener_remove" value="{url}"/>
      <option name="mount_add" value="{url}"/>
      <option name="mount_remove" value="{url}"/>
      <option name="stream_auth" value="{url}"/>
      <option name="auth_header" value="icecast-auth-user: 1"/>
      <option name="timelimit_header" value="icecast-auth-timelimit:"/>
    </authentication>
  </mount>
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>{escape(config.log_dir)}</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    {pid}
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>2</loglevel>
  </logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""


class SourceRefused(Exception):
    """Icecast did not take the source (wrong credentials, mount in use, server down)."""


async def push_source(
    server_url: str, mount: str, password: str, content_type: str, chunks: AsyncIterator[bytes]
) -> int:
    """Send ``chunks`` to ``server_url/mount`` as its source until they end; the bytes sent."""
    parts = urlsplit(server_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 8000
    reader, writer = await asyncio.open_connection(host, port)
    auth = base64.b64encode(f"{SOURCE_USER}:{password}".encode()).decode()
    request = (
        f"PUT /{mount} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: {content_type}\r\nIce-Public: 0\r\nIce-Name: Loa\r\nExpect: 100-continue\r\n\r\n"
    )
    sent = 0
    try:
        writer.write(request.encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        if b" 100 " not in status and b" 200 " not in status:
            raise SourceRefused(status.decode("latin-1").strip())
        while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b""):
            pass
        async for chunk in chunks:
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()
    except (OSError, TimeoutError) as err:
        raise SourceRefused(str(err)) from err
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return sent


def listener_count(server_url: str, mount: str, *, timeout_s: float = 3.0) -> int:
    """Listeners on ``mount`` now (0 when it has no source), from Icecast's public status."""
    with urllib.request.urlopen(f"{server_url.rstrip('/')}/status-json.xsl", timeout=timeout_s) as answer:
        stats = json.loads(answer.read().decode("utf-8", "replace")).get("icestats", {})
    sources = stats.get("source", [])
    for source in sources if isinstance(sources, list) else [sources]:
        if str(source.get("listenurl", "")).rstrip("/").endswith(f"/{mount}"):
            return int(source.get("listeners", 0))
    return 0
