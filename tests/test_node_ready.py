"""The ready line and ``Lines``: waiting on a child's output without polling."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lazooz.node.ready import Lines, LinesEnded, parse_ready, ready_line, wait_ready


def test_the_ready_line_is_one_json_object_that_parses_back() -> None:
    line = ready_line({"pid": 7, "addrs": ["/ip4/127.0.0.1/tcp/1/p2p/x"], "control_url": "u"})
    assert "\n" not in line
    assert parse_ready(line) == {
        "event": "ready",
        "pid": 7,
        "addrs": ["/ip4/127.0.0.1/tcp/1/p2p/x"],
        "control_url": "u",
    }
    assert parse_ready('{"event": "host started"}') is None
    assert parse_ready("not json {") is None
    assert parse_ready("{broken") is None


def test_a_line_written_later_wakes_the_wait_and_earlier_lines_count(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as pipe, os.fdopen(write_end, "wb", buffering=0) as out:
        out.write(b"noise\n")
        lines = Lines(pipe, tee=tmp_path / "copy.log", name="child")
        assert lines.wait_for(lambda s: s if s == "noise" else None, 5) == "noise"
        later = threading.Timer(0.2, out.write, args=[(ready_line({"pid": 1}) + "\n").encode()])
        later.start()
        assert wait_ready(lines, 10)["pid"] == 1
        later.join()
        with pytest.raises(TimeoutError, match="waiting for nothing"):
            lines.wait_for(lambda s: None, 0.1, "nothing")
    lines.join(5)
    assert (tmp_path / "copy.log").read_text().splitlines()[0] == "noise"


def test_a_child_that_exits_without_the_line_ends_the_wait_at_once() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "print('starting'); raise SystemExit(2)"], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    lines = Lines(child.stdout, name="child")
    with pytest.raises(LinesEnded, match="child closed its output before child's ready line"):
        wait_ready(lines, 60)
    assert child.wait(10) == 2
    assert lines.lines == ["starting"]
