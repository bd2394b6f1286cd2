"""Reading one uploaded file from a multipart request without trusting the client's sizes."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from loa.errors import InvalidInput, PayloadTooLarge

MULTIPART_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class UploadedFile:
    data: bytes
    filename: str
    content_type: str
    fields: dict[str, str]


async def read_upload(request: Request, limit_bytes: int, too_large: str) -> UploadedFile:
    """Read one multipart file field (``file``) without trusting the client: the declared length is
    checked before parsing, and reading stops one byte past the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit_bytes + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(too_large)
    form = await request.form(max_files=1, max_fields=20)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput(
            "Vui lòng chọn tệp để tải lên.", details=[{"field": "file", "message": "Thiếu tệp"}]
        )
    data = await upload.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise PayloadTooLarge(too_large)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return UploadedFile(data, upload.filename or "", upload.content_type or "", fields)
