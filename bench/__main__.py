"""Run the default benchmarks (``make bench``) or the named ones (``python -m bench codec``).

``node_gossip`` (20- and 50-daemon swarms, ~10 minutes) runs only by name:
``python -m bench node_gossip`` (docs/bench.md).
"""

from __future__ import annotations

import importlib
import sys

from rich.console import Console
from rich.table import Table

from bench.report import write

#: Benchmark modules ``make bench`` runs; each exposes ``run() -> list[Result]``.
BENCHES = ("codec", "matching", "ledger", "node_idle", "node_match", "sim")
#: Run only when named: they take minutes and most of the machine.
BY_NAME_ONLY = ("node_gossip",)


def main(argv: list[str]) -> None:
    console = Console()
    for name in argv or BENCHES:
        module = importlib.import_module(f"bench.{name}")
        with console.status(f"bench {name}"):
            results = module.run()
        path = write(name, results)
        table = Table(title=f"{name} -> {path}")
        for col in ("metric", "value", "unit", "baseline", "ratio"):
            table.add_column(col)
        for r in results:
            table.add_row(r.metric, f"{r.value:.4g}", r.unit, f"{r.baseline:.4g}", f"{r.ratio:.3g}")
        console.print(table)
    if not argv:
        for name in BY_NAME_ONLY:
            console.print(f"not run by default: {name} (python -m bench {name}, docs/bench.md)")


if __name__ == "__main__":
    main(sys.argv[1:])
