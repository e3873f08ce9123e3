"""The one place the suite's "today" comes from: a pinned date, never the machine's clock.

Each test runs on its own time-skipping Temporal server that starts at its pinned day (08:00 in Paris), so a
case, a preview and the assertions about them see the same dates whatever day the suite runs. The server is
a Java native image linked against the C library: libfaketime (Debian's package, installed by
tools/system-packages.sh) sets its clock at start; time then skips forward as usual.
"""
from __future__ import annotations

import datetime as dt
import glob
import os
import shlex
from pathlib import Path
from zoneinfo import ZoneInfo

from relance.temporal import binary

PARIS = ZoneInfo("Europe/Paris")
# A Wednesday in the middle of a half-year, far from any public holiday: the ordinary day of most tests.
DEFAULT_TODAY = dt.date(2027, 3, 10)
START_HOUR = 8  # before the policies' sending hour: a step dated today still goes out today


def pinned_today(marker) -> dt.date:
    """`@pytest.mark.today("2027-12-24")` pins a test's day; without it, DEFAULT_TODAY."""
    return dt.date.fromisoformat(marker.args[0]) if marker else DEFAULT_TODAY


def start_moment(today: dt.date) -> dt.datetime:
    return dt.datetime.combine(today, dt.time(START_HOUR), tzinfo=PARIS).astimezone(dt.timezone.utc)


def faketime_library() -> str:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not found:
        raise FileNotFoundError("libfaketime is missing: run `make system` (tools/system-packages.sh) as root")
    return found[0]


# libfaketime 0.9.10's "monotonic fix" rewrites the deadline of every pthread_cond_timedwait as if it were on the
# faked wall clock; the server's waits are on the real monotonic clock, so each returned at once and its threads
# spun (a 12-invoice workflow preview: 105 s of CPU-bound spinning instead of 5 s). Off, waits wait.
NO_MONOTONIC_FIX = "FAKETIME_FORCE_MONOTONIC_FIX=0"


def test_server_starting_at(moment: dt.datetime, folder: Path) -> Path:
    """An executable that runs the time-skipping server with its clock starting at `moment` (UTC)."""
    script = folder / f"temporal-test-server-{moment:%Y%m%dT%H%M%S}"
    start = moment.astimezone(dt.timezone.utc).strftime("@%Y-%m-%d %H:%M:%S")
    script.write_text(
        "#!/bin/sh\n"
        f"export LD_PRELOAD={shlex.quote(faketime_library())} FAKETIME={shlex.quote(start)} TZ=UTC"
        f" DONT_FAKE_MONOTONIC=1 {NO_MONOTONIC_FIX}\n"
        f"exec {shlex.quote(binary('temporal-test-server'))} \"$@\"\n")
    os.chmod(script, 0o755)
    return script


def dev_server_today() -> dt.date:
    """Today in Paris by the machine's clock: the one place the suite reads it. The dev server (a Go binary that
    libfaketime cannot reach) runs on the real clock, so the service tests that use it set dates relative to this
    day and expect only what holds on any weekday, holiday or half-year (a case 30 days from its due date is in
    its courtesy stage; the adoption tests' policy sends on every day at midnight)."""
    return dt.datetime.now(PARIS).date()
