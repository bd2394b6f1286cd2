"""``loa exchange …``: register a connected system, issue its key, and run the connector."""

from __future__ import annotations

import signal
import threading

import typer

from loa.accounts.principal import Principal, Role
from loa.cli_support import cli_context, echo, fail
from loa.exchange import connector, peers
from loa.exchange.models import PeerRelation

app = typer.Typer(help="Liên thông với hệ thống thông tin nguồn cấp trên, cấp dưới.", no_args_is_help=True)
CLI = Principal(user_id=0, username="loa-cli", display_name="Dòng lệnh", role=Role.ADMIN)
RELATION_WORDS = {"cap-tren": PeerRelation.UPPER, "cap-duoi": PeerRelation.LOWER}


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Tên hệ thống kết nối"),
    relation: str = typer.Option(..., "--relation", help="cap-tren hoặc cap-duoi"),
    areas: str = typer.Option(..., "--areas", help="Mã địa bàn, cách nhau bởi dấu phẩy"),
    push_url: str = typer.Option("", "--push-url", help="Địa chỉ …/api/exchange/v1 của hệ thống kia"),
    push_key: str = typer.Option("", "--push-key", help="Khóa hệ thống kia cấp cho ta"),
    via_lgsp: bool = typer.Option(False, "--via-lgsp", help="Gửi qua LGSP của tỉnh"),
) -> None:
    """Đăng ký một hệ thống kết nối và cấp cho nó một khóa (in ra một lần)."""
    if relation not in RELATION_WORDS:
        fail("--relation phải là cap-tren hoặc cap-duoi.")
    c = cli_context(ctx)
    with c.session() as s:
        peer = peers.create_peer(
            s,
            principal=CLI,
            name=name,
            relation=RELATION_WORDS[relation],
            area_codes=[a for a in areas.split(",") if a.strip()],
            push_url=push_url,
            push_key=push_key,
            via_lgsp=via_lgsp,
            secret_key=c.settings.secret_key.get_secret_value(),
        )
        key = peers.issue_key(s, principal=CLI, peer_id=peer.id)
    echo(f"Đã đăng ký «{peer.name}». Khóa của hệ thống này (chỉ hiện một lần): {key.token}")


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Chạy bộ kết nối: gửi tin đi (có thử lại), báo xác nhận, nhật ký phát, số liệu lên cấp trên."""
    c = cli_context(ctx)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    echo(f"Bộ kết nối liên thông đang chạy (mỗi {c.settings.exchange_poll_s:g} giây).")
    connector.run_forever(c.process.sessions, settings=c.settings, stop=stop)
