"""The ``loa`` command: the entry point where settings, database and domain commands are wired."""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from pydantic import ValidationError
from sqlalchemy import Engine

from loa.cli_support import CliContext, cli_context, echo, fail
from loa.cli_usage import NoArgsIsHelpError, UsageErrorType, help_hint, usage_message
from loa.errors import LoaError
from loa.process import Process
from loa.settings import DEMO_LOOPBACK_ONLY, Settings, is_loopback

app = typer.Typer(
    name="loa",
    help="Loa — hệ thống thông tin cơ sở (truyền thanh thông minh).",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Cơ sở dữ liệu.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Domain command groups: (module exposing ``app``, command name).
SUBCOMMAND_MODULES: tuple[tuple[str, str], ...] = (
    ("loa.accounts.cli", "users"),
    ("loa.areas.cli", "areas"),
    ("loa.speech.cli", "speech"),
    ("loa.fleet.cli", "devices"),
    ("loa.fleet.cli_broker", "broker"),
    ("loa.fleet.cli_gateway", "gateway"),
    ("loa.agent.cli", "agent"),
    ("loa.sim.cli", "sim"),
    ("loa.activities.cli", "activities"),
    ("loa.reports.cli", "reports"),
    ("loa.schedule.cli", "schedule"),
    ("loa.exchange.cli", "exchange"),
    ("loa.push.cli", "push"),
    ("loa.fleet.cli_release", "agent-release"),
    ("loa.live.cli", "live"),
)
for _module, _name in SUBCOMMAND_MODULES:
    app.add_typer(importlib.import_module(_module).app, name=_name)


@app.callback()
def _root(ctx: typer.Context, verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(message)s")
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = cli_context_for()


def cli_context_for(**overrides: object) -> CliContext:
    """The context every command runs in: its process wired by ``loa.wiring`` (tests start the same)."""
    return CliContext(wire=_wire, overrides=dict(overrides))


def _wire(engine: Engine, settings: Settings) -> Process:
    from loa.wiring import wire  # only a command that opens a session pays for importing the domains

    return wire(engine, settings)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = "head") -> None:
    """Áp dụng các bản di chuyển (migration) cơ sở dữ liệu."""
    from loa.db.migrate import current_revision, upgrade

    c = cli_context(ctx)
    upgrade(c.engine, revision)
    echo(f"Cơ sở dữ liệu ở phiên bản {current_revision(c.engine)}.")


@db_app.command("maintain")
def db_maintain(
    ctx: typer.Context,
    status_log_months: int | None = typer.Option(
        None,
        min=1,
        help="Số tháng giữ nhật ký trạng thái thiết bị (mặc định: LOA_STATUS_LOG_RETENTION_MONTHS).",
    ),
) -> None:
    """Chuẩn bị chỗ lưu các tháng tới (PostgreSQL), xóa nhật ký trạng thái thiết bị quá hạn và tổng hợp
    biên nhận phát của các tháng đã khép lại (để báo cáo cả năm đọc nhanh).

    Biên nhận phát không bao giờ bị xóa. Cổng thiết bị (loa gateway run) cũng tự làm việc này định kỳ."""
    from loa.db.base import utcnow
    from loa.fleet.history import day_label, maintain_history

    c = cli_context(ctx)
    months = status_log_months or c.settings.status_log_retention_months
    with c.session() as session:
        done = maintain_history(session, now=utcnow(), retention_months=months, actor_name="cli", via="cli")
    ready = ", ".join(done.months_ready) if done.months_ready else "không cần thêm"
    echo(f"Chỗ lưu theo tháng đã tạo thêm: {ready}.")
    before = day_label(done.status_log_before) if done.status_log_before else ""
    echo(f"Nhật ký trạng thái giữ {months} tháng: đã xóa {done.status_rows_deleted} dòng trước {before}.")
    from loa.reports.summary import summarise_closed_months

    summarised = summarise_closed_months(c.process.sessions, now=utcnow(), actor_name="cli", via="cli")
    names = ", ".join(f"{s.month:%m/%Y}" for s in summarised) if summarised else "không có tháng nào cần"
    echo(f"Tổng hợp biên nhận phát của các tháng đã khép lại: {names}.")


@app.command("serve")
def serve(ctx: typer.Context, host: str | None = None, port: int | None = None) -> None:
    """Chạy máy chủ web."""
    import uvicorn

    from loa.app import create_app

    c = cli_context(ctx)
    if host and c.settings.demo:
        _demo_on_loopback(host)
    uvicorn.run(
        create_app(c.settings, engine=c.engine),
        host=host or c.settings.host,
        port=port or c.settings.port,
        proxy_headers=False,  # LOA_TRUSTED_PROXIES decides (loa.web.proxies), not uvicorn's default
    )


@app.command("demo")
def demo(ctx: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Cài đặt dữ liệu mẫu (tỉnh Quảng Ngãi) trên SQLite và chạy máy chủ."""
    import uvicorn

    from loa.app import create_app
    from loa.db.migrate import upgrade
    from loa.demo import seed_demo
    from loa.demo_content import announce_demo_start, seed_demo_content, seed_hourly_news

    c = cli_context(ctx)
    c.overrides.setdefault("demo", True)
    _demo_on_loopback(host)
    upgrade(c.engine)
    with c.session() as session:
        report = seed_demo(session, c.settings)
    report += seed_demo_content(c.process.sessions, c.settings)
    report += seed_hourly_news(c.process.sessions, c.settings)
    report += announce_demo_start(c.process.sessions, c.settings)
    for line in report:
        echo(line)
    from loa.sim.demo import start_demo_fleet

    # One process: the web app and the gateway share its sessions and doorbell, so a command queued
    # by a page wakes the gateway at once. The simulated loudspeakers fetch their manifests from this
    # very server (once it listens); each fetch is not worth a line on the console.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    start_demo_fleet(c.settings, c.engine, c.process, server_url=f"http://{local}:{port}")
    echo(f"Broker MQTT nhúng và cụm loa mô phỏng: cổng {c.settings.mqtt_port}.")
    echo(f"Loa đang chạy tại http://{host}:{port}")
    echo("Chế độ trình diễn: chỉ máy này truy cập được (địa chỉ nội bộ), không mở ra mạng.")
    uvicorn.run(
        create_app(c.settings, engine=c.engine, process=c.process), host=host, port=port, proxy_headers=False
    )


def _demo_on_loopback(host: str) -> None:
    """Demo mode (placeholder secret, accounts printed on the console) never listens on a network."""
    if not is_loopback(host):
        fail(DEMO_LOOPBACK_ONLY.format(name="--host", host=host))


def main() -> None:
    """Run the CLI; errors reach a person as one Vietnamese line, never a stack trace."""
    try:
        # Without standalone mode Click returns the code of a ``typer.Exit`` instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except LoaError as err:
        sys.stderr.write(f"Lỗi: {err.message}\n")
        sys.exit(2)
    except ValidationError as err:
        from loa.config_errors import describe

        for sentence in describe(err):
            sys.stderr.write(f"Lỗi cấu hình: {sentence}\n")
        sys.exit(2)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except typer.Abort:
        sys.stderr.write("Đã hủy.\n")
        sys.exit(1)
    except UsageErrorType as err:
        if isinstance(err, NoArgsIsHelpError):  # ``loa`` or ``loa users`` alone: the help
            sys.stderr.write(err.message + "\n")
            sys.exit(err.exit_code)
        sys.stderr.write(f"Lỗi: {usage_message(err)}\n")
        hint = help_hint(err)
        if hint:
            sys.stderr.write(hint + "\n")
        sys.exit(err.exit_code)
