"""``loa sim``: run simulated loudspeakers against a real broker, or provision them first.

loa sim --provision 100 --commune 21484       # create 100 enrolled devices, keep their secrets
loa sim --devices 100                          # run them (embedded broker: LOA_MQTT_PORT, 1884)
loa sim --devices 100 --broker-url mqtt://127.0.0.1:1883 --prefix loa
loa sim --devices 100 --server-url http://127.0.0.1:8000   # also fetch and play their manifests
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

import typer

from loa import eventloop
from loa.cli_support import cli_context, echo, fail
from loa.protocol.topics import Topics
from loa.sim.device import SimConfig
from loa.sim.fleet import (
    CREDENTIALS_FILE,
    SimFleet,
    provision,
    read_credentials,
    server_public_key,
    write_credentials,
)
from loa.vocab.numbers import number_text

app = typer.Typer(help="Mô phỏng nhiều cụm loa (kiểm thử tải).", invoke_without_command=True)


def parse_broker_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise typer.BadParameter("Địa chỉ broker phải có dạng mqtt://máy:cổng")
    return parts.hostname, parts.port or 1883


@app.callback()
def sim(
    ctx: typer.Context,
    devices: int = typer.Option(0, "--devices", help="Số cụm loa mô phỏng cần chạy"),
    provision_count: int = typer.Option(0, "--provision", help="Tạo trước N cụm loa mô phỏng"),
    commune: str | None = typer.Option(None, "--commune", help="Mã xã/phường của cụm loa tạo mới"),
    broker_url: str | None = typer.Option(None, "--broker-url", help="mqtt://máy:cổng (mặc định: cấu hình)"),
    prefix: str | None = typer.Option(None, "--prefix", help="Tiền tố chủ đề MQTT"),
    heartbeat_s: float = typer.Option(30.0, help="Chu kỳ gửi trạng thái (giây)"),
    play_s: float = typer.Option(10.0, help="Thời lượng giả lập của lệnh «phát ngay» (giây)"),
    server_url: str | None = typer.Option(
        None, "--server-url", help="Máy chủ Loa để tải lịch phát đã ký và phát theo lịch (http://máy:cổng)"
    ),
    credentials_file: Path | None = typer.Option(None, "--credentials", help="Tệp lưu mật khẩu thiết bị"),
) -> None:
    """Chạy các cụm loa mô phỏng nói đúng giao thức (trạng thái, lệnh, biên nhận)."""
    if ctx.invoked_subcommand is not None:
        return
    c = cli_context(ctx)
    path = credentials_file or c.settings.data_dir / CREDENTIALS_FILE
    if provision_count:
        with c.session() as s:
            created = provision(s, count=provision_count, commune_code=commune)
        write_credentials(path, created)
        echo(f"Đã tạo {number_text(len(created))} cụm loa mô phỏng; thông tin đăng nhập lưu tại {path}.")
    if not devices:
        if not provision_count:
            fail("Hãy cho biết --devices N (chạy) hoặc --provision N (tạo trước).")
        return
    identities = read_credentials(path)
    if len(identities) < devices:
        fail(
            f"Chỉ có {len(identities)} cụm loa mô phỏng trong {path}; hãy chạy «loa sim --provision N» trước."
        )
    host, port = parse_broker_url(broker_url) if broker_url else (c.settings.mqtt_host, c.settings.mqtt_port)
    config = SimConfig(
        host="127.0.0.1" if host == "0.0.0.0" else host,
        port=port,
        topics=Topics(prefix or c.settings.mqtt_topic_prefix),
        heartbeat_s=heartbeat_s,
        play_s=play_s,
        server_public_key=server_public_key(c.settings.data_dir),
        server_url=server_url,
    )
    fleet = SimFleet(identities[:devices], config)
    echo(f"Chạy {devices} cụm loa mô phỏng tới {config.host}:{config.port} (Ctrl-C để dừng).")
    logging.getLogger("loa.sim").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(_run(fleet))


async def _run(fleet: SimFleet) -> None:
    await fleet.start()
    try:
        took = await fleet.wait_connected(timeout_s=600)
        echo(f"{len(fleet.devices)} cụm loa đã kết nối sau {number_text(took, 1)} giây.")
        await asyncio.Event().wait()
    finally:
        await fleet.stop()
