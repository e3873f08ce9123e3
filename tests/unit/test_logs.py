"""With RELANCE_LOG_FORMAT=json every line is JSON, tracebacks included; an activity's failed attempt is one line."""
from __future__ import annotations

import json
import subprocess
import sys

PROGRAM = r'''
import logging
from relance import logs
logs.configure()
import structlog
try:
    1 / 0
except ZeroDivisionError:
    structlog.get_logger("relance").exception("render.failed", key="FA-1:j+2")
sdk = logging.getLogger("temporalio.activity")
for attempt, error in [(1, KeyError("template")), (1, ConnectionRefusedError("refused")), (7, KeyError("again"))]:
    try:
        raise error
    except Exception:
        sdk.warning("Completing activity as failed", exc_info=True, extra={
            "__temporal_error_identifier": "ActivityFailure",
            "temporal_activity": {"activity_type": "send_email", "attempt": attempt, "workflow_id": "invoice-FA-1"}})
logging.getLogger("temporalio.worker").warning("plain %s", "record")
'''


def test_json_lines_with_tracebacks_and_one_line_per_failed_attempt():
    run = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60,
                         env={"RELANCE_LOG_FORMAT": "json", "PATH": ""})
    lines = run.stderr.splitlines()
    events = [json.loads(line) for line in lines]  # every line is JSON

    assert len(events) == 5
    assert "ZeroDivisionError" in events[0]["exception"]
    first, transient, later = events[1:4]
    assert [e["event"] for e in (first, transient, later)] == ["activity.attempt_failed"] * 3
    assert first["activity"] == "send_email" and first["attempt"] == 1 and "KeyError" in first["exception"]
    assert transient["error"].startswith("ConnectionRefusedError") and "exception" not in transient
    assert later["attempt"] == 7 and "exception" not in later
    assert events[4]["event"] == "plain record" and events[4]["logger"] == "temporalio.worker"
