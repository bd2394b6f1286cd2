"""Configuration errors in words a person reads: one Vietnamese sentence per wrong setting.

pydantic reports a wrong setting as an error type and a field name (``int_parsing`` on ``port``); the
sentence names the environment variable to fix (``LOA_PORT``) and says what it must be. The English
text pydantic carries is never shown; the checks ``Settings`` makes itself raise ``ValueError`` with a
Vietnamese sentence, which is shown without pydantic's "Value error, " prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

ENV_PREFIX = "LOA_"

# Error type → sentence; ``{var}`` is the environment variable, ``{expected}`` the allowed values.
_SENTENCES: Mapping[str, str] = {
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


_VALUE_ERROR_PREFIX = "Value error, "


def _own_sentence(error: Mapping[str, Any]) -> str | None:
    """The Vietnamese sentence of a check ``Settings`` makes itself (a ``ValueError``), if any."""
    message = str(error.get("msg", ""))
    if error.get("type") != "value_error" or not message.startswith(_VALUE_ERROR_PREFIX):
        return None
    sentence = message.removeprefix(_VALUE_ERROR_PREFIX).strip()
    return sentence if any(ord(c) > 127 for c in sentence) else None  # only our own, Vietnamese ones


def describe(err: ValidationError) -> list[str]:
    """One Vietnamese sentence per error of a ``Settings()`` validation."""
    sentences: list[str] = []
    for error in err.errors():
        kind = str(error.get("type", ""))
        variable = _variable(tuple(error.get("loc", ())))
        own = _own_sentence(error)
        if own is not None:
            if own not in sentences:
                sentences.append(own)
            continue
        if not variable:
            sentences.append(_WHOLE)
            continue
        sentence = _SENTENCES.get(kind, _FALLBACK).format(var=variable, expected=_expected(error))
        if sentence not in sentences:
            sentences.append(sentence)
    return sentences or [_WHOLE]
