"""Structured logs for the daemon: structlog to stderr, for people (console) or collectors (JSON).

py-libp2p logs through the standard library's ``logging``; its records go to
the same stream at ``warning`` and above (it is chatty below that).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from lazooz.config import LogConfig


def configure(config: LogConfig, stream: TextIO | None = None) -> None:
    """Send every structlog line of this process to ``stream`` (stderr) as ``config`` says."""
    stream = sys.stderr if stream is None else stream
    level = logging.getLevelNamesMapping()[config.level.upper()]
    renderer: structlog.typing.Processor
    if config.format == "json":
        renderer = structlog.processors.JSONRenderer()
        tail: list[structlog.typing.Processor] = [structlog.processors.dict_tracebacks]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
        tail = []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *tail,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(
        level=max(level, logging.WARNING),
        stream=stream,
        format="%(asctime)s [%(levelname)s] %(name)s: %(message)s",
        force=True,
    )
