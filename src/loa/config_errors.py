"""Configuration errors in words a person reads: one Vietnamese sentence per wrong setting.

pydantic reports a wrong setting as an error type and a field name (``int_parsing`` on ``port``); the
sentence names the environment variable to fix (``LOA_PORT``) and says what it must be. The English
text pydantic carries is never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

ENV_PREFIX = "LOA_"

# Error type → sentence; ``{var}`` is the environment variable, ``{expected}`` the allowed values.
_SENTENCES: Mapping[str, str] = {
    "secret_placeholder": (
        "Chưa đặt khóa bí mật {var} (hoặc đang dùng giá trị mẫu): hãy đặt một chuỗi ngẫu nhiên dài, "
        "hoặc đặt LOA_DEMO=1 khi chỉ chạy thử."
    ),
    "secret_short": "Khóa bí mật {var} quá ngắn: cần ít nhất 16 ký tự.",
    "int_parsing": "Giá trị của {var} phải là một số nguyên.",
    "int_type": "Giá trị của {var} phải là một số nguyên.",
    "float_parsing": "Giá trị của {var} phải là một số.",
    "bool_parsing": "Giá trị của {var} phải là 1/0, true/false hoặc yes/no.",
    "literal_error": "Giá trị của {var} không hợp lệ; chỉ nhận: {expected}.",
    "greater_than_equal": "Giá trị của {var} quá nhỏ.",
    "less_than_equal": "Giá trị của {var} quá lớn.",
    "greater_than": "Giá trị của {var} quá nhỏ.",
    "less_than": "Giá trị của {var} quá lớn.",
    "path_type": "Giá trị của {var} phải là một đường dẫn thư mục hoặc tệp.",
    "missing": "Thiếu thiết lập {var}.",
}
_FALLBACK = "Giá trị của {var} không hợp lệ."
_WHOLE = "Cấu hình không hợp lệ; hãy kiểm tra các biến môi trường LOA_… và tệp .env."


def _variable(location: tuple[Any, ...]) -> str:
    fields = [str(part) for part in location if isinstance(part, str)]
    return ENV_PREFIX + fields[0].upper() if fields else ""


def _expected(error: Mapping[str, Any]) -> str:
    context = error.get("ctx") or {}
    expected = str(context.get("expected", ""))
    return expected.replace("'", "").replace(" or ", ", ")


def describe(err: ValidationError) -> list[str]:
    """One Vietnamese sentence per error of a ``Settings()`` validation."""
    sentences: list[str] = []
    for error in err.errors():
        kind = str(error.get("type", ""))
        variable = _variable(tuple(error.get("loc", ())))
        if kind.startswith("secret_"):
            variable = "LOA_SECRET_KEY"
        if not variable:
            sentences.append(_WHOLE)
            continue
        sentence = _SENTENCES.get(kind, _FALLBACK).format(var=variable, expected=_expected(error))
        if sentence not in sentences:
            sentences.append(sentence)
    return sentences or [_WHOLE]
