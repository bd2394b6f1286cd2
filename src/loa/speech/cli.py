"""``loa speech``: voice and audio commands (text normalisation here; synthesis commands live alongside)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from loa.speech.normalize.model import Unreadable

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
                typer.echo(f"- “{item.token}” (ký tự {item.start + 1}–{item.end}): {item.reason}")


_SAY_FORMATS = {".mp3": "mp3", ".opus": "opus", ".ogg": "opus"}


@app.command("say")
def say_command(
    ctx: typer.Context,
    text: str | None = typer.Argument(None, help="Văn bản cần đọc; bỏ trống để đọc từ đầu vào chuẩn."),
    output: Path = typer.Option(..., "--output", "-o", help="Tệp kết quả (.mp3 hoặc .opus)."),
    voice: str | None = typer.Option(None, "--voice", help="Mã giọng đọc (xem «loa speech voices»)."),
    rate: float = typer.Option(1.0, "--rate", help="Tốc độ đọc, từ 0,5 đến 1,5 (1,0 = bình thường)."),
) -> None:
    """Đọc văn bản thành tệp âm thanh (chuẩn hóa → giọng đọc → chuẩn âm lượng → mã hóa).

    Không dùng cơ sở dữ liệu: chỉ ghi tệp kết quả."""
    from loa.cli_support import cli_context
    from loa.errors import InvalidInput
    from loa.speech.audio.encode import AudioFormat
    from loa.speech.engines.registry import EngineRegistry
    from loa.speech.render import check_rate, prepare_text, render_speech, speakable_segments

    audio_format = _SAY_FORMATS.get(output.suffix.lower())
    if audio_format is None:
        raise InvalidInput("Tên tệp kết quả phải có đuôi .mp3 hoặc .opus.")
    source = text if text is not None else sys.stdin.read()
    registry = EngineRegistry.from_settings(cli_context(ctx).settings_without_secret)
    info = registry.resolve(voice)
    check_rate(rate)
    normalized = prepare_text(source)
    _report_unreadable(normalized.unreadable)
    reported = [0]

    def progress(percent: int) -> None:
        if percent >= reported[0] + 10 or percent == 100:
            reported[0] = percent
            sys.stderr.write(f"\rĐang tạo âm thanh… {percent}%")
            sys.stderr.flush()

    try:
        rendered = render_speech(
            registry,
            speakable_segments(normalized),
            voice=info,
            rate=rate,
            formats=(AudioFormat(audio_format),),
            on_progress=progress,
        )
    finally:
        if reported[0]:
            sys.stderr.write("\n")
    primary = rendered.primary
    _write_atomically(output, primary.encoded.data)
    measured = primary.measurement
    seconds = primary.encoded.duration_ms / 1000
    typer.echo(
        f"Đã ghi {output}: {_vn(seconds)} giây, {_vn(measured.loudness_lufs)} LUFS, "
        f"đỉnh {_vn(measured.true_peak_dbtp)} dBTP (giọng {info.name})."
    )


def _report_unreadable(items: list[Unreadable]) -> None:
    """The "khó đọc" list goes to standard error, so a script still gets only the file."""
    if items:
        sys.stderr.write(f"Chỗ khó đọc ({len(items)}):\n")
        for item in items:
            sys.stderr.write(f"- “{item.token}”: {item.reason}\n")


def _write_atomically(output: Path, data: bytes) -> None:
    import os
    import tempfile

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=".loa-say-", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp_name, output)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


@app.command("voices")
def voices_command(ctx: typer.Context) -> None:
    """Liệt kê các giọng đọc đã cài đặt."""
    from loa.cli_support import cli_context
    from loa.speech.engines.registry import EngineRegistry

    registry = EngineRegistry.from_settings(cli_context(ctx).settings_without_secret)
    default_id = registry.default_voice().id
    for info in registry.voices():
        mark = " (mặc định)" if info.id == default_id else ""
        columns = (info.id, info.name + mark, info.gender_label, info.region_label)
        typer.echo("\t".join(columns) + f"\t{info.default_rate} tiếng/phút")


def _vn(value: float) -> str:
    from loa.vocab.numbers import number_text

    return number_text(value, 1)
