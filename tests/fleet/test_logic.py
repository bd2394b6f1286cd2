"""Pure fleet logic: uptime from state changes, the map projection, date ranges of the receipt filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from loa.errors import InvalidInput
from loa.fleet.mapview import MapInput, project
from loa.fleet.present import ago, day_range, detail_label
from loa.fleet.uptime import online_time

T0 = datetime(2025, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("changes", "online_h", "observed_h"),
    [
        ([], 0, 0),  # never heard: nothing observed, no percentage
        ([(T0 - H, True)], 24, 24),  # online before the window and all through it
        ([(T0 - H, False)], 0, 24),
        ([(T0 + 20 * H, True)], 4, 4),  # first heard 4 h before the end: only those hours count
        ([(T0 - H, True), (T0 + 6 * H, False), (T0 + 9 * H, True)], 21, 24),
        ([(T0 + 9 * H, True), (T0 - H, True), (T0 + 6 * H, False)], 21, 24),  # any order
        ([(T0 - 2 * H, True), (T0 - H, False), (T0 + 30 * H, True)], 0, 24),  # change after the end
        ([(T0, False), (T0, True)], 24, 24),  # two changes at the same instant: the last wins
    ],
)
def test_online_time(changes: list[tuple[datetime, bool]], online_h: float, observed_h: float) -> None:
    result = online_time(changes, start=T0, end=T0 + 24 * H)
    assert result.online_s == online_h * 3600 and result.observed_s == observed_h * 3600
    if observed_h:
        assert result.fraction == pytest.approx(online_h / observed_h)
    else:
        assert result.fraction is None and result.percent_label == "—"


def test_map_projection_keeps_north_up_and_fits_the_frame() -> None:
    devices = [
        MapInput("a", "A", 14.80, 108.70, True),
        MapInput("b", "B", 14.70, 108.70, False),  # south of A
        MapInput("c", "C", 14.75, 108.80, True),  # east
        MapInput("z", "Z", 0.0, 0.0, True),  # no coordinates entered: left out
    ]
    drawn = project(devices)
    points = {p.uid: p for p in drawn.points}
    assert set(points) == {"a", "b", "c"}
    assert points["a"].y < points["b"].y and points["c"].x > points["a"].x
    assert all(0 <= p.x <= drawn.width and 0 <= p.y <= drawn.height for p in drawn.points)
    assert 10 < drawn.span_km < 40  # 0.1° of longitude at 14.75° N is ~10.8 km, plus margins
    single = project([MapInput("a", "A", 14.8, 108.7, True)])
    assert (single.points[0].x, single.points[0].y) == (single.width / 2, single.height / 2)
    assert project([]).points == ()


def test_receipt_filter_days_are_vietnamese_calendar_days() -> None:
    since, until = day_range(date(2025, 3, 1), date(2025, 3, 1))
    assert since == datetime(2025, 2, 28, 17, tzinfo=UTC) and until == datetime(2025, 3, 1, 17, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="Ngày kết thúc"):
        day_range(date(2025, 3, 2), date(2025, 3, 1))


def test_labels() -> None:
    assert ago(T0 - timedelta(seconds=90), T0) == "1 phút trước"
    assert ago(None, T0) == "—"
    assert detail_label("by:operator_stop") == "cán bộ vận hành dừng"
    assert detail_label("partial:1200ms") == "chỉ phát được 1200ms"
