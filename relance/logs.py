"""structlog set-up: readable in a terminal, JSON lines when piped to a collector.

The standard library's records (the Temporal SDK's among them) go through the same renderer, so that with
RELANCE_LOG_FORMAT=json every line is JSON, a traceback included as its `exception` field. An activity attempt
that fails is one line (`activity.attempt_failed`: activity, attempt, workflow, error); its traceback is kept
only for an unexpected error on a first attempt, so that a relay down for an hour is not a traceback flood.
"""
from __future__ import annotations

import logging
import os
import sys

import structlog

# Failures that retries are for, and those no retry fixes (a PermanentFailure names its template, data or refusal,
# and the case gives ops a task): their tracebacks say nothing the error's one line does not.
TRANSIENT = ("PermanentFailure", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError", "OSError", "TimeoutError",
             "SMTPException", "SMTPConnectError", "SMTPServerDisconnected", "SMTPTimeoutError", "SMTPReadTimeoutError", "SMTPResponseException",
             "SMTPDataError", "MessageInFlight", "LeaseLost", "PossibleDuplicate")


def configure(level: str | None = None) -> None:
    fmt = os.environ.get("RELANCE_LOG_FORMAT") or ("console" if sys.stderr.isatty() else "json")
    json = fmt != "console"
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    log_level = getattr(logging, (level or os.environ.get("RELANCE_LOG_LEVEL", "INFO")).upper())
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    exceptions = [structlog.processors.format_exc_info] if json else []
    structlog.configure(
        processors=[*shared, *exceptions, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(log_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ActivityAttempts())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, _fields],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exceptions, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    if json:
        _forward_core_logs()


def _forward_core_logs() -> None:
    """The SDK's Rust core writes its own lines to stderr; in JSON mode they go through `logging` instead.
    Only before any client exists (the runtime is then fixed): a later call leaves it as it is."""
    from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    telemetry = TelemetryConfig(logging=LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core"))))
    try:
        Runtime.set_default(Runtime(telemetry=telemetry), error_if_already_set=True)
    except RuntimeError:
        pass


class ActivityAttempts(logging.Filter):
    """The SDK's "Completing activity as failed" warning, with a traceback each time, becomes one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "__temporal_error_identifier", None) != "ActivityFailure" or not record.exc_info:
            return True
        details = getattr(record, "temporal_activity", None) or {}
        error = record.exc_info[1]
        names = {type(e).__name__ for e in _chain(error)} | {getattr(e, "type", None) for e in _chain(error)}
        record.msg, record.args = "activity.attempt_failed", ()
        record.relance = {
            "activity": details.get("activity_type"), "attempt": details.get("attempt"),
            "workflow_id": details.get("workflow_id"), "error": f"{type(error).__name__}: {error}"[:500],
        }
        if details.get("attempt", 1) > 1 or names & set(TRANSIENT):
            record.exc_info = None
            record.exc_text = None
        return True


def _chain(error: BaseException | None):
    seen = 0
    while error is not None and seen < 10:
        yield error
        error, seen = error.__cause__ or error.__context__, seen + 1


def _fields(logger, name, event: dict) -> dict:
    record = event.get("_record")
    extra = getattr(record, "relance", None) if record is not None else None
    if extra:
        event.update(extra)
    return event
