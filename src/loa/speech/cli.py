"""``loa speech``: voice and audio commands (text normalisation here; synthesis commands live alongside)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(help="Giọng đọc và âm thanh.", no_args_is_help=True)


@app.command("normalize")
def normalize_command(
    text: str | None = typer.Argument(None, help="Văn bản cần chuẩn hóa; bỏ trống để đọc từ đầu vào chuẩn."),
    report: bool = typer.Option(False, "--report", help="In thêm danh sách chỗ khó đọc."),
    south: bool = typer.Option(False, "--south", help="Cách đọc miền Nam (ngàn, lẻ)."),
    overrides_file: Path | None = typer.Option(
        None, "--overrides", help="Tệp cách đọc riêng của đơn vị, mỗi dòng: VIẾT TẮT = cách đọc."
    ),
) -> None:
    """Chuẩn hóa văn bản tiếng Việt thành lời đọc cho giọng đọc máy."""
    from loa.errors import InvalidInput
    from loa.speech.normalize import ReadingStyle, normalize, parse_overrides

    overrides: dict[str, str] = {}
    if overrides_file is not None:
        try:
            overrides = parse_overrides(overrides_file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidInput(f"Không đọc được tệp cách đọc riêng {overrides_file}.") from err
    source = text if text is not None else sys.stdin.read()
    result = normalize(source, overrides=overrides, style=ReadingStyle.south() if south else None)
    typer.echo(result.text)
    if report:
        if not result.unreadable:
            typer.echo("\nKhông có chỗ khó đọc.")
        else:
            typer.echo(f"\nChỗ khó đọc ({len(result.unreadable)}):")
            for item in result.unreadable:
                typer.echo(f"- “{item.token}” (ký tự {item.start}–{item.end}): {item.reason}")
