"""Decode uploaded text the way Vietnamese offices actually save it: UTF-8 (with or without BOM),
Windows-1258 (tone marks as combining characters → normalised to NFC) and the legacy TCVN3 (ABC,
".VnTime" fonts) 8-bit encoding — including its common mojibake, TCVN3 bytes that were later saved as
UTF-8 through a Western code page ("Ph¹m V¨n §ång"). Pure: bytes in, text (NFC) and the encoding's name out.

Detection scores each candidate by how many of its non-ASCII characters are Vietnamese letters and
how many are symbols that only appear when the wrong table was used; the best clean candidate wins.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from loa.errors import InvalidInput

# TCVN 5712:1993 VN3 (the "ABC" encoding of the .VnTime fonts): byte → Unicode. Upper-case toned
# letters were written with the same bytes in the .VnTimeH font, so they decode to lower case here.
TCVN3_TABLE: dict[int, str] = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip

VIETNAMESE_LETTERS = frozenset(
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
# Typographic characters a real Vietnamese CSV may contain besides letters.
FRIENDLY_SYMBOLS = frozenset("–—‘’“”…•°×²³€№«»·")

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # "UTF-8", "UTF-8 (BOM)", "Windows-1258", "TCVN3 (ABC)", "TCVN3 (ABC) lưu qua UTF-8"


def decode_tcvn3(data: bytes) -> str:
    """TCVN3 bytes → Unicode text (bytes outside the table are read as Windows-1252)."""
    out = []
    for byte in data:
        mapped = TCVN3_TABLE.get(byte)
        out.append(mapped if mapped is not None else bytes([byte]).decode("cp1252", errors="replace"))
    return "".join(out)


def _cp1252_byte(ch: str) -> int | None:
    try:
        encoded = ch.encode("cp1252")
    except UnicodeEncodeError:
        return ord(ch) if ord(ch) < 256 else None
    return encoded[0] if len(encoded) == 1 else None


def _as_cp1252_bytes(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        byte = _cp1252_byte(ch)
        if byte is None:
            raise ValueError(ch)
        out.append(byte)
    return bytes(out)


def repair_tcvn3_mojibake(text: str) -> str:
    """Text whose characters are TCVN3 bytes shown through Windows-1252 → the Vietnamese it meant."""
    out = []
    for ch in text:
        byte = _cp1252_byte(ch) if ord(ch) >= 0x80 else None
        out.append(TCVN3_TABLE.get(byte, ch) if byte is not None else ch)
    return "".join(out)


def score(text: str) -> tuple[int, int]:
    """(Vietnamese letters, suspicious characters) among the non-ASCII characters of ``text``."""
    good = bad = 0
    for ch in text:
        if ord(ch) < 0x80:
            continue
        if ch in VIETNAMESE_LETTERS or ch in FRIENDLY_SYMBOLS or ch == "\ufeff":
            good += 1
        else:
            bad += 1
    return good, bad


def _clean(text: str) -> bool:
    good, bad = score(text)
    return bad == 0 or bad * 20 <= good


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def decode_text(data: bytes) -> Decoded:
    """Decode an uploaded text file or raise ``InvalidInput`` naming the encoding problem."""
    if b"\x00" in data[:4096] or data[:4] == b"PK\x03\x04":
        raise InvalidInput(
            "Tệp không phải văn bản CSV (có thể là tệp Excel .xlsx hoặc tệp nhị phân). "
            "Hãy mở tệp trong Excel và chọn Lưu thành → CSV UTF-8.",
            code="not_text",
        )
    if data.startswith(UTF8_BOM):
        try:
            return Decoded(_nfc(data[len(UTF8_BOM) :].decode("utf-8")), "UTF-8 (BOM)")
        except UnicodeDecodeError as err:
            raise _undecodable("UTF-8", err) from err
    try:
        text = _nfc(data.decode("utf-8"))
    except UnicodeDecodeError:
        return _decode_legacy(data)
    if _clean(text):
        return Decoded(text, "UTF-8")
    try:
        # UTF-8 that was read as Windows-1252 and saved as UTF-8 again ("Ä\x91Æ°á»\x9dng").
        double = _nfc(_as_cp1252_bytes(text).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        pass
    else:
        if _clean(double) and score(double)[0] > 0:
            return Decoded(double, "UTF-8 (bị mã hóa hai lần, đã sửa)")
    repaired = _nfc(repair_tcvn3_mojibake(text))
    if _clean(repaired) and score(repaired)[0] > 0:
        return Decoded(repaired, "TCVN3 (ABC) lưu qua UTF-8")
    raise InvalidInput(
        "Tệp là UTF-8 nhưng chứa ký tự lạ (chữ tiếng Việt bị lỗi phông). "
        "Hãy chuyển tệp sang Unicode (ví dụ bằng Unikey Toolkit) rồi lưu thành CSV UTF-8.",
        code="mojibake",
    )


def _decode_legacy(data: bytes) -> Decoded:
    """Not UTF-8: Windows-1258 first, then TCVN3.

    Order matters: TCVN3 bytes read as Windows-1258 give symbols (¸ µ ¶ ¨ ©) and stray combining
    marks, so that reading is never clean; Windows-1258 bytes read as TCVN3, however, also give
    letters (garbled ones), so Windows-1258 must be tried, and accepted when clean, first.
    """
    try:
        text = _nfc(data.decode("cp1258"))
    except UnicodeDecodeError:
        pass
    else:
        if _clean(text):
            return Decoded(text, "Windows-1258")
    text = _nfc(decode_tcvn3(data))
    if _clean(text):
        return Decoded(text, "TCVN3 (ABC)")
    raise InvalidInput(
        "Không nhận ra bảng mã của tệp: không phải UTF-8, Windows-1258 hay TCVN3 (ABC). "
        "Hãy lưu lại tệp dưới dạng CSV UTF-8 rồi tải lên lại.",
        code="unknown_encoding",
    )


def _undecodable(encoding: str, err: UnicodeDecodeError) -> InvalidInput:
    return InvalidInput(
        f"Tệp khai báo bảng mã {encoding} nhưng có byte không hợp lệ ở vị trí {err.start}. "
        "Hãy lưu lại tệp dưới dạng CSV UTF-8 rồi tải lên lại.",
        code="bad_encoding",
    )


TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def encode_cp1258(text: str) -> bytes:
    """Unicode → Windows-1258 as Windows writes it: precomposed where the code page has the letter,
    otherwise base letter + combining tone mark (e.g. 'ặ' → 'ă' + U+0323)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
        tones = "".join(c for c in parts if c in TONE_MARKS)
        out += (base + tones).encode("cp1258")
    return bytes(out)


def encode_tcvn3(text: str) -> bytes:
    """Unicode → TCVN3 bytes (upper-case toned letters fall back to lower case, as in .VnTime)."""
    reverse = {v: k for k, v in TCVN3_TABLE.items()}
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in reverse:
            out.append(reverse[ch])
        elif ch.lower() in reverse:
            out.append(reverse[ch.lower()])
        else:
            out += ch.encode("cp1252")
    return bytes(out)
