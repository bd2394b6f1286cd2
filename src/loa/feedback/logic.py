"""Pure rules of citizens' feedback: what a citizen may type, the phone number, the tracking code, the
challenge that keeps blind form-posting robots out, and the states. No database, no web.

Spam control has no accounts and no third-party service (docs/feedback.md): a per-source rate limit
(``service``), this challenge (a small sum in words, answered in digits; the answer is never in the
page: the form carries only an HMAC of it, and each solved challenge is used once), a honeypot
field, size limits on text, photo and voice note, and text with markup refused outright.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from loa.errors import InvalidInput
from loa.feedback.models import FeedbackChannel, FeedbackState
from loa.vocab.text import clean_line

MIN_TEXT_CHARS = 10
MAX_TEXT_CHARS = 5000
MAX_NAME_CHARS = 120
MAX_REPLY_CHARS = 5000

# Markup or script in what a citizen types is refused, not cleaned: nobody needs it to say what is wrong
# in their village, and a refusal tells a prober that nothing gets through.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?]|javascript\s*:|\bon[a-z]+\s*=|&#|&lt;", re.IGNORECASE)
SCRIPT_REFUSED = (
    "Nội dung không được chứa mã HTML hay mã lệnh (ví dụ thẻ <script>). Vui lòng chỉ viết chữ bình thường."
)


def _clean_text(raw: str) -> str:
    return "\n".join(" ".join(line.split()) for line in raw.replace("\r\n", "\n").split("\n")).strip()


def check_text(raw: str, *, field: str = "text") -> str:
    text = _clean_text(raw)
    if _MARKUP.search(text):
        raise InvalidInput(SCRIPT_REFUSED, code="feedback_markup", details=[{"field": field}])
    if len(text) < MIN_TEXT_CHARS:
        raise InvalidInput(
            f"Vui lòng viết nội dung ý kiến (ít nhất {MIN_TEXT_CHARS} ký tự).",
            code="feedback_text_short",
            details=[{"field": field}],
        )
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"Nội dung quá dài (tối đa {MAX_TEXT_CHARS} ký tự).",
            code="feedback_text_long",
            details=[{"field": field}],
        )
    return text


def check_name(raw: str) -> str:
    name = clean_line(raw)
    if _MARKUP.search(name):
        raise InvalidInput(SCRIPT_REFUSED, code="feedback_markup", details=[{"field": "name"}])
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"Họ tên quá dài (tối đa {MAX_NAME_CHARS} ký tự).", code="feedback_name_long")
    return name


def check_phone(raw: str) -> str:
    """ "" (not given) or a Vietnamese number as ten digits (``+84 912…`` → ``0912…``)."""
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if not digits:
        return ""
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not re.fullmatch(r"0\d{9}", digits):
        raise InvalidInput(
            "Số điện thoại không hợp lệ (10 chữ số, ví dụ 0912 345 678). Có thể để trống.",
            code="feedback_phone",
            details=[{"field": "phone"}],
        )
    return digits


def mask_phone(phone: str) -> str:
    """What an officer outside the commune sees: ``0912 ••• 678``."""
    return f"{phone[:4]} ••• {phone[-3:]}" if len(phone) >= 7 else "•••" if phone else ""


def check_reply(raw: str) -> str:
    text = _clean_text(raw)
    if not text:
        raise InvalidInput("Vui lòng nhập nội dung trả lời.", code="reply_empty")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidInput(f"Trả lời quá dài (tối đa {MAX_REPLY_CHARS} ký tự).", code="reply_long")
    return text


# --- tracking codes ----------------------------------------------------------------------------------

# No 0/O, 1/I/L: read aloud over the phone or copied from a screen without mistakes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # 31^10 ≈ 8·10^14: not found by guessing


def new_tracking_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(raw: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", raw or "").upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def source_key(secret_key: str, source: str) -> str:
    """Who posted, without keeping the address or number itself: an HMAC with the instance's secret."""
    return hmac.new(secret_key.encode(), f"feedback-source:{source}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


# --- the challenge -----------------------------------------------------------------------------------

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
CHALLENGE_TTL = timedelta(hours=2)
CHALLENGE_FAILED = "Câu trả lời phép tính chưa đúng hoặc đã hết hạn. Vui lòng làm lại phép tính mới bên dưới."


@dataclass(frozen=True)
class Challenge:
    question: str  # "Bảy cộng hai bằng bao nhiêu?"
    token: str  # nonce.issued.mac: carried by the form, says nothing of the answer


def _mac(secret_key: str, nonce: str, issued: int, answer: int) -> str:
    message = f"feedback-challenge:{nonce}:{issued}:{answer}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_challenge(secret_key: str, now: datetime) -> Challenge:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce, issued = secrets.token_hex(8), int(now.timestamp())
    question = f"{DIGIT_WORDS[a].capitalize()} cộng {DIGIT_WORDS[b]} bằng bao nhiêu?"
    return Challenge(question, f"{nonce}.{issued}.{_mac(secret_key, nonce, issued, a + b)}")


def solved(secret_key: str, token: str, answer: str, now: datetime) -> str:
    """The challenge's nonce when ``answer`` is right and the challenge fresh; else ``InvalidInput``."""
    parts = (token or "").split(".")
    digits = (answer or "").strip()
    if len(parts) != 3 or not parts[1].isdigit() or not digits.isdigit() or len(digits) > 3:
        raise InvalidInput(CHALLENGE_FAILED, code="challenge_failed", details=[{"field": "answer"}])
    nonce, issued, mac = parts[0], int(parts[1]), parts[2]
    fresh = timedelta(0) <= now - datetime.fromtimestamp(issued, now.tzinfo) <= CHALLENGE_TTL
    if not fresh or not hmac.compare_digest(mac, _mac(secret_key, nonce, issued, int(digits))):
        raise InvalidInput(CHALLENGE_FAILED, code="challenge_failed", details=[{"field": "answer"}])
    return nonce


# --- states ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateInfo:
    label: str  # for officers
    public: str  # for the citizen
    colour: str


STATES: MappingProxyType[FeedbackState, StateInfo] = MappingProxyType(
    {
        FeedbackState.NEW: StateInfo("Mới nhận", "Đã tiếp nhận, đang chờ xử lý", "blue"),
        FeedbackState.ASSIGNED: StateInfo("Đang xử lý", "Đang được cán bộ xã xử lý", "orange"),
        FeedbackState.ANSWERED: StateInfo("Đã trả lời", "Đã có trả lời", "green"),
    }
)

CHANNELS: MappingProxyType[FeedbackChannel, str] = MappingProxyType(
    {
        FeedbackChannel.WEB: "Trang góp ý",
        FeedbackChannel.SMS: "Tin nhắn SMS",
        FeedbackChannel.HOTLINE: "Đường dây nóng",
    }
)


def is_overdue(state: FeedbackState, due_at: datetime, now: datetime) -> bool:
    return state is not FeedbackState.ANSWERED and now > due_at
