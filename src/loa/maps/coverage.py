"""Who hears a loudspeaker: coverage circles and the people of the villages inside them. Pure.

A loudspeaker cluster (cụm loa: two to four horn speakers on one pole) is drawn with a circle of
``radius_m`` (``LOA_MAP_COVERAGE_RADIUS_M``, 300 m by default). The default is a planning assumption,
not a measurement: a 25–30 W horn gives roughly 110 dB(A) at 1 m, and spreading alone (−20·log10 d)
leaves about 60 dB(A) at 300 m — some 15 dB above the 40–45 dB(A) of a quiet rural daytime, the margin
speech needs to be understood. Wind, terrain, houses and rain shorten it; open paddy fields lengthen
it. A province should set the radius after a listening test on its own equipment.

A village counts as covered when its point (the centre a commune entered) lies inside at least one
loudspeaker's circle; its whole population is then counted, once however many circles hold it. Villages
without a point or without a population are counted apart, so the page can say how far the figure goes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180  # of latitude (along a meridian, on the sphere)
DEFAULT_RADIUS_M = 300


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    point: Point | None
    population: int | None


@dataclass(frozen=True)
class Coverage:
    covered: tuple[str, ...]  # codes of the villages inside a circle
    people_covered: int  # population of those villages (those with a population)
    people_known: int  # population of every village that has one
    villages_without_point: int
    villages_without_population: int

    @property
    def share(self) -> float | None:
        """People covered over people known (None when no village has a population)."""
        return self.people_covered / self.people_known if self.people_known else None


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance (haversine): exact enough for hundreds of metres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class _Grid:
    """Loudspeakers in cells a little larger than ``radius_m`` of latitude: a village is compared only
    with those of the cells around it, not with every loudspeaker of the province."""

    def __init__(self, points: Sequence[Point], radius_m: float) -> None:
        self.cell = max(radius_m * 1.01 / METRES_PER_DEGREE, 1e-7)  # degrees, both ways
        self.cells: dict[tuple[int, int], list[Point]] = defaultdict(list)
        for p in points:
            self.cells[self._key(p.latitude, p.longitude)].append(p)

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell), math.floor(lon / self.cell)

    def near(self, p: Point) -> Iterator[Point]:
        """Every loudspeaker within one cell of latitude, and as many of longitude as the parallel asks."""
        row, col = self._key(p.latitude, p.longitude)
        widest = max(abs(p.latitude) + self.cell, 0.0)
        span = 1 + math.ceil(1 / max(math.cos(math.radians(min(widest, 89.9))), 1e-3))
        for r in range(row - 1, row + 2):
            for c in range(col - span, col + span + 1):
                yield from self.cells.get((r, c), ())


def coverage(loudspeakers: Sequence[Point], villages: Sequence[Village], radius_m: float) -> Coverage:
    """Which villages lie within ``radius_m`` of a loudspeaker, and how many people they hold."""
    covered: list[str] = []
    people = known = 0
    grid = _Grid(loudspeakers, radius_m)
    for v in villages:
        if v.population is not None:
            known += v.population
        if v.point is None:
            continue
        if any(distance_m(v.point, speaker) <= radius_m for speaker in grid.near(v.point)):
            covered.append(v.code)
            people += v.population or 0
    return Coverage(
        covered=tuple(covered),
        people_covered=people,
        people_known=known,
        villages_without_point=sum(1 for v in villages if v.point is None),
        villages_without_population=sum(1 for v in villages if v.population is None),
    )
