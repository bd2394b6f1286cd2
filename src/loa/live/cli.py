"""``loa live …``: the Icecast configuration and a station's source credentials for its encoder."""

from __future__ import annotations

import secrets
from pathlib import Path

import typer

from loa.cli_support import echo
from loa.live.icecast import IcecastConfig, config_xml

app = typer.Typer(help="Phát trực tiếp và tiếp sóng", no_args_is_help=True)


@app.command("icecast-config")
def icecast_config(
    out: Path = typer.Option(..., "--out", help="Tệp icecast.xml cần ghi"),
    auth_url: str = typer.Option(
        ...,
        "--auth-url",
        help="Địa chỉ Loa mà Icecast hỏi xác thực, vd. http://127.0.0.1:8000/api/v1/live/icecast-auth",
    ),
    port: int = typer.Option(8010, help="Cổng của Icecast"),
    hostname: str = typer.Option("127.0.0.1", help="Tên máy mà thiết bị dùng để kết nối"),
    bind: str = typer.Option("0.0.0.0", help="Địa chỉ lắng nghe"),
    max_clients: int = typer.Option(20000, help="Số kết nối tối đa"),
    run_as: str = typer.Option("icecast2:icecast", "--user", help="Tài khoản:nhóm hệ thống chạy Icecast"),
) -> None:
    """Ghi icecast.xml: mọi loa nghe và mọi nguồn phát đều do Loa xác thực (URL auth)."""
    user, _, group = run_as.partition(":")
    config = IcecastConfig(
        port=port,
        auth_url=auth_url,
        admin_password=secrets.token_urlsafe(18),
        hostname=hostname,
        bind_address=bind,
        max_clients=max_clients,
        run_as=(user, group or user) if user else None,
    )
    out.write_text(config_xml(config), encoding="utf-8")
    out.chmod(0o640)
    echo(f"Đã ghi cấu hình Icecast vào {out}. Khởi động lại: systemctl restart icecast2")
