"""Translate every error to a clear Vietnamese message: a problem+json body for the API, a page otherwise."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from loa.errors import LoaError
from loa.web.security import SECURITY_HEADERS

log = logging.getLogger(__name__)

HTTP_MESSAGES: dict[int, str] = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy trang hoặc dữ liệu yêu cầu.",
    405: "Phương thức không được hỗ trợ.",
    413: "Tệp tải lên quá lớn.",
    415: "Định dạng dữ liệu không được hỗ trợ.",
    422: "Dữ liệu không hợp lệ.",
    429: "Quá nhiều yêu cầu. Vui lòng đợi rồi thử lại.",
    500: "Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau.",
}

OUT_OF_RANGE = "Dữ liệu không hợp lệ: có giá trị vượt quá giới hạn cho phép (số quá lớn)."

VALIDATION_MESSAGES: dict[str, str] = {
    "json_invalid": "Nội dung JSON không hợp lệ",
    "missing": "Thiếu trường bắt buộc",
    "string_type": "Phải là chuỗi ký tự",
    "int_type": "Phải là số nguyên",
    "int_parsing": "Phải là số nguyên",
    "float_parsing": "Phải là số",
    "bool_parsing": "Phải là đúng/sai",
    "date_from_datetime_parsing": "Ngày không hợp lệ",
    "date_parsing": "Ngày không hợp lệ",
    "datetime_parsing": "Thời điểm không hợp lệ",
    "datetime_from_date_parsing": "Thời điểm không hợp lệ",
    "enum": "Giá trị không nằm trong danh sách cho phép",
    "literal_error": "Giá trị không nằm trong danh sách cho phép",
    "string_too_short": "Quá ngắn",
    "string_too_long": "Quá dài",
    "too_short": "Quá ít phần tử",
    "too_long": "Quá nhiều phần tử",
    "greater_than_equal": "Giá trị quá nhỏ",
    "less_than_equal": "Giá trị quá lớn",
    "greater_than": "Giá trị quá nhỏ",
    "less_than": "Giá trị quá lớn",
    "model_attributes_type": "Phải là một đối tượng JSON",
    "dict_type": "Phải là một đối tượng JSON",
    "list_type": "Phải là một danh sách",
    "extra_forbidden": "Trường không được phép",
    "value_error": "Giá trị không hợp lệ",
    "string_pattern_mismatch": "Sai định dạng",
}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return (
        path.startswith("/api/")
        or path.startswith("/feeds/")
        or path == "/healthz"
        or "application/json" in request.headers.get("accept", "")
    )


class _ProblemResponse(JSONResponse):
    """An error body may echo what was sent, lone surrogates included (issue 20.9): those are written
    as "?" rather than failing to encode."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "replace")


def problem(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:loa:error:{code}", "title": message, "status": status, "code": code}
    if details is not None:
        body["details"] = details
    return _ProblemResponse(body, status_code=status, media_type="application/problem+json")


def error_page(request: Request, status: int, message: str) -> Response:
    from loa.web.templating import render

    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def respond(request: Request, status: int, code: str, message: str, details: Any = None) -> Response:
    if wants_json(request):
        return problem(status, code, message, details)
    return error_page(request, status, message)


def describe_validation_errors(errors: Any) -> list[dict[str, str]]:
    described = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        described.append(
            {
                "field": ".".join(loc),
                "message": VALIDATION_MESSAGES.get(err.get("type", ""), "Giá trị không hợp lệ"),
            }
        )
    return described


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoaError)
    async def _loa_error(request: Request, exc: LoaError) -> Response:
        headers: dict[str, str] = {}
        response = respond(request, exc.status, exc.code, exc.message, exc.details)
        if exc.status == 401 and wants_json(request):
            headers["WWW-Authenticate"] = "Bearer"
        if exc.status == 429 and isinstance(exc.details, dict) and "retry_after_s" in exc.details:
            headers["Retry-After"] = str(int(exc.details["retry_after_s"]))
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = describe_validation_errors(exc.errors())
        is_json = any(d["message"] == VALIDATION_MESSAGES["json_invalid"] for d in details)
        message = "Nội dung JSON không hợp lệ." if is_json else "Dữ liệu không hợp lệ."
        return respond(request, 422, "invalid_input", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code, HTTP_MESSAGES[400])
        return respond(request, exc.status_code, f"http_{exc.status_code}", message)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # A number beyond the database's integers (an id above 2**63 - 1: SQLite raises OverflowError,
        # PostgreSQL "out of range") or a value the database refuses as data: the request's fault,
        # found by fuzzing (issue 20.9). Logged without a traceback; the transaction is rolled back
        # when the request's session closes.
        log.warning("value out of range on %s %s: %s", request.method, request.url.path, exc)
        return respond(request, 422, "out_of_range", OUT_OF_RANGE)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = respond(request, 500, "internal_error", HTTP_MESSAGES[500])
        # Starlette answers these outside every middleware, so the security headers are added here.
        response.headers.update(SECURITY_HEADERS)
        return response
