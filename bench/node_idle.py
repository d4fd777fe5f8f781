"""Idle daemon RSS and CPU, against bare interpreters that import what the daemon imports.

One ``lazooz daemon`` (no peers, no traffic) is started and left alone for
``SETTLE_S``; its RSS is then read from ``/proc`` every second for
``WINDOW_S`` (the largest reading is reported) and its CPU over that window.
Baselines, each a fresh interpreter of the same venv that imports, then
waits on stdin: nothing (bare Python), ``libp2p`` (what py-libp2p alone
costs), and the daemon's own modules (``lazooz.node.daemon`` and the control
service, imported but not run): so the ratios show what running adds to
importing, and what lazooz's imports add to libp2p's. Target (issue 5):
idle RSS < 150 MB (MiB here; 150 MB = 143 MiB).
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.node_swarm import NodeSwarm, cpu_seconds, machine, rss_bytes
from bench.report import Result, compare

SETTLE_S = 10.0
WINDOW_S = 10.0
MIB = 2**20

BASELINES = {
    "bare_python": "",
    "import_libp2p": "import libp2p",
    "import_daemon": "import lazooz.node.daemon, lazooz.control.service",
}


def imported_rss(statement: str) -> int:
    """RSS of a fresh interpreter once it has run ``statement`` (then it waits on stdin)."""
    code = f"{statement}\nimport sys\nprint('ready', flush=True)\nsys.stdin.read()"
    p = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"{statement!r} did not run: {line!r}")
        return rss_bytes(p.pid)
    finally:
        p.kill()
        p.wait()


def run() -> list[Result]:
    base = {name: imported_rss(stmt) / MIB for name, stmt in BASELINES.items()}
    with NodeSwarm(1) as swarm:
        swarm.start()
        pid = swarm.daemons[0].pid
        time.sleep(SETTLE_S)
        cpu0, w0 = cpu_seconds(pid), time.monotonic()
        rss = []
        while time.monotonic() - w0 < WINDOW_S:
            rss.append(rss_bytes(pid) / MIB)
            time.sleep(1.0)
        cpu_per_s = (cpu_seconds(pid) - cpu0) / (time.monotonic() - w0)
    env = machine()
    idle = max(rss)
    return [
        compare("idle_daemon_rss_vs_import_libp2p", idle, base["import_libp2p"], "MiB"),
        compare("idle_daemon_rss_vs_import_daemon", idle, base["import_daemon"], "MiB"),
        compare(
            "import_daemon_rss_vs_import_libp2p",
            base["import_daemon"],
            base["import_libp2p"],
            "MiB",
        ),
        compare(
            "import_libp2p_rss_vs_bare_python", base["import_libp2p"], base["bare_python"], "MiB"
        ),
        compare("idle_daemon_cpu_vs_machine", cpu_per_s, env["cpus"], "cpu-s/s"),
        compare("loadavg_1m_vs_cpus", env["loadavg_1m"], env["cpus"], "load"),
    ]
