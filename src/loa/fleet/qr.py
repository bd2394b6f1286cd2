"""The enrolment QR code: an inline SVG (segno) of the one-time code, shown once with its text."""

from __future__ import annotations

import segno

QR_ERROR_LEVEL = "m"


def qr_payload(code: str) -> str:
    """What the QR encodes: the bare code (what the installer would otherwise type)."""
    return code


def enrol_qr(code: str) -> segno.QRCode:
    # A full QR code, never a Micro QR (segno picks one for short text): phone cameras read only these.
    return segno.make(qr_payload(code), error=QR_ERROR_LEVEL, micro=False)


def enrol_qr_svg(code: str, *, scale: int = 6) -> str:
    svg: str = enrol_qr(code).svg_inline(scale=scale, title=f"Mã đăng ký {code}")
    return svg
