"""One error tree for Loa, translated to a clear message at each boundary (HTTP, CLI, MQTT).

    LoaError                      500  generic failure, message for a person in Vietnamese
    ├── InvalidInput              422  bad data from a person or a device
    ├── NotFound                  404  the thing does not exist (or is outside your areas)
    ├── AuthenticationFailed      401  who you are could not be established
    ├── PermissionDenied          403  you may not do this here
    ├── Conflict                  409  the state changed under you (concurrent edit, duplicate)
    ├── TooManyRequests           429  throttled (login attempts)
    └── PayloadTooLarge           413  upload over the limit

Each error carries ``message`` (Vietnamese, shown to people), a stable machine ``code`` and optional
``details`` (e.g. per-row or per-field errors). Library errors are wrapped at the boundary with
``raise X(...) from err`` so a stack trace never reaches a person.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LoaError(Exception):
    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "Đã xảy ra lỗi, vui lòng thử lại."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, details: Any | None = None
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.details = details
        super().__init__(self.message)


class InvalidInput(LoaError):
    status = 422
    default_code = "invalid_input"
    default_message = "Dữ liệu không hợp lệ."


class NotFound(LoaError):
    status = 404
    default_code = "not_found"
    default_message = "Không tìm thấy."


class AuthenticationFailed(LoaError):
    status = 401
    default_code = "authentication_failed"
    default_message = "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn."


class PermissionDenied(LoaError):
    status = 403
    default_code = "permission_denied"
    default_message = "Bạn không có quyền thực hiện thao tác này."


class Conflict(LoaError):
    status = 409
    default_code = "conflict"
    default_message = "Dữ liệu đã bị thay đổi bởi người khác. Vui lòng tải lại và thử lại."


class TooManyRequests(LoaError):
    status = 429
    default_code = "too_many_requests"
    default_message = "Quá nhiều lần thử. Vui lòng đợi rồi thử lại."


class PayloadTooLarge(LoaError):
    status = 413
    default_code = "payload_too_large"
    default_message = "Tệp tải lên quá lớn."
