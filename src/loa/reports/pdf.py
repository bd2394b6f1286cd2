"""DOCX (or XLSX) → PDF through LibreOffice when it is installed (``soffice --headless --convert-to pdf``).

Each conversion uses its own throw-away LibreOffice profile, so conversions never share (or lock) a
user profile and can run side by side. Without LibreOffice the caller gets ``PdfUnavailable``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from loa.errors import LoaError

log = logging.getLogger(__name__)


class PdfUnavailable(LoaError):
    status: ClassVar[int] = 503
    default_code: ClassVar[str] = "pdf_unavailable"
    default_message: ClassVar[str] = (
        "Máy chủ chưa cài LibreOffice nên chưa xuất được PDF. Vui lòng tải bản DOCX, "
        "hoặc đề nghị quản trị viên cài gói libreoffice-writer-nogui."
    )


class PdfConversionFailed(LoaError):
    default_code: ClassVar[str] = "pdf_conversion_failed"
    default_message: ClassVar[str] = "Chuyển báo cáo sang PDF không thành công. Vui lòng tải bản DOCX."


def office_binary() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_available() -> bool:
    return office_binary() is not None


def docx_to_pdf(docx: bytes, *, timeout_s: float = 180) -> bytes:
    return office_to_pdf(docx, "docx", timeout_s=timeout_s)


def office_to_pdf(document: bytes, extension: str, *, timeout_s: float = 180) -> bytes:
    """``document`` (a DOCX or an XLSX, by ``extension``) printed to PDF as LibreOffice prints it."""
    binary = office_binary()
    if binary is None:
        raise PdfUnavailable()
    with tempfile.TemporaryDirectory(prefix="loa-pdf-") as tmp:
        root = Path(tmp)
        source = root / f"bao-cao.{extension}"
        source.write_bytes(document)
        profile = root / "profile"
        command = [
            binary,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
            str(root),
            str(source),
        ]
        env = {**os.environ, "HOME": str(root)}
        try:
            result = subprocess.run(command, capture_output=True, timeout=timeout_s, env=env, check=False)
        except subprocess.TimeoutExpired as err:
            raise PdfConversionFailed(
                "Chuyển sang PDF quá thời gian cho phép. Vui lòng thử lại sau."
            ) from err
        target = root / "bao-cao.pdf"
        if result.returncode != 0 or not target.exists():
            log.warning(
                "soffice failed (rc=%s): %s", result.returncode, result.stderr.decode(errors="replace")[-500:]
            )
            raise PdfConversionFailed()
        return target.read_bytes()
