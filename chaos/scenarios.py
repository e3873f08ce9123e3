"""The scenarios of issue 13's table, each a set of faults played on real processes while the cases send."""
from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable

from chaos.run import Run

Faults = Callable[[Run], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    faults: Faults
    workers: int = 1
    ledger: str = "sqlite"  # or postgresql: one ledger for every worker, as on several hosts
    sink_delay: float = 0.0  # seconds the SMTP server takes to answer DATA
    cases: int | None = None  # None: the run's size
    worker_settings: tuple[tuple[str, str], ...] = ()
    unconfirmed: str = "review"  # RELANCE_MAIL_UNCONFIRMED: an unconfirmed hand-off goes to ops (or is resent)


def kill_worker_while_sending(times: int) -> Faults:
    async def play(run: Run) -> None:
        for n in range(times):
            await run.until_delivered((n + 1) / (times + 2))
            await asyncio.sleep(random.uniform(0, 0.3))  # a crash comes at any moment, not just after a delivery
            run.workers[0].kill()
            run.workers[0].start()  # a supervisor restarts it
            run.fault_over()
    return play


def kill_worker_as_it_starts_sending(times: int) -> Faults:
    async def play(run: Run) -> None:
        for _ in range(times):
            await run.until_delivered(more_than=sum(run.reminders().values()))
            run.workers[0].kill()
            run.workers[0].start()
            run.fault_over()
    return play


def kill_server(times: int, down_seconds: float = 2.0) -> Faults:
    async def play(run: Run) -> None:
        for n in range(times):
            await run.until_delivered((n + 1) / (times + 2))
            run.server.kill()
            await asyncio.sleep(down_seconds)
            await asyncio.to_thread(run.server.start)  # on the same SQLite file
            run.fault_over()
    return play


def smtp_outage(seconds: float, at: float = 0.3) -> Faults:
    async def play(run: Run) -> None:
        await run.until_delivered(at)
        run.sink.kill()
        await asyncio.sleep(seconds)
        await asyncio.to_thread(run.sink.start)
        run.fault_over()
    return play


def kill_one_of_two(at: float = 0.3) -> Faults:
    async def play(run: Run) -> None:
        await run.until_delivered(at)
        await asyncio.sleep(random.uniform(0, 0.3))
        run.workers[0].kill()  # not restarted: the other worker takes its cases over
        run.fault_over()
    return play


def pause_one_of_two(seconds: float, at: float = 0.3) -> Faults:
    async def play(run: Run) -> None:
        await run.until_delivered(at)
        run.workers[0].pause()
        await asyncio.sleep(seconds)
        run.workers[0].resume()
        run.fault_over()
    return play


def full() -> list[Scenario]:
    """The table of issue 13, at its sizes and durations."""
    return [
        Scenario("worker-kill", "worker SIGKILLed 5 times while sending", kill_worker_while_sending(5)),
        Scenario("worker-kill-start", "worker SIGKILLed 4 times right after it starts sending",
                 kill_worker_as_it_starts_sending(4)),
        Scenario("server-kill", "dev server SIGKILLed twice mid-send, restarted on its SQLite", kill_server(2)),
        Scenario("smtp-outage", "SMTP server down 4 min mid-send", smtp_outage(240), cases=50),
        Scenario("one-host-kill", "two workers, one host (SQLite ledger), one SIGKILLed", kill_one_of_two(),
                 workers=2),
        Scenario("pg-kill", "two workers, PostgreSQL ledger, one SIGKILLed", kill_one_of_two(), workers=2,
                 ledger="postgresql"),
        Scenario("pg-pause", "two workers, PostgreSQL ledger, slow SMTP, one paused 85 s", pause_one_of_two(85),
                 workers=2, ledger="postgresql", sink_delay=0.3),
        Scenario("one-host-pause", "two workers, one host (SQLite ledger), slow SMTP, one paused 85 s",
                 pause_one_of_two(85), workers=2, sink_delay=0.3),
    ]


def resend() -> list[Scenario]:
    """The opt-in RELANCE_MAIL_UNCONFIRMED=resend, where a kill inside the window sends a message twice (same
    Message-ID): not part of the issue's table, run by name (`--only worker-kill-start-resend`) to measure it."""
    return [
        Scenario("worker-kill-start-resend", "worker SIGKILLed 4 times right after it starts sending, with"
                 " RELANCE_MAIL_UNCONFIRMED=resend", kill_worker_as_it_starts_sending(4), unconfirmed="resend"),
    ]


def kill_then_pause(pause_seconds: float, slow_sink: float) -> Faults:
    """Worker 0 SIGKILLed (outside a hand-off) and restarted while sending, then the relay slows down and worker 1
    is paused while sending, most likely in the middle of hand-offs."""
    async def play(run: Run) -> None:
        await run.until_delivered(0.25)
        await run.kill_worker(0, outside_handoff=True)
        run.workers[0].start()
        await run.until_delivered(0.5)
        run.sink.set_delay(slow_sink)
        await run.until_delivered(0.6)
        run.workers[1].pause()
        await asyncio.sleep(pause_seconds)
        run.workers[1].resume()
        run.fault_over()
    return play


def small() -> list[Scenario]:
    """What `make test` runs: two workers on one PostgreSQL ledger, one SIGKILLed while sending, then, the relay
    slowed down, the other paused past its lease (leases of 3 s, so that takeovers happen in seconds). The kill
    falls outside a hand-off: the window a kill may fall in is measured by the full run, not gated in CI."""
    return [
        Scenario("kill-and-pause", "two workers, PostgreSQL ledger: one SIGKILLed, then slow SMTP and the other"
                 " paused 8 s", kill_then_pause(8, slow_sink=0.15), workers=2, ledger="postgresql",
                 worker_settings=(("RELANCE_MAIL_LEASE_SECONDS", "3"),)),
    ]
