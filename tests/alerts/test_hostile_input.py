"""Hostile input to the typed-warning form and the alerts API: a megabyte of text, control characters,
NUL bytes, a text of spaces, an unknown hazard or level, an expiry in the past or without a time zone,
a polygon of 100 000 corners, a self-intersecting or flat one, impossible coordinates. Each is refused
with a clear Vietnamese message (the form's page, or a 4xx problem with a Vietnamese title), reading a
bounded amount of memory, and leaves nothing behind: no alert, no command, no timing, no audio made.

The form's send step is tried with a confirmation token signed for the hostile content itself (as if
the review step had let it through): the send path checks again on its own."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from loa.alerts import confirm
from loa.alerts.forms import AlertForm
from loa.alerts.models import AlertTiming, EmergencyAlert
from loa.db import make_session_factory
from loa.fleet.models import DeviceCommand, DeviceCommandBatch
from loa.settings import Settings
from loa.speech.models import AudioAsset
from tests.alerts.test_send_form import _form
from tests.fleet.world import COMMUNE_A
from tests.support.auth import bearer, login_web

PEAK_BOUND = 24 * 1024 * 1024  # bytes Python allocates at the peak of one refused request
PAGE_BOUND = 64 * 1024  # a refusal page does not echo a megabyte back
BOWTIE = [[14.78, 108.71], [14.76, 108.74], [14.78, 108.74], [14.76, 108.71]]  # two edges cross
FLAT = [[14.77, 108.71], [14.77, 108.72], [14.77, 108.73]]  # three corners on one line
HUGE = [[round(14.77 + i * 1e-6, 6), 108.72 + (i % 2) * 1e-3] for i in range(100_000)]

POLYGON_INVALID = "Vùng vẽ trên bản đồ không hợp lệ"
CONTROL = "ký tự điều khiển"
FUTURE = "ở tương lai"
TOO_BIG = "Dữ liệu gửi quá lớn"


def form_polygon(corners: list[list[float]] | str) -> dict[str, Any]:
    return {
        "mode": "polygon",
        "polygon": corners if isinstance(corners, str) else json.dumps(corners),
        "communes": [],
    }


def api_polygon(corners: list[list[float]]) -> dict[str, Any]:
    return {"commune_codes": [], "target": {"mode": "polygon", "polygon": corners}}


# (name, form fields, words the refusal must contain)
FORM_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("a megabyte of text", {"text": "Lũ quét. " * 120_000}, TOO_BIG),
    ("4001 characters", {"text": "A" * 4001}, "quá dài (tối đa 4000 ký tự)"),
    ("control characters", {"text": "Lũ quét\x07\x1b[31m tại thôn 1\x08 sơ tán ngay."}, CONTROL),
    ("a NUL byte", {"text": "Lũ quét\x00 tại thôn 1, sơ tán ngay."}, CONTROL),
    ("only control characters", {"text": "\x01\x02\x03"}, CONTROL),
    ("only spaces", {"text": "   \t \n  "}, "Hãy nhập nội dung cảnh báo"),
    ("an unknown hazard", {"hazard": "volcano"}, "Loại thiên tai không hợp lệ"),
    ("an unknown level", {"risk_level": "9"}, "Cấp độ rủi ro phải từ 1 đến 5"),
    ("a level that is no number", {"risk_level": "ba"}, "Cấp độ rủi ro phải từ 1 đến 5"),
    ("an expiry in the past", {"expires_h": "-3"}, "Thời gian hiệu lực phải từ 1 đến"),
    ("100 000 corners", form_polygon(HUGE), TOO_BIG),
    ("201 corners", form_polygon(HUGE[:201]), POLYGON_INVALID),
    ("a self-intersecting polygon", form_polygon(BOWTIE), "cắt nhau"),
    ("a flat polygon", form_polygon(FLAT), "diện tích"),
    ("NaN corners", form_polygon("[[NaN,1],[1,2],[2,3]]"), POLYGON_INVALID),
    ("a corner off the globe", form_polygon("[[91,1],[1,2],[2,3]]"), POLYGON_INVALID),
]  # fmt: skip

API_BASE: dict[str, Any] = {
    "commune_codes": [COMMUNE_A],
    "text": "Lũ quét tại thôn 1, sơ tán ngay.",
    "hazard": "flash_flood",
    "risk_level": 3,
}
API_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("a megabyte of text", {"text": "Lũ quét. " * 120_000}, TOO_BIG),
    ("control characters", {"text": "Lũ quét\x07\x1b[31m tại thôn 1\x08 sơ tán ngay."}, CONTROL),
    ("a NUL byte", {"text": "Lũ quét\x00 tại thôn 1, sơ tán ngay."}, CONTROL),
    ("only spaces", {"text": "     "}, "Hãy nhập nội dung cảnh báo"),
    ("an unknown hazard", {"hazard": "volcano"}, "Loại thiên tai không hợp lệ"),
    ("an expiry in the past", {"expires_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}, FUTURE),
    ("an expiry without a time zone", {"expires_at": "2030-01-01T00:00:00"}, "múi giờ"),
    ("100 000 corners", api_polygon(HUGE), TOO_BIG),
    ("201 corners", api_polygon(HUGE[:201]), POLYGON_INVALID),
    ("a self-intersecting polygon", api_polygon(BOWTIE), "cắt nhau"),
    ("a flat polygon", api_polygon(FLAT), "diện tích"),
    ("an infinite corner", api_polygon([[1e400, 1], [1, 2], [2, 3]]), POLYGON_INVALID),
]  # fmt: skip


def nothing_made(engine: Engine) -> None:
    with make_session_factory(engine)() as s:
        for table in (EmergencyAlert, AlertTiming, DeviceCommand, DeviceCommandBatch, AudioAsset):
            assert s.scalar(select(func.count()).select_from(table)) == 0, table.__name__


def measured(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, int]:
    """The response and the peak of memory Python allocated while the request was handled."""
    tracemalloc.start()
    try:
        response = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def shown_error(page: str) -> str:
    return " ".join(re.findall(r'role="alert"[^>]*>\s*([^<]*)<', page)) or page


@pytest.mark.parametrize(("name", "fields", "words"), FORM_CASES, ids=[c[0] for c in FORM_CASES])
def test_the_form_refuses_hostile_input_clearly_and_makes_nothing(
    web: TestClient, world_engine: Engine, settings: Settings, name: str, fields: dict[str, Any], words: str
) -> None:
    token = login_web(web, "vanhanh.a")
    data = _form(token, **fields)
    review, peak = measured(lambda: web.post("/alerts", data={**data, "step": "review"}))
    assert 400 <= review.status_code < 500, (name, review.status_code)
    assert words in shown_error(review.text), (name, shown_error(review.text)[:300])
    assert 'data-testid="confirm-step"' not in review.text
    assert len(review.content) < PAGE_BOUND and peak < PEAK_BOUND, (len(review.content), peak)
    # The send step with a token signed for exactly this content: refused again, on its own.
    content = _content_or_none(data)
    if content is not None:
        secret = settings.secret_key.get_secret_value()
        signed = confirm.sign(secret, purpose="alert", username="vanhanh.a", content=content)
        sent = web.post("/alerts", data={**data, "step": "send", "confirm_token": signed})
        assert 400 <= sent.status_code < 500 and words in shown_error(sent.text), name
    nothing_made(world_engine)


def _content_or_none(data: dict[str, Any]) -> dict[str, object] | None:
    """What the confirmation token would bind (None when the form cannot even be read that far)."""
    from starlette.datastructures import ImmutableMultiDict

    pairs = [(k, v) for k, value in data.items() for v in (value if isinstance(value, list) else [value])]
    try:
        return AlertForm.read(ImmutableMultiDict(pairs)).content()
    except Exception:  # e.g. a polygon the form refuses before any token exists
        return None


@pytest.mark.parametrize(("name", "extra", "words"), API_CASES, ids=[c[0] for c in API_CASES])
def test_the_api_refuses_hostile_input_with_a_vietnamese_4xx_and_makes_nothing(
    web: TestClient, world_engine: Engine, name: str, extra: dict[str, Any], words: str
) -> None:
    headers = {**bearer(web, "vanhanh.a"), "Content-Type": "application/json"}
    body = json.dumps({**API_BASE, **extra})
    answer, peak = measured(lambda: web.post("/api/v1/alerts", content=body, headers=headers))
    assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text[:300])
    assert words in answer.json()["title"], (name, answer.json())
    assert peak < PEAK_BOUND, peak
    nothing_made(world_engine)


def test_the_api_needs_a_declared_length(web: TestClient, world_engine: Engine) -> None:
    """A body streamed without its length could be any size: refused before it is read."""
    headers = {**bearer(web, "vanhanh.a"), "Content-Type": "application/json"}

    def chunks() -> Any:
        yield json.dumps(API_BASE).encode()

    answer = web.post("/api/v1/alerts", content=chunks(), headers=headers)
    assert answer.status_code == 411 and "độ dài" in answer.json()["title"]
    nothing_made(world_engine)
