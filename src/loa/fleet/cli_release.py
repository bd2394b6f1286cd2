"""``loa agent-release …``: publish a signed agent release and send it to the fleet in waves
(registered in ``loa.cli.SUBCOMMAND_MODULES``; docs/agent.md and docs/operations.md)."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from sqlalchemy import func, select

from loa.cli_support import cli_context, echo, fail
from loa.fleet import keys, releases
from loa.fleet.models import AgentRelease, RolloutTarget
from loa.vocab.numbers import number_text

app = typer.Typer(help="Phiên bản phần mềm cụm loa: phát hành và cập nhật theo đợt.", no_args_is_help=True)

WHEEL_VERSION = re.compile(r"^[A-Za-z0-9_.]+-([0-9A-Za-z.+_]+?)-")


@app.command("publish")
def publish(
    ctx: typer.Context,
    wheel: Path = typer.Argument(..., help="Gói wheel của tác tử (.whl)"),
    version: str | None = typer.Option(None, "--version", help="Số phiên bản (mặc định: lấy từ tên tệp)"),
) -> None:
    """Ký gói phần mềm bằng khóa phát hành và lưu lên máy chủ."""
    c = cli_context(ctx)
    try:
        data = wheel.read_bytes()
    except OSError as err:
        fail(f"không đọc được tệp {wheel}: {err.strerror or err}")
        return
    if version is None:
        found = WHEEL_VERSION.match(wheel.name)
        if found is None:
            fail("không đọc được số phiên bản từ tên tệp; hãy dùng --version.")
            return
        version = found.group(1)
    with c.session() as s:
        release = releases.publish(
            s,
            data=data,
            filename=wheel.name,
            version=version,
            data_dir=c.settings.data_dir,
            published_by="dòng lệnh",
        )
        echo(
            f"Đã phát hành phiên bản {release.version} ({number_text(release.size_bytes)} byte), "
            f"mã SHA-256 {release.sha256}."
        )
    public = keys.public_key_b64(keys.load_or_create_release_key(c.settings.data_dir))
    echo(f"Khóa công khai phát hành (thiết bị ghim khi đăng ký): {public}")


@app.command("rollout")
def rollout(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="Phiên bản đã phát hành"),
    commune: str | None = typer.Option(None, "--commune", help="Mã xã/phường (mặc định: toàn bộ cụm loa)"),
    waves: str = typer.Option("5,25,100", "--waves", help="Phần trăm cộng dồn của mỗi đợt"),
) -> None:
    """Bắt đầu cập nhật theo đợt: đợt sau chỉ bắt đầu khi đợt trước hoạt động tốt."""
    c = cli_context(ctx)
    with c.session() as s:
        started = releases.start_rollout(
            s,
            version=version,
            commune_code=commune,
            waves=releases.parse_waves(waves),
            created_by="dòng lệnh",
        )
        count = s.scalar(select(func.count()).where(RolloutTarget.rollout_id == started.id)) or 0
        first = s.scalar(
            select(func.count()).where(RolloutTarget.rollout_id == started.id, RolloutTarget.wave == 0)
        )
        echo(
            f"Đã bắt đầu cập nhật {count} cụm loa lên phiên bản {version} theo các đợt {started.waves} %; "
            f"đợt đầu: {first} cụm loa."
        )


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Các phiên bản đã phát hành và tiến độ cập nhật."""
    c = cli_context(ctx)
    with c.session() as s:
        for release in s.scalars(select(AgentRelease).order_by(AgentRelease.id)):
            echo(f"Phiên bản {release.version}\t{release.filename}\t{number_text(release.size_bytes)} byte")
        for view in releases.rollout_views(s):
            counts = ", ".join(f"{label}: {n}" for label, n in view.counts)
            echo(f"Cập nhật {view.version} — {view.area}: {view.state}; {view.wave_text}; {counts}")
