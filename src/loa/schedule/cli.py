"""``loa schedule …``: compile the next 48 hours of manifests, list programmes, show the public key."""

from __future__ import annotations

import base64

import typer

from loa.cli_support import cli_context, echo
from loa.protocol.manifest import key_id, public_key_bytes
from loa.schedule import hooks
from loa.schedule.manifests import signing_key

app = typer.Typer(help="Lịch phát sóng và lịch phát (manifest) của cụm loa.", no_args_is_help=True)


@app.command("compile")
def compile_command(ctx: typer.Context) -> None:
    """Lập lịch phát 48 giờ tới cho mọi cụm loa; chỉ cụm loa có thay đổi nhận phiên bản mới.

    Nên chạy định kỳ (ví dụ mỗi giờ) để lịch luôn phủ 48 giờ phía trước."""
    c = cli_context(ctx)
    with c.session() as s:
        report = hooks.periodic_compile(s, data_dir=c.settings.data_dir)
    echo(
        f"Đã lập lịch cho {report.devices} cụm loa: {len(report.changed)} có nội dung mới, "
        f"{len(report.renewed)} được gia hạn ({report.target_sets} nhóm nơi phát)."
    )
    for line in (*report.conflicts, *report.overfull, *report.notices):
        echo(f"  • {line}")


@app.command("public-key")
def public_key_command(ctx: typer.Context) -> None:
    """In khóa công khai Ed25519 dùng để kiểm tra chữ ký lịch phát."""
    key = signing_key(cli_context(ctx).settings.data_dir)
    echo(f"Ed25519 {base64.b64encode(public_key_bytes(key)).decode()} (mã khóa {key_id(key)})")
