"""Coverage circles and people covered: pure arithmetic on points."""

from __future__ import annotations

import pytest

from loa.maps.coverage import Point, Village, coverage, distance_m


def test_distance_of_a_thousandth_of_a_degree() -> None:
    base = Point(14.77, 108.72)
    assert distance_m(base, Point(14.771, 108.72)) == pytest.approx(111.2, abs=0.2)  # north
    assert distance_m(base, Point(14.77, 108.721)) == pytest.approx(107.6, abs=0.2)  # east: × cos(14.77°)
    assert distance_m(base, base) == 0


def test_people_inside_any_circle_are_counted_once() -> None:
    speakers = [Point(14.7700, 108.7200), Point(14.7710, 108.7200)]  # two circles overlapping
    villages = [
        Village("a", "Gò Khoại", Point(14.7705, 108.7201), 850),  # inside both
        Village("b", "Làng Teng", Point(14.7880, 108.7200), 420),  # 2 km away
        Village("c", "Thôn Mới", None, 300),  # no point yet
        Village("d", "Tổ 5", Point(14.7702, 108.7198), None),  # no population yet
    ]
    found = coverage(speakers, villages, 300)
    assert found.covered == ("a", "d")
    assert (found.people_covered, found.people_known) == (850, 1570)
    assert (found.villages_without_point, found.villages_without_population) == (1, 1)
    assert found.share == pytest.approx(850 / 1570)


@pytest.mark.parametrize(("radius", "covered"), [(100, ()), (200, ("a",)), (2500, ("a", "b"))])
def test_the_radius_decides(radius: int, covered: tuple[str, ...]) -> None:
    villages = [Village("a", "A", Point(14.7715, 108.72), 10), Village("b", "B", Point(14.7880, 108.72), 20)]
    assert coverage([Point(14.77, 108.72)], villages, radius).covered == covered


def test_no_population_known_gives_no_share() -> None:
    assert coverage([], [Village("a", "A", None, None)], 300).share is None


def test_the_grid_finds_what_comparing_every_pair_finds() -> None:
    import random

    rng = random.Random(17)
    for centre in ((14.7, 108.7), (23.3, 105.3), (8.6, 104.7), (66.0, 25.0)):
        speakers = [
            Point(centre[0] + rng.uniform(-0.05, 0.05), centre[1] + rng.uniform(-0.05, 0.05))
            for _ in range(400)
        ]
        villages = [
            Village(
                str(i),
                f"Thôn {i}",
                Point(centre[0] + rng.uniform(-0.05, 0.05), centre[1] + rng.uniform(-0.05, 0.05)),
                100,
            )
            for i in range(300)
        ]
        for radius in (150.0, 300.0, 1500.0):
            found = coverage(speakers, villages, radius)
            brute = tuple(
                v.code
                for v in villages
                if v.point and any(distance_m(v.point, s) <= radius for s in speakers)
            )
            assert found.covered == brute and brute  # the same villages, and some
            assert radius > 150 or len(brute) < len(villages)  # not all of them at 150 m
