"""A sketch map (sơ đồ phác thảo) of where visual items stand and where the mobile vehicle went, as
inline SVG over the province's bounding box. No map tiles are available offline, so the background is
only the centres of the province's communes, read from the data files of the ``vietnamadminunits``
package (already a dependency of loa.areas); the page says plainly that this is not a map.

Visual items carry their own coordinates. Trips have none: a trip is drawn at the centre of the commune
it is filed under when that commune is in the data set, and marked as approximate.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from markupsafe import Markup, escape

from loa.areas.logic import name_key
from loa.vocab.numbers import number_text

DATA_PACKAGE = "vietnamadminunits"
PAD_FRACTION = 0.06
PointKind = Literal["visual", "trip"]


@dataclass(frozen=True)
class Centroid:
    code: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Box:
    south: float
    north: float
    west: float
    east: float

    def contains(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and self.west <= longitude <= self.east

    def padded(self, fraction: float = PAD_FRACTION) -> Box:
        dlat = max(self.north - self.south, 0.02) * fraction
        dlon = max(self.east - self.west, 0.02) * fraction
        return Box(self.south - dlat, self.north + dlat, self.west - dlon, self.east + dlon)

    @classmethod
    def around(cls, points: Sequence[tuple[float, float]]) -> Box | None:
        if not points:
            return None
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        return cls(min(lats), max(lats), min(lons), max(lons))


@dataclass(frozen=True)
class MapPoint:
    latitude: float
    longitude: float
    label: str
    href: str
    kind: PointKind
    approximate: bool = False


def _data_file() -> Path | None:
    spec = importlib.util.find_spec(DATA_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "parser_from_2025.json"
    return path if path.exists() else None


@lru_cache(maxsize=1)
def _all_centroids() -> dict[str, tuple[Centroid, ...]]:
    """Province code → centres of its communes (read once per process, ~1 MB of JSON)."""
    path = _data_file()
    if path is None:
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, tuple[Centroid, ...]] = {}
    for key, province in data.get("DICT_PROVINCE", {}).items():
        wards = data.get("DICT_PROVINCE_WARD_NO_ACCENTED", {}).get(key, {})
        out[str(province["provinceCode"])] = tuple(
            Centroid(str(w["wardCode"]), str(w["ward"]), float(w["wardLat"]), float(w["wardLon"]))
            for w in wards.values()
            if w.get("wardLat") is not None and w.get("wardLon") is not None
        )
    return out


def province_centroids(province_code: str) -> tuple[Centroid, ...]:
    return _all_centroids().get(province_code, ())


def find_centroid(province_code: str, code: str, name: str) -> Centroid | None:
    """The centre of a commune, matched by name within the province first (the data set's codes are
    not always the official ones), then by code."""
    centroids = province_centroids(province_code)
    wanted = name_key(name)
    by_name = [c for c in centroids if name_key(c.name) == wanted]
    if len(by_name) == 1:
        return by_name[0]
    return next((c for c in centroids if c.code == code), None)


def province_box(province_code: str) -> Box | None:
    return Box.around([(c.latitude, c.longitude) for c in province_centroids(province_code)])


def sketch_svg(
    points: Sequence[MapPoint],
    *,
    box: Box,
    background: Sequence[Centroid] = (),
    width: int = 640,
    title: str = "Sơ đồ phác thảo vị trí",
) -> Markup:
    """Points over ``box`` (equirectangular, x scaled by cos(latitude) so shapes are not stretched)."""
    view = box.padded()
    scale_x = math.cos(math.radians((view.north + view.south) / 2))
    span_x = (view.east - view.west) * scale_x
    span_y = view.north - view.south
    height = max(int(width * span_y / span_x), 120) if span_x > 0 else width

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (lon - view.west) * scale_x / span_x * width, (view.north - lat) / span_y * height

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="sketch-map" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}" data-testid="sketch-map">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8f9fb" stroke="#dde1e7"/>',
    ]
    for c in background:
        x, y = xy(c.latitude, c.longitude)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#c5cbd4">'
            f"<title>{escape(c.name)}</title></circle>"
        )
    for p in points:
        x, y = xy(p.latitude, p.longitude)
        note = p.label + (" (vị trí gần đúng: trung tâm xã)" if p.approximate else "")
        if p.kind == "visual":
            mark = (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#b3261e" fill-opacity=".8" stroke="#fff" '
                f'data-kind="visual"><title>{escape(note)}</title></circle>'
            )
        else:
            mark = (
                f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="#0b4a8b" '
                f'fill-opacity=".75" stroke="#fff" transform="rotate(45 {x:.1f} {y:.1f})" '
                f'data-kind="trip"><title>{escape(note)}</title></rect>'
            )
        parts.append(f'<a href="{escape(p.href)}">{mark}</a>' if p.href else mark)
    frame = f"Khung: vĩ độ {_deg(box.south)}–{_deg(box.north)}, kinh độ {_deg(box.west)}–{_deg(box.east)}"
    parts.append(f'<text x="8" y="{height - 8}" font-size="11" fill="#5d6778">{escape(frame)}</text></svg>')
    return Markup("".join(parts))


def _deg(value: float) -> str:
    return number_text(value, 2)
