"""The map's layers within a person's areas, its coverage figures, its page and its data, and a
village's point and population entered on its page."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.activities.kinds import VisualKind
from loa.activities.models import MobileTrip, MobileTripStop, VisualItem
from loa.db.base import utcnow
from loa.maps.layers import map_data
from loa.schedule.recurrence import to_local
from loa.units.models import AdminUnit
from tests.maps.conftest import GO_KHOAI, place_world
from tests.schedule.world import BA_TO, HRE_VILLAGE, KINH_VILLAGE, World
from tests.support.auth import login_web


def _kinds(features: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in features:  # type: ignore[attr-defined]
        out.setdefault(f["properties"]["kind"], []).append(f["properties"]["name"])
    return out


def test_layers_within_the_operators_commune(session: Session, world: World) -> None:
    place_world(session)
    today = to_local(utcnow()).date()
    ba_to = world.unit(session, BA_TO)
    teng = world.unit(session, HRE_VILLAGE)
    session.add(
        VisualItem(
            area_id=ba_to.id,
            kind=VisualKind.PANEL,
            place="Ngã ba chợ",
            latitude=14.7702,
            longitude=108.7210,
            installed_on=today - timedelta(days=10),
            quantity=2,
        )
    )
    session.add(VisualItem(area_id=ba_to.id, kind=VisualKind.BANNER, place="Đã gỡ", latitude=14.77,
                           longitude=108.72, installed_on=today - timedelta(days=30),
                           removed_on=today - timedelta(days=1)))  # fmt: skip
    trip = MobileTrip(area_id=ba_to.id, trip_on=today - timedelta(days=3), route="Chợ – Làng Teng")
    trip.stops = [
        MobileTripStop(position=0, area_id=world.unit(session, KINH_VILLAGE).id, name="Gò Khoại"),
        MobileTripStop(position=1, area_id=teng.id, name="Làng Teng"),
    ]
    session.add(trip)
    session.commit()

    data = map_data(session, principal=world.operator, radius_m=300, today=today)
    kinds = _kinds(data.features)
    assert kinds["loudspeaker"] == ["Cụm loa chợ"]  # the others have no coordinates
    assert sorted(kinds["village"]) == ["Thôn Gò Khoại", "Thôn Làng Teng"]
    assert kinds["visual"] == ["Pa nô: 2 pa nô · Ngã ba chợ"]  # the banner taken down is not shown
    assert kinds["trip"] == [f"Xe thông tin lưu động {today - timedelta(days=3):%d/%m/%Y}: Chợ – Làng Teng"]
    line = next(f for f in data.features if f["properties"]["kind"] == "trip")["geometry"]
    assert line["type"] == "LineString" and line["coordinates"][0] == [GO_KHOAI[1], GO_KHOAI[0]]
    assert "commune" not in kinds  # the data set has no centre for this test's Ba Tơ
    assert data.coverage.covered == (KINH_VILLAGE,)
    assert (data.coverage.people_covered, data.coverage.people_known) == (850, 1270)
    village = next(f for f in data.features if f["properties"]["name"] == "Thôn Gò Khoại")
    assert village["properties"]["covered"] is True and village["properties"]["population"] == 850

    other = map_data(session, principal=world.other_operator, radius_m=300, today=today)
    assert _kinds(other.features) == {"commune": ["Xã Ba Vì"]}  # its own commune only, from the data set
    wider = map_data(session, principal=world.operator, radius_m=3000, today=today)
    assert wider.coverage.people_covered == 1270


def test_map_page_and_data(client: TestClient, session: Session, world: World) -> None:
    place_world(session)
    login_web(client, "canbo.bato")
    page = client.get("/map")
    assert page.status_code == 200
    assert "Ước tính người nghe được: 850 / 1.270 người (67 %)" in page.text
    assert 'src="/static/vendor/leaflet/leaflet.js"' in page.text and "unpkg" not in page.text
    assert 'data-tiles=""' in page.text  # no tile server configured: points only
    assert "<script>" not in page.text  # no inline script: a strict CSP holds
    data = client.get("/map/data").json()
    assert data["type"] == "FeatureCollection" and data["bounds"] is not None
    assert {f["properties"]["kind"] for f in data["features"]} == {"loudspeaker", "village"}
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200


def test_a_village_point_and_population_entered_on_its_page(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login_web(client, "canbo.bato")
    page = client.get(f"/areas/{KINH_VILLAGE}")
    assert 'data-testid="place-form"' in page.text
    saved = client.post(
        f"/areas/{KINH_VILLAGE}/place",
        data={"csrf_token": csrf, "latitude": "14,7713", "longitude": "108,7205", "population": "850"},
        follow_redirects=True,
    )
    assert "Đã lưu vị trí và số dân của Thôn Gò Khoại." in saved.text and "850 người" in saved.text
    village = session.scalars(select(AdminUnit).where(AdminUnit.code == KINH_VILLAGE)).one()
    session.refresh(village)
    assert (village.latitude, village.longitude, village.population) == (14.7713, 108.7205, 850)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "area.village_place")).one()
    assert event.details["after"]["population"] == 850 and event.details["before"]["population"] is None

    swapped = client.post(
        f"/areas/{KINH_VILLAGE}/place",
        data={"csrf_token": csrf, "latitude": "108.72", "longitude": "14.77", "population": "850"},
    )
    assert swapped.status_code == 422 and "nhầm với kinh độ" in swapped.text
    other = login_web(client, "canbo.bavi")  # another commune's village is not found for them
    refused = client.post(f"/areas/{KINH_VILLAGE}/place", data={"csrf_token": other, "population": "1"})
    assert refused.status_code == 404
    api = client.put(
        f"/api/v1/areas/{KINH_VILLAGE}/place", json={"population": 12}, headers={"X-CSRF-Token": other}
    )
    assert api.status_code == 404


def test_trip_without_points_is_drawn_at_its_commune_centre(session: Session, world: World) -> None:
    today = date.today()
    ba_vi = world.unit(session, "21490")
    session.add(MobileTrip(area_id=ba_vi.id, trip_on=today, route="Quanh xã"))
    session.commit()
    data = map_data(session, principal=world.admin, radius_m=300, today=today)
    trip = next(f for f in data.features if f["properties"]["kind"] == "trip")
    assert trip["properties"]["approximate"] is True
    assert trip["geometry"]["coordinates"] == [108.553, 14.7459]  # Xã Ba Vì in the data set
