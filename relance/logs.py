"""structlog set-up: readable in a terminal, JSON lines when piped to a collector."""
from __future__ import annotations

import logging
import os
import sys

import structlog


def configure(level: str | None = None) -> None:
    fmt = os.environ.get("RELANCE_LOG_FORMAT") or ("console" if sys.stderr.isatty() else "json")
    renderer = structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    log_level = getattr(logging, (level or os.environ.get("RELANCE_LOG_LEVEL", "INFO")).upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(log_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
