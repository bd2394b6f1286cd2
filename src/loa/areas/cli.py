"""``loa areas …``: import the official unit lists, import villages from CSV, show a unit."""

from __future__ import annotations

from pathlib import Path

import typer

from loa.accounts.principal import Principal, Role
from loa.areas import service
from loa.areas.logic import COMMUNE_KINDS, UNIT_KINDS, display_name
from loa.areas.stations import list_stations, technology_label
from loa.cli_support import cli_context, echo
from loa.errors import InvalidInput
from loa.vocab.numbers import number_text

app = typer.Typer(
    help="Địa bàn hành chính: tỉnh/thành phố, xã/phường/đặc khu, thôn/tổ dân phố.", no_args_is_help=True
)

# Commands run by the operator of the server act with full rights.
CLI_PRINCIPAL = Principal(user_id=0, username="cli", display_name="Dòng lệnh", role=Role.ADMIN)


def _date(value: object) -> str:
    return value.strftime("%d/%m/%Y") if hasattr(value, "strftime") else "—"


@app.command("import")
def import_units(
    ctx: typer.Context,
    with_history: bool = typer.Option(
        False, "--with-history", help="Nạp cả quận/huyện cũ (trước 1/7/2025) và quan hệ kế thừa."
    ),
) -> None:
    """Nạp (hoặc cập nhật) 34 tỉnh/thành phố và 3.321 xã/phường/đặc khu; chạy lại không thay đổi gì."""
    c = cli_context(ctx)
    with c.session() as s:
        report = service.import_units(s, with_history=with_history)
    for line in report.lines():
        echo(line)


@app.command("import-villages")
def import_villages(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Tệp CSV UTF-8, cột: ten, loai (thôn/tổ dân phố…), ma (tùy chọn)."),
    commune: str = typer.Option(..., "--commune", help="Mã xã/phường/đặc khu, ví dụ 21484."),
) -> None:
    """Nạp danh sách thôn/tổ dân phố của một xã từ tệp CSV (lỗi một dòng thì không ghi dòng nào)."""
    try:
        data = file.read_bytes()
    except OSError as err:
        raise InvalidInput(f"Không đọc được tệp {file}.", code="file_unreadable") from err
    c = cli_context(ctx)
    try:
        with c.session() as s:
            added = service.import_villages_csv(s, commune_code=commune, data=data, principal=CLI_PRINCIPAL)
            parent = service.get_unit(s, commune)
            echo(f"Đã thêm {number_text(len(added))} thôn/tổ dân phố vào {parent.name}.")
    except InvalidInput as err:
        if isinstance(err.details, list):
            for item in err.details:
                if isinstance(item, dict):
                    echo(f"  Dòng {item.get('row')}, cột «{item.get('field')}»: {item.get('message')}")
        raise


@app.command("show")
def show(
    ctx: typer.Context, code: str = typer.Argument(..., help="Mã địa bàn, ví dụ 51 hoặc 21484.")
) -> None:
    """Xem thông tin một địa bàn: loại, cấp trên, hiệu lực, quận/huyện cũ, thôn/tổ dân phố, đài."""
    c = cli_context(ctx)
    with c.session() as s:
        unit = service.get_unit(s, code)
        info = UNIT_KINDS[unit.kind]
        echo(f"{display_name(unit.kind, unit.name)} — mã {unit.code}, loại: {info.label}")
        crumbs = service.breadcrumbs(s, unit, CLI_PRINCIPAL)
        if crumbs:
            echo("Thuộc: " + " › ".join(display_name(u.kind, u.name) for u in crumbs))
        echo(f"Hiệu lực: từ {_date(unit.valid_from)} đến {_date(unit.valid_to)}")
        if unit.former_province_name:
            echo(f"Trước 1/7/2025 thuộc: {unit.former_province_name}")
        history = service.lineage(s, unit)
        if history.former_district is not None:
            echo(f"Quận/huyện cũ: {history.former_district.name} (mã {history.former_district.code})")
        for pred, link in history.predecessors:
            echo(f"  Hình thành từ {pred.name} ({pred.code}): {link.note or '—'}")
        for succ, link in history.successors:
            echo(f"  → {succ.name} ({succ.code}): {link.note or '—'}")
        kids = service.children(s, unit.code, CLI_PRINCIPAL)
        if kids:
            echo(f"Đơn vị trực thuộc: {number_text(len(kids))}")
            for node in kids[:30]:
                echo(f"  {node.unit.code}  {node.unit.name}")
            if len(kids) > 30:
                echo(f"  … và {number_text(len(kids) - 30)} đơn vị khác")
        if unit.kind in COMMUNE_KINDS:
            for station in list_stations(s, commune_code=unit.code, principal=CLI_PRINCIPAL):
                echo(f"Đài: {station.name} — {technology_label(station.technology)}")
