"""A writer that dies keeps every batch it committed, and no part of any other.

Each test runs the writer as a real process and kills it (``os._exit`` in
the middle of a batch, or SIGKILL at a moment the test does not choose),
then opens the store again as a restarted node would.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lazooz.store import Store

ROOT = Path(__file__).resolve().parent.parent

#: Commits ten offers and says so, then dies half-way through a batch so large
#: (about 12 MB) that SQLite has spilled part of it into the WAL before dying.
DIES_MID_BATCH = """
import os, sys
from lazooz.store import Store
from protocol.peer.actions import Persist

store = Store.open(sys.argv[1])
store.apply([Persist("offer", b"committed-%d" % i, b"A" * 100) for i in range(10)])
print("committed", flush=True)

def batch():
    for i in range(3000):
        yield Persist("ride", b"lost-%d" % i, os.urandom(4000))
    os._exit(9)

store.apply(batch())
"""

#: Commits batches of 20 rides forever, printing each batch's number once it is durable.
WRITES_FOREVER = """
import os, sys
from lazooz.store import Store
from protocol.peer.actions import Persist

store = Store.open(sys.argv[1])
n = 0
while True:
    store.apply(Persist("ride", b"%08d-%02d" % (n, j), os.urandom(600)) for j in range(20))
    print(n, flush=True)
    n += 1
"""


@contextmanager
def writer(script: str, path: Path) -> Iterator[subprocess.Popen[str]]:
    """The writer process; killed on the way out whatever happens, and after 60 s at most."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        yield proc
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_writer_dying_mid_batch_keeps_what_it_committed_and_none_of_the_batch(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lazooz.db"
    with writer(DIES_MID_BATCH, path) as proc:
        out, _ = proc.communicate()
    assert proc.returncode == 9
    assert out == "committed\n"
    # The dead batch really reached the disk in part: SQLite must discard those frames.
    assert path.with_name(path.name + "-wal").stat().st_size > 4_000_000

    with Store.open(path) as store:
        kept = store.load()
        assert [(k, key) for k, key, _ in kept] == sorted(
            ("offer", b"committed-%d" % i) for i in range(10)
        )
        assert store.counts()["ride"] == 0
        store.check()


def test_sigkill_at_any_moment_loses_no_acknowledged_batch_and_leaves_none_in_part(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lazooz.db"
    acknowledged = -1
    with writer(WRITES_FOREVER, path) as proc:
        assert proc.stdout is not None
        while acknowledged < 40:
            line = proc.stdout.readline()
            assert line, "the writer stopped by itself"
            acknowledged = int(line)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with Store.open(path) as store:
        batches: dict[int, int] = {}
        for kind, key, _ in store.load():
            assert kind == "ride"
            n = int(key.split(b"-")[0])
            batches[n] = batches.get(n, 0) + 1
        store.check()
    assert set(batches) >= set(range(acknowledged + 1))  # everything acknowledged is there
    assert set(batches.values()) == {20}  # and no batch is there in part
    assert sorted(batches) == list(range(len(batches)))
