"""``python -m lazooz.node [--config FILE] [--data-dir DIR]``: one node, as ``lazooz daemon``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lazooz import config as lazooz_config
from protocol.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lazooz.node", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--data-dir", type=Path, help="data directory (overrides node.data_dir)")
    args = parser.parse_args(argv)
    try:
        config = lazooz_config.load(args.config)
    except ConfigError as exc:
        print(f"lazooz: {exc}", file=sys.stderr)
        return 2  # daemon.EXIT_CANNOT_START, without importing libp2p to say so
    if args.data_dir is not None:
        config = config.with_data_dir(args.data_dir)
    from lazooz.node.daemon import run

    return run(config)


if __name__ == "__main__":
    sys.exit(main())
