"""The ``lazooz`` commands that call a node's control API, against an API really served.

The API (over a LocalNode on the wall clock) is served by hypercorn on
127.0.0.1:0 in a trio thread, writing ``control.json`` into the test's data
directory; the CLI finds it there, as it finds a daemon.
"""

from __future__ import annotations

import json
import random
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lazooz.cli import CONFIG_FILE, app
from lazooz.control.files import CONTROL_FILE, TOKEN_FILE
from lazooz.control.handle import LocalNode
from lazooz.keyfile import KEY_FILE
from protocol.identity import Identity
from protocol.peer.peer import Peer
from tests.api_thread import serving
from tests.test_control_app import DROPOFF, PICKUP, ROUTE
from tests.test_peer_net import TEL_AVIV

LAZOOZ = Path(sys.executable).parent / "lazooz"
ROUTE_ARG = ";".join(f"{lat},{lon}" for lat, lon in ROUTE)
runner = CliRunner()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose node API is being served; yields the directory."""
    node = LocalNode(Peer(Identity.from_seed(bytes([5]) * 32), TEL_AVIV, random.Random(5)))
    with serving(node, tmp_path):
        yield tmp_path
    assert not (tmp_path / CONTROL_FILE).exists()


def lazooz(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_offer_request_and_status_as_json(served: Path) -> None:
    code, out, err = lazooz(
        "offer", "--route", ROUTE_ARG, "--depart", "+10m", "--seats", "2",
        "--currency", "ILS", "--base-minor", "500", "--data-dir", str(served), "--json",
    )  # fmt: skip
    assert code == 0, err
    offer = json.loads(out)
    assert offer["status"] == "open" and offer["seats"] == 2
    assert offer["cost"]["currency"] == "ILS"

    code, out, err = lazooz(
        "request", "--from", ",".join(map(str, PICKUP)), "--to", ",".join(map(str, DROPOFF)),
        "--at", "+5m", "--data-dir", str(served), "--json",
    )  # fmt: skip
    assert code == 0, err
    request = json.loads(out)
    assert request["pickup"] == PICKUP and request["seats"] == 1

    code, out, err = lazooz("status", "--data-dir", str(served), "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["offers"] == {"open": 1} and status["requests"] == {"open": 1}
    assert status["member_id"].startswith("lz1")


def test_people_get_tables_and_sentences(served: Path) -> None:
    code, out, _ = lazooz(
        "offer", "--route", ROUTE_ARG, "--depart", "+10m", "--data-dir", str(served)
    )
    assert code == 0 and out.startswith("Offer ") and "3 of 3 seats free" in out
    code, out, _ = lazooz("status", "--data-dir", str(served))
    assert code == 0 and "member id" in out and "1 open" in out
    code, out, _ = lazooz("rides", "--data-dir", str(served))
    assert code == 0 and "No rides." in out


def test_a_refusal_prints_the_apis_detail_and_exits_1(served: Path) -> None:
    code, out, err = lazooz(
        "offer", "--route", ROUTE_ARG, "--seats", "0", "--data-dir", str(served)
    )
    assert code == 1
    assert "seats=0" in err and "1..8" in err
    code, out, err = lazooz("offer", "--route", "32.1,34.78", "--data-dir", str(served), "--json")
    assert code == 1
    answer = json.loads(out)
    assert answer["error"] == "bad_input" and answer["status"] == 400
    assert "route=" in answer["detail"] and "at least 2" in answer["detail"]
    code, _, err = lazooz("accept", "ab" * 16, "--data-dir", str(served))
    assert code == 1 and "ride_id=" in err


@pytest.mark.parametrize(
    "args",
    [
        ["offer", "--route", "north,south"],
        ["offer"],
        ["offer", "--route", ROUTE_ARG, "--depart", "teatime"],
        ["request", "--from", "32.1", "--to", "32.0,34.7"],
        ["offer", "--route", ROUTE_ARG, "--seats", "two"],
    ],
)
def test_a_wrong_command_line_exits_2(tmp_path: Path, args: list[str]) -> None:
    code, _, err = lazooz(*args, "--data-dir", str(tmp_path))
    assert code == 2, err


def test_without_a_running_node_it_says_how_to_start_one(tmp_path: Path) -> None:
    code, _, err = lazooz("status", "--data-dir", str(tmp_path))
    assert code == 1
    assert "lazooz daemon" in err


def test_init_makes_key_token_and_config_and_keeps_them(tmp_path: Path) -> None:
    where = tmp_path / "node"
    code, out, err = lazooz("init", "--data-dir", str(where), "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["new_key"] and first["member_id"].startswith("lz1")
    for name in (KEY_FILE, TOKEN_FILE):
        assert stat.S_IMODE((where / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    assert f'data_dir = "{where}"' in (where / CONFIG_FILE).read_text()
    code, out, _ = lazooz("init", "--data-dir", str(where), "--json")
    again = json.loads(out)
    assert code == 0 and not again["new_key"] and again["member_id"] == first["member_id"]


def test_daemon_refuses_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / CONFIG_FILE
    bad.write_text("[control]\nport = 99999\n")
    code, _, err = lazooz("daemon", "--data-dir", str(tmp_path))
    assert code == 2
    assert "control.port=99999" in err


def test_the_installed_command_talks_to_the_api(served: Path) -> None:
    done = subprocess.run(
        [str(LAZOOZ), "status", "--data-dir", str(served), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        json.loads(done.stdout)["public_key"]
        == Identity.from_seed(bytes([5]) * 32).public_key.hex()
    )


@pytest.mark.parametrize(
    "env",
    [
        {"HOME": "/home/ada"},
        {"HOME": "/home/ada", "XDG_DATA_HOME": "/data"},
        {"HOME": "/home/ada", "LAZOOZ_DATA_DIR": "/srv/lazooz"},
        {"HOME": "/home/ada", "LAZOOZ_DATA_DIR": ""},
    ],
)
def test_the_cli_finds_the_data_dir_the_configuration_would(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    from lazooz import cli
    from lazooz.config import defaults

    for name in ("HOME", "XDG_DATA_HOME", "LAZOOZ_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli._data_dir(None) == defaults(env).node.data_dir
