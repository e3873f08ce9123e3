"""The chaos table."""
from __future__ import annotations

from chaos.run import RECOVERY_LIMIT, Result


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


def line(r: Result) -> str:
    return (f"{'ok' if r.ok else 'FAILED'}: expected {r.expected}, received {r.received}, duplicates {r.duplicates},"
            f" missing {r.missing}, recorded {r.recorded}, resumed after {_seconds(r.resume_seconds)},"
            f" all delivered {_seconds(r.recover_seconds)} after the last fault ({r.elapsed:.0f} s in all)"
            + "".join(f", {name} {count}" for name, count in sorted(r.events.items()))
            + "".join(f"; {note}" for note in r.notes[1:]))


def table(results: list[Result]) -> str:
    rows = [("scenario", "expected", "received", "duplicates", "missing", "resumed", "recovered", "failed attempts",
             "verdict")]
    for r in results:
        rows.append((r.name, str(r.expected), str(r.received), str(r.duplicates), str(r.missing + r.lost),
                     _seconds(r.resume_seconds), _seconds(r.recover_seconds),
                     str(r.events.get("failed attempts", 0)), "ok" if r.ok else "FAILED"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out.append(f"resumed: first message after the last fault ended (limit {RECOVERY_LIMIT:.0f} s);"
               " recovered: every message received.")
    return "\n".join(out)
