"""Where a daemon's CPU goes: py-spy samples of running daemons, summed per function.

Not a benchmark of its own. ``node_gossip`` calls ``Recording`` when
``BENCH_PYSPY`` names a py-spy binary (py-spy is not a project dependency:
``pip install --target /tmp/pyspy py-spy``, then
``BENCH_PYSPY=/tmp/pyspy/bin/py-spy``); it samples a publisher and an
observer through the measurement window, ``--nonblocking`` so the daemons
are not paused, into ``BENCH_PROFILE_DIR`` (default ``$TMPDIR/lazooz-bench-profiles``).

``python -m bench.node_profile FILE...`` prints, for py-spy's raw
(collapsed-stack) files, the functions with the largest share of samples
where they are on the stack (inclusive) and where they are the innermost
frame (self), and the share of samples by package (innermost frame's file).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DIR = Path(tempfile.gettempdir()) / "lazooz-bench-profiles"
#: ``function (path/to/file.py:123)`` in py-spy's raw output.
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")
_PACKAGES = ("libp2p", "lazooz", "protocol", "trio", "starlette", "hypercorn", "multiaddr")


@dataclass(slots=True)
class Recording:
    """py-spy record of ``pids`` (name -> pid) for ``seconds``, one raw file per name."""

    pyspy: str
    out_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def from_env(cls) -> Recording | None:
        pyspy = os.environ.get("BENCH_PYSPY")
        if not pyspy:
            return None
        return cls(pyspy, Path(os.environ.get("BENCH_PROFILE_DIR", str(DEFAULT_DIR))))

    def start(self, pids: dict[str, int], seconds: float) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            self.procs.append(
                subprocess.Popen(
                    [
                        self.pyspy,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(max(1, round(seconds))),
                        "--rate",
                        "50",
                        "--nonblocking",
                        "--format",
                        "raw",
                        "--output",
                        str(self.out_dir / f"{name}.txt"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop(self) -> None:
        """Wait for every recording started so far to write its file."""
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=10)
        self.procs.clear()


def _parse(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame.strip())
    if m is None:
        return frame.strip(), ""
    return m["fn"], m["file"]


def _package(path: str) -> str:
    parts = Path(path).parts
    for p in reversed(parts):
        if p in _PACKAGES:
            return p
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1] if parts[-1] != "site-packages" else "?"
    return "python stdlib" if "python3" in path else (path or "?")


@dataclass(slots=True)
class Profile:
    total: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)

    def add_file(self, path: Path) -> None:
        for line in path.read_text("utf-8", "replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_parse(f) for f in stack.split(";")]
            # py-spy puts "process"/"thread" pseudo-frames first: keep real frames only.
            frames = [(fn, file) for fn, file in frames if file]
            if not frames:
                continue
            self.total += count
            seen = set()
            for fn, file in frames:
                key = f"{fn} ({_short(file)})"
                if key not in seen:
                    seen.add(key)
                    self.inclusive[key] += count
            fn, file = frames[-1]
            self.own[f"{fn} ({_short(file)})"] += count
            self.packages[_package(file)] += count

    def report(self, top: int = 25) -> str:
        def rows(counter: Counter[str]) -> list[str]:
            return [f"  {100 * n / self.total:5.1f}%  {key}" for key, n in counter.most_common(top)]

        return "\n".join(
            [
                f"{self.total} samples",
                "by package (innermost frame):",
                *rows(self.packages),
                "inclusive (on the stack):",
                *rows(self.inclusive),
                "self (innermost frame):",
                *rows(self.own),
            ]
        )


def _short(path: str) -> str:
    parts = Path(path).parts
    for anchor in ("site-packages", "main", "lib"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1 :])
    return path


def main(argv: list[str]) -> None:
    profile = Profile()
    for name in argv:
        profile.add_file(Path(name))
    print(profile.report())


if __name__ == "__main__":
    main(sys.argv[1:])
