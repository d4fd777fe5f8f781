"""CLI parity with the web UI: the UI's address, routes, places, lists and history, each with
--json, against a node API really served (``served`` from tests/test_cli_control.py)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from lazooz.control.files import read_token
from tests.test_cli_control import lazooz, served

__all__ = ["served"]  # the fixture, used by name below


def run_json(served: Path, *args: str) -> object:
    code, out, err = lazooz(*args, "--data-dir", str(served), "--json")
    assert code == 0, err
    return json.loads(out)


def test_app_prints_the_page_address_with_the_token_and_the_page_loads(served: Path) -> None:
    answer = run_json(served, "app")
    assert isinstance(answer, dict)
    url = answer["url"]
    base, token = url.split("/app#token=")
    assert token == read_token(served)
    with urllib.request.urlopen(f"{base}/app", timeout=10) as page:
        assert b"<title>lazooz</title>" in page.read()
    code, out, _ = lazooz("app", "--data-dir", str(served))
    assert code == 0 and "share it with no one" in out


def test_a_route_between_named_places_on_the_nodes_roads(served: Path, tmp_path: Path) -> None:
    saved = tmp_path / "route.geojson"
    plan = run_json(
        served, "route", "Ibn Gabirol / Arlozorov", "HaShalom station",
        "--currency", "ILS", "--per-km-minor", "80", "--save", str(saved),
    )  # fmt: skip
    assert isinstance(plan, dict)
    assert plan["backend"] == "embedded" and plan["network"] == "grid"
    assert 1_000 < plan["length_m"] < 4_000
    assert plan["cost_minor"] == round(80 * plan["length_m"] / 1000)
    line = json.loads(saved.read_text())
    assert line["type"] == "LineString" and len(line["coordinates"]) == len(plan["route"])
    offer = run_json(served, "offer", "--route-file", str(saved), "--depart", "+10m")
    assert isinstance(offer, dict) and len(offer["route"]) == len(plan["route"])


def test_an_offer_routed_from_place_to_place_via_a_point(served: Path) -> None:
    offer = run_json(
        served, "offer", "--from", "Tel Aviv University", "--via", "32.0870,34.7817",
        "--to", "Jaffa Clock Tower", "--depart", "+10m", "--seats", "2",
    )  # fmt: skip
    assert isinstance(offer, dict)
    assert offer["status"] == "open" and offer["seats"] == 2
    assert len(offer["route"]) > 10  # along the streets, not three straight lines
    # The drive time is the router's, not the 30 km/h default.
    assert offer["duration_s"] < len(offer["route"]) * 200


def test_a_request_between_named_places(served: Path) -> None:
    request = run_json(
        served, "request", "--from", "Dizengoff Square", "--to", "32.0745,34.7815", "--at", "+5m"
    )
    assert isinstance(request, dict) and request["pickup"] == [32.0778, 34.7741]


def test_an_unknown_place_is_refused_naming_the_option(served: Path) -> None:
    code, out, err = lazooz(
        "request", "--from", "Atlantis", "--to", "home", "--data-dir", str(served), "--json"
    )
    assert code == 1
    answer = json.loads(out)
    assert answer["error"] == "unknown_place"
    assert answer["detail"].startswith("--from='Atlantis': unknown address")
    code, _, err = lazooz("route", "32.1,34.78", "Tel Aviv", "--data-dir", str(served))
    assert code == 1 and "names 11 places" in err


def test_places_offers_requests_and_history_list_what_the_ui_shows(served: Path) -> None:
    found = run_json(served, "places", "square")
    assert isinstance(found, list)
    assert {p["name"] for p in found} >= {"Dizengoff Square", "Rabin Square", "Senate Square"}
    offer = run_json(served, "offer", "--from", "Rabin Square", "--to", "Azrieli Center")
    request = run_json(served, "request", "--from", "Rabin Square", "--to", "Azrieli Center")
    assert isinstance(offer, dict) and isinstance(request, dict)
    assert [o["offer_id"] for o in run_json(served, "offers")] == [offer["offer_id"]]  # type: ignore[attr-defined]
    assert [r["request_id"] for r in run_json(served, "requests")] == [request["request_id"]]  # type: ignore[attr-defined]
    history = run_json(served, "history")
    assert isinstance(history, dict) and set(history) == {"offers", "requests", "rides"}
    code, out, _ = lazooz("history", "--data-dir", str(served))
    assert code == 0 and "offer" in out and "request" in out


def test_coordinates_that_do_not_parse_are_a_usage_error(tmp_path: Path) -> None:
    code, _, _ = lazooz("route", "32.1", "32.0,34.7", "--data-dir", str(tmp_path))
    assert code == 2
    code, _, _ = lazooz("offer", "--from", "32.1,34.7", "--data-dir", str(tmp_path))
    assert code == 2  # --from without --to


def test_share_and_unshare_a_ride_by_its_id(served: Path) -> None:
    code, out, _ = lazooz("share", "ab" * 16, "--data-dir", str(served), "--json")
    assert code == 1 and json.loads(out)["status"] == 404
    code, _, err = lazooz("unshare", "abcd", "--data-dir", str(served))
    assert code == 2 and "no ride" in err


def test_a_weekday_commute_is_offered_again_by_itself(served: Path) -> None:
    made = run_json(
        served, "offer", "--from", "Tel Aviv University", "--to", "Azrieli Center",
        "--depart", "07:45", "--repeat", "mon,tue,wed,thu,fri", "--lead", "30",
    )  # fmt: skip
    assert isinstance(made, dict)
    assert made["days"] == ["mon", "tue", "wed", "thu", "fri"] and made["time"] == "07:45"
    assert made["lead_min"] == 30 and len(made["offer"]["route"]) > 2
    listed = run_json(served, "schedules")
    assert [s["schedule_id"] for s in listed] == [made["schedule_id"]]  # type: ignore[attr-defined]
    run_json(served, "unschedule", made["schedule_id"])
    assert run_json(served, "schedules") == []
