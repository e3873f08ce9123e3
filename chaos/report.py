"""The chaos table."""
from __future__ import annotations

from chaos.run import RECOVERY_LIMIT, Result


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


def window(r: Result) -> str:
    """The window between the final dot going out and the ledger's record: median, 99th percentile, worst."""
    if not r.window_ms:
        return "-"
    ordered = sorted(r.window_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"{pick(0.5):.1f}/{pick(0.99):.1f}/{ordered[-1]:.1f} ms"


def line(r: Result) -> str:
    return (f"{'ok' if r.ok else 'FAILED'}: expected {r.expected}, received {r.received}, duplicates {r.duplicates}"
            f" ({r.window_duplicates} in the window),"
            f" missing {r.missing}, held for ops {r.held} ({r.held_in_mailbox} found at the relay), recorded {r.recorded}, resumed after {_seconds(r.resume_seconds)},"
            f" all delivered {_seconds(r.recover_seconds)} after the last fault ({r.elapsed:.0f} s in all)"
            + "".join(f", {name} {count}" for name, count in sorted(r.events.items()))
            + f", window dot→recorded p50/p99/max {window(r)}"
            + (f", window duplicates accepted {', '.join(f'{ms:.0f}' for ms in sorted(r.accepted_before_kill_ms))}"
               " ms before the kill" if r.accepted_before_kill_ms else "")
            + "".join(f"; {note}" for note in r.notes[1:]))


def table(results: list[Result]) -> str:
    rows = [("scenario", "expected", "received", "duplicates (window)", "missing", "held for ops (at relay)", "resumed",
             "recovered", "failed attempts", "dot→record p50/p99/max", "verdict")]
    for r in results:
        rows.append((r.name, str(r.expected), str(r.received), f"{r.duplicates} ({r.window_duplicates})",
                     str(r.missing + r.lost), f"{r.held} ({r.held_in_mailbox})",
                     _seconds(r.resume_seconds), _seconds(r.recover_seconds),
                     str(r.events.get("failed attempts", 0)), window(r), "ok" if r.ok else "FAILED"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out.append(f"resumed: first message after the last fault ended (limit {RECOVERY_LIMIT:.0f} s);"
               " recovered: every message received; dot→record: from the message's final dot going out to the"
               " ledger recording the server's 250, the window a SIGKILL leaves unconfirmed;\nheld for ops: those"
               " unconfirmed hand-offs under RELANCE_MAIL_UNCONFIRMED=review (the default), answered as the task"
               " says (found in the relay's log: sent; else: resend), then retried;\nduplicates (window): of the"
               " duplicates, those of a worker killed inside that window and resent with the same Message-ID"
               " (RELANCE_MAIL_UNCONFIRMED=resend only); any other fails.")
    return "\n".join(out)
