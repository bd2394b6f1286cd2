"""``loa users …``: create and list users, set passwords, lock and unlock accounts."""

from __future__ import annotations

import typer

from loa.accounts import service
from loa.accounts.logic import format_vietnam_time, parse_role
from loa.cli_support import cli_context, echo

app = typer.Typer(help="Người dùng, vai trò và địa bàn phụ trách.", no_args_is_help=True)


def _ask_password() -> str:
    value: str = typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    return value


@app.command("create")
def create(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Tên đăng nhập (chữ không dấu, số, . _ -)."),
    password: str | None = typer.Option(None, "--password", help="Mật khẩu; bỏ trống để nhập ẩn."),
    role: str = typer.Option(
        ..., "--role", help="admin, province_editor, approver, commune_operator, viewer."
    ),
    area: list[str] = typer.Option([], "--area", help="Mã địa bàn phụ trách (có thể lặp lại)."),
    display_name: str | None = typer.Option(None, "--display-name", help="Họ tên hiển thị."),
) -> None:
    """Tạo người dùng mới."""
    c = cli_context(ctx)
    parsed_role = parse_role(role)
    secret = password if password is not None else _ask_password()
    with c.session() as s:
        user = service.create_user(
            s,
            username=username,
            password=secret,
            role=parsed_role,
            display_name=display_name,
            area_codes=area,
        )
        scope = ", ".join(u.name for u in service.user_units(s, user)) or "toàn hệ thống"
        echo(f"Đã tạo người dùng «{user.username}» ({service.role_label(user.role)}, địa bàn: {scope}).")


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """Liệt kê người dùng."""
    c = cli_context(ctx)
    with c.session() as s:
        users = service.list_users(s)
        if not users:
            echo("Chưa có người dùng nào. Tạo quản trị viên: loa users create admin --role admin")
            return
        for user in users:
            areas = ", ".join(f"{u.name} ({u.code})" for u in service.user_units(s, user)) or "toàn hệ thống"
            status = "đang hoạt động" if user.active else "đã khóa"
            last = format_vietnam_time(user.last_login_at) or "chưa đăng nhập"
            echo(
                f"{user.username}\t{user.display_name}\t{service.role_label(user.role)}\t{areas}\t"
                f"{status}\tđăng nhập gần nhất: {last}"
            )


@app.command("set-password")
def set_password(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Tên đăng nhập."),
    password: str | None = typer.Option(None, "--password", help="Mật khẩu mới; bỏ trống để nhập ẩn."),
) -> None:
    """Đặt mật khẩu mới (đăng xuất người dùng khỏi mọi thiết bị)."""
    c = cli_context(ctx)
    with c.session() as s:
        user = service.get_user_by_username(s, username)
        service.set_password(s, user=user, password=password if password is not None else _ask_password())
        echo(f"Đã đặt mật khẩu mới cho «{user.username}».")


@app.command("deactivate")
def deactivate(ctx: typer.Context, username: str = typer.Argument(..., help="Tên đăng nhập.")) -> None:
    """Khóa tài khoản (thu hồi mọi phiên đăng nhập và mã truy cập)."""
    c = cli_context(ctx)
    with c.session() as s:
        user = service.set_active(s, user=service.get_user_by_username(s, username), active=False)
        echo(f"Đã khóa tài khoản «{user.username}».")


@app.command("activate")
def activate(ctx: typer.Context, username: str = typer.Argument(..., help="Tên đăng nhập.")) -> None:
    """Mở khóa tài khoản."""
    c = cli_context(ctx)
    with c.session() as s:
        user = service.set_active(s, user=service.get_user_by_username(s, username), active=True)
        echo(f"Đã mở khóa tài khoản «{user.username}».")
