"""`make chaos` in small: real processes (dev server, SMTP sink, two `relance worker`s on one PostgreSQL ledger),
one worker SIGKILLed while sending, the other paused past its lease; every message arrives once."""
from __future__ import annotations

from chaos import report
from chaos.__main__ import run_all
from chaos.scenarios import small
from tests.pg import postgres  # noqa: F401 (fixture)


async def test_no_message_is_lost_or_sent_twice_when_workers_die_or_pause(postgres):  # noqa: F811
    results = await run_all(small(), 24, postgres, progress=lambda line: None)
    print(report.table(results))

    for result in results:
        assert result.ok, report.line(result)
        assert (result.received, result.duplicates, result.missing, result.lost) == (24, 0, 0, 0)
