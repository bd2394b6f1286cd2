"""A small map of devices without any tiles from the Internet: an SVG scatter of their coordinates.

Equirectangular projection with the longitude scaled by cos(latitude), which is exact enough at the
scale of a commune or a province. Pure: returns points in SVG user units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from loa.vocab.numbers import number_text

MAP_WIDTH = 640
MAP_HEIGHT = 360
MAP_MARGIN = 24
MIN_SPAN_DEG = 0.01  # about 1 km: a single device, or devices in one spot, still get a sensible frame


@dataclass(frozen=True)
class MapInput:
    uid: str
    name: str
    latitude: float
    longitude: float
    online: bool


@dataclass(frozen=True)
class MapPoint:
    uid: str
    name: str
    x: float
    y: float
    online: bool


@dataclass(frozen=True)
class DeviceMap:
    points: tuple[MapPoint, ...]
    width: int = MAP_WIDTH
    height: int = MAP_HEIGHT
    span_km: float = 0.0  # east-west distance the drawing covers, for the scale label

    @property
    def scale_label(self) -> str:
        return f"{number_text(self.span_km, 0 if self.span_km >= 10 else 1)} km"


def valid_coordinates(latitude: float | None, longitude: float | None) -> bool:
    return (
        latitude is not None
        and longitude is not None
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
        and not (latitude == 0 and longitude == 0)
    )


def project(devices: Sequence[MapInput]) -> DeviceMap:
    usable = [d for d in devices if valid_coordinates(d.latitude, d.longitude)]
    if not usable:
        return DeviceMap(points=())
    lat_mid = (min(d.latitude for d in usable) + max(d.latitude for d in usable)) / 2
    k = math.cos(math.radians(lat_mid))
    xs = [d.longitude * k for d in usable]
    ys = [d.latitude for d in usable]
    span_x = max(max(xs) - min(xs), MIN_SPAN_DEG)
    span_y = max(max(ys) - min(ys), MIN_SPAN_DEG)
    inner_w, inner_h = MAP_WIDTH - 2 * MAP_MARGIN, MAP_HEIGHT - 2 * MAP_MARGIN
    scale = min(inner_w / span_x, inner_h / span_y)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    points = tuple(
        MapPoint(
            uid=d.uid,
            name=d.name,
            x=round(MAP_WIDTH / 2 + (x - cx) * scale, 1),
            y=round(MAP_HEIGHT / 2 - (y - cy) * scale, 1),  # north is up
            online=d.online,
        )
        for d, x, y in zip(usable, xs, ys, strict=True)
    )
    span_km = MAP_WIDTH / scale * 111.32  # degrees of (scaled) longitude → km
    return DeviceMap(points=points, span_km=span_km)
