"""Command-line usage errors (unknown command or option, missing or bad value) in Vietnamese.

Typer 0.29 vendors Click as ``typer._click`` (older Typer uses Click itself); its exceptions carry
English messages, and with
``standalone_mode=False`` they reached a person as a stack trace. ``usage_message`` turns each kind
into one Vietnamese line; the help hint names the command to ask.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Typer 0.29 vendors Click; older releases (pyproject allows >=0.12) use Click itself.
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click import exceptions as click_errors  # type: ignore[no-redef]

_NO_SUCH_COMMAND = re.compile(r"No such command '(?P<name>[^']*)'")
# Click's own wording for values a type refused, where a Vietnamese equivalent is known.
_VALUE_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"'(?P<v>.*)' is not a valid integer(?: range)?\."), "«{v}» không phải là số nguyên."),
    (re.compile(r"'(?P<v>.*)' is not a valid float(?: range)?\."), "«{v}» không phải là số."),
    (re.compile(r"'(?P<v>.*)' is not a valid boolean\."), "«{v}» không phải là có/không."),
    (re.compile(r"'(?P<v>.*)' is not one of (?P<c>.*)\."), "«{v}» không thuộc các giá trị {c}."),
    (re.compile(r"'(?P<v>.*)' is not a valid UUID\."), "«{v}» không phải là UUID."),
    (re.compile(r"(?:File|Path|Directory) '(?P<v>.*)' does not exist\."), "Không có tệp/thư mục «{v}»."),
    # Typer 0.29 converts values with pydantic.
    (re.compile(r"Input should be a valid integer.*"), "phải là số nguyên."),
    (re.compile(r"Input should be a valid number.*"), "phải là số."),
    (re.compile(r"Input should be a valid boolean.*"), "phải là true/false (có/không)."),
    (re.compile(r"Input should be a valid date.*"), "phải là ngày dạng YYYY-MM-DD."),
    (re.compile(r"Input should be a valid datetime.*"), "phải là thời điểm dạng YYYY-MM-DDTHH:MM."),
    (re.compile(r"Input should be (?P<c>'.*)"), "phải là một trong: {c}."),
    (re.compile(r"Input should be greater than or equal to (?P<n>\S+)"), "phải lớn hơn hoặc bằng {n}."),
    (re.compile(r"Input should be less than or equal to (?P<n>\S+)"), "phải nhỏ hơn hoặc bằng {n}."),
    (re.compile(r"Path does not point to a file.*|File not found.*"), "không có tệp này."),
)

UsageErrorType = click_errors.ClickException
NoArgsIsHelpError = click_errors.NoArgsIsHelpError


def _value_message(message: str) -> str:
    for pattern, template in _VALUE_MESSAGES:
        found = pattern.fullmatch(message.strip())
        if found:
            return template.format(**found.groupdict())
    return message


def _hint(err: Any) -> str:
    if getattr(err, "param_hint", None) is not None:
        hint = err.param_hint
        return hint if isinstance(hint, str) else " / ".join(f"'{h}'" for h in hint)
    param = getattr(err, "param", None)
    return str(param.get_error_hint()) if param is not None else ""


def usage_message(err: click_errors.ClickException) -> str:
    """One Vietnamese line for a Click usage error (without the ``Lỗi:`` prefix)."""
    if isinstance(err, click_errors.NoSuchOption):
        text = f"Không có tùy chọn {err.option_name}."
        if err.possibilities:
            text += f" Có phải ý bạn là: {', '.join(sorted(err.possibilities))}?"
        return text
    if isinstance(err, click_errors.MissingParameter):
        kind = {"argument": "đối số", "option": "tùy chọn"}.get(
            getattr(err, "param_type", "") or "", "tham số"
        )
        hint = _hint(err)
        return f"Thiếu {kind} {hint}.".replace("  ", " ").replace(" .", ".")
    if isinstance(err, click_errors.BadParameter):
        hint = _hint(err)
        value = _value_message(err.message)
        return f"Giá trị không hợp lệ cho {hint}: {value}" if hint else f"Giá trị không hợp lệ: {value}"
    if isinstance(err, click_errors.BadOptionUsage):
        return f"Dùng tùy chọn {err.option_name} không đúng: {err.message}"
    if isinstance(err, click_errors.FileError):
        return f"Không mở được tệp «{err.ui_filename}»: {err.message}"
    found = _NO_SUCH_COMMAND.match(err.message)
    if found:
        return f"Không có lệnh «{found['name']}»."
    if isinstance(err, click_errors.UsageError):
        return f"Cách dùng không đúng: {err.message}"
    return err.message


def help_hint(err: click_errors.ClickException) -> str | None:
    """``Xem: loa … --help`` for the command the error came from."""
    ctx = getattr(err, "ctx", None)
    if ctx is None:
        return None
    return f"Xem hướng dẫn: {ctx.command_path} --help"
