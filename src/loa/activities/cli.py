"""``loa activities …``: import a register from CSV or Excel (all or nothing, every error listed; rows
that duplicate records only with ``--duplicates skip|include``) and export it."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.accounts.scope import visible_unit
from loa.accounts.service import get_user_by_username, principal_for
from loa.activities import imports, service
from loa.activities.forms import TABS
from loa.activities.registers import REGISTERS, RegisterSpec
from loa.cli_support import cli_context, echo
from loa.errors import InvalidInput, NotFound
from loa.vocab.numbers import number_text
from loa.vocab.text import fold

app = typer.Typer(help="Sổ theo dõi hoạt động tuyên truyền (trực quan, xe lưu động, báo chí, …).")

SYSTEM = Principal(user_id=0, username="loa-cli", display_name="Dòng lệnh", role=Role.ADMIN)
REGISTER_HELP = "Sổ: " + ", ".join(f"{t.key} ({t.label})" for t in TABS) + "."


def cli_principal(session: Session, username: str | None) -> Principal:
    """Who the command acts as: a user (their scope, their name on the records) or the system."""
    if not username:
        return SYSTEM
    return principal_for(session, get_user_by_username(session, username))


def find_register(name: str) -> RegisterSpec:
    """A register by key ("visual-items") or by its Vietnamese name, with or without diacritics."""
    wanted = fold(name)
    if name in REGISTERS:
        return REGISTERS[name]
    for tab in TABS:
        if wanted in (fold(tab.label), fold(REGISTERS[tab.key].title)):
            return REGISTERS[tab.key]
    raise NotFound(f"Không có sổ theo dõi “{name}”. {REGISTER_HELP}")


def _print_row_errors(err: InvalidInput) -> None:
    rows = err.details.get("errors") if isinstance(err.details, dict) else None
    sys.stderr.write(f"Lỗi: {err.message}\n")
    for e in rows if isinstance(rows, list) else []:
        value = f" (giá trị: {e['value']})" if e.get("value") else ""
        sys.stderr.write(f"  Dòng {e['row']}, cột «{e['column']}»: {e['message']}{value}\n")


@app.command("import")
def import_csv(
    ctx: typer.Context,
    register: str = typer.Argument(..., help=REGISTER_HELP),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Tệp CSV."),
    area: str | None = typer.Option(None, "--area", help="Mã địa bàn cho các dòng không ghi mã địa bàn."),
    as_user: str | None = typer.Option(None, "--as", help="Nhập với tư cách người dùng này (phạm vi, tên)."),
    duplicates: str = typer.Option(
        "ask",
        "--duplicates",
        help="Dòng trùng với bản ghi đã có hoặc với dòng khác trong tệp: ask (liệt kê, không nhập gì), "
        "skip (bỏ qua các dòng trùng) hoặc include (nhập cả các dòng trùng).",
    ),
) -> None:
    """Nhập một tệp CSV hoặc Excel vào sổ theo dõi: kiểm tra mọi dòng trước, một dòng sai thì không nhập
    dòng nào; có dòng trùng thì liệt kê và chỉ nhập khi chọn --duplicates skip hoặc include."""
    spec = find_register(register)
    if duplicates not in POLICIES:
        raise InvalidInput(f"--duplicates phải là một trong: {', '.join(POLICIES)}.")
    c = cli_context(ctx)
    try:
        with c.session() as s:
            principal = cli_principal(s, as_user)
            default_id = visible_unit(s, principal, code=area).id if area else None
            outcome = imports.import_file(
                s,
                spec=spec,
                principal=principal,
                content=file.read_bytes(),
                filename=file.name,
                default_area_id=default_id,
                duplicates=POLICIES[duplicates],
            )
            if outcome.preview is not None:
                raise _Duplicates(outcome.preview)  # leaves the block: nothing is kept
    except InvalidInput as err:
        _print_row_errors(err)
        raise typer.Exit(2) from err
    except _Duplicates as held:
        _print_duplicates(held.preview)
        raise typer.Exit(3) from held
    result = outcome.result
    assert result is not None
    skipped = f"; bỏ qua {result.skipped} dòng trùng" if result.skipped else ""
    created = number_text(result.created)
    echo(f"Đã nhập {created} {spec.noun} vào sổ «{spec.title}» (mã hóa tệp: {result.encoding}){skipped}.")


POLICIES: dict[str, imports.DuplicatePolicy] = {"ask": "ask", "skip": "skip", "include": "include"}


class _Duplicates(Exception):
    def __init__(self, preview: imports.ImportPreview) -> None:
        super().__init__("duplicates")
        self.preview = preview


def _print_duplicates(preview: imports.ImportPreview) -> None:
    sys.stderr.write(
        f"Chưa nhập dòng nào: tệp có {len(preview.duplicates)} dòng trùng (trong {preview.rows} dòng).\n"
    )
    for d in preview.duplicates:
        sys.stderr.write(f"  Dòng {d.row}: {d.summary} — {d.reason}\n")
    sys.stderr.write(
        "Chạy lại với --duplicates skip (bỏ qua các dòng này) hoặc --duplicates include (nhập cả).\n"
    )


@app.command("export")
def export_csv(
    ctx: typer.Context,
    register: str = typer.Argument(..., help=REGISTER_HELP),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Tệp CSV sẽ ghi ra."),
    as_user: str | None = typer.Option(None, "--as", help="Xuất trong phạm vi của người dùng này."),
) -> None:
    """Xuất sổ theo dõi ra CSV (UTF-8 có BOM, mở được bằng Excel; nhập lại được)."""
    spec = find_register(register)
    c = cli_context(ctx)
    with c.session() as s:
        content = service.export_csv(s, spec=spec, principal=cli_principal(s, as_user))
    out.write_bytes(content)
    echo(f"Đã ghi {out} ({number_text(len(content))} byte).")
