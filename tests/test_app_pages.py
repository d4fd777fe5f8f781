"""The web UI's pages: served without the token (they hold no data), with a content policy
that allows nothing from beyond the node; the API beside them still needs the token."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from lazooz.app.pages import Pages, static_files
from lazooz.control.app import make_app
from lazooz.control.mapping import MapContext
from tests.test_control_app import AUTH, TOKEN, Clock, local_node


def client(context: MapContext | None = None) -> TestClient:
    return TestClient(make_app(local_node(1, Clock()), TOKEN, context), backend="trio")


def test_the_page_and_its_files_load_without_the_token() -> None:
    with client() as c:
        page = c.get("/app")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="(/app/static/[^"]+)"', page.text)
        assert len(assets) == 4  # leaflet.css, app.css, leaflet.js, app.js
        for path in assets:
            answer = c.get(path)
            assert answer.status_code == 200, path
            assert answer.content == static_files()[path.removeprefix("/app/static/")]


def test_the_root_redirects_to_the_page() -> None:
    with client() as c:
        answer = c.get("/", follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"] == "/app"


def test_the_api_beside_the_page_still_needs_the_token() -> None:
    with client() as c:
        assert c.get("/v1/status").status_code == 401
        assert c.get("/v1/app").status_code == 401
        assert c.get("/v1/status", headers=AUTH).status_code == 200


def test_no_file_outside_the_static_folder_is_served() -> None:
    with client() as c:
        for path in ("/app/static/%2e%2e/pages.py", "/app/static/nope.js", "/app/static/"):
            assert c.get(path).status_code == 404, path
        assert c.post("/app").status_code == 405


def test_the_content_policy_allows_only_this_node_and_the_configured_tiles() -> None:
    with client() as c:
        policy = c.get("/app").headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self';" in policy and "img-src 'self' data:;" in policy
    tiles = MapContext(tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    with client(tiles) as c:
        policy = c.get("/app").headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example.org;" in policy


def test_leaflet_ships_with_its_licence_and_pinned_version() -> None:
    files = static_files()
    assert "vendor/leaflet/LICENSE" in files
    assert b"Leaflet 1.9.4" in files["vendor/leaflet/leaflet.js"][:200]
    assert "vendor/leaflet/images/marker-icon.png" in files


def test_pages_say_which_paths_are_theirs() -> None:
    assert Pages.serves({"path": "/app"}) and Pages.serves({"path": "/app/static/app.js"})
    assert not Pages.serves({"path": "/v1/app"}) and not Pages.serves({"path": "/application"})
