"""``loa push keys``: make the server's VAPID key pair for Web Push (docs/operations.md)."""

from __future__ import annotations

import typer

from loa.cli_support import echo
from loa.push import keys

app = typer.Typer(help="Thông báo đẩy (Web Push) tới điện thoại của cán bộ.", no_args_is_help=True)


@app.command("keys")
def make_keys() -> None:
    """Tạo cặp khóa VAPID mới; đặt dòng LOA_VAPID_PRIVATE_KEY in ra vào cấu hình máy chủ."""
    pair = keys.generate()
    echo(f"LOA_VAPID_PRIVATE_KEY={pair.private_key}")
    echo(f"# Khóa công khai (trình duyệt nhận qua /api/v1/push/key): {pair.public_key}")
    echo("# Đặt thêm LOA_VAPID_SUBJECT=mailto:<địa chỉ thư của người vận hành máy chủ>.")
    echo("# Đổi khóa thì mọi trình duyệt phải đăng ký lại.")
