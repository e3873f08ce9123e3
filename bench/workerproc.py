"""A worker in its own process, so its memory is measured alone: `python -m bench.workerproc IMPL ADDRESS QUEUE`.

IMPL is `relance` (the real `worker.build_worker` with `worker.build_activities`, configured from the
environment like `relance worker`) or `bare` (`bench.bare`, with the same `WorkerSettings`, and the
`bare_email` activity on the same SMTP settings for the full floor). Prints `ready`
once polling, stops cleanly on SIGTERM.
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys


def per_invoice_rules(rules_dir):
    """The rules as shipped, each invoice on its own: the bare workflow mirrors one case's history, and a case
    under `grouping: per_debtor` also talks to its customer's account (signals the bare case does not mirror).
    What grouping costs is measured apart: `python -m bench.accounts`."""
    import shutil
    import tempfile
    from pathlib import Path

    copy = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    for source in Path(rules_dir).glob("*.yaml"):
        text = source.read_text(encoding="utf-8").replace("\ngrouping: per_debtor", "\ngrouping: per_invoice", 1)
        (copy / source.name).write_text(text, encoding="utf-8")
    shutil.copymode(rules_dir, copy)
    return copy


async def serve(impl: str, address: str, task_queue: str) -> None:
    from relance import logs
    from relance.config import from_env
    from relance.temporal import connect, metrics_runtime

    logs.configure()
    config = from_env()
    config = dataclasses.replace(config, temporal=dataclasses.replace(config.temporal, address=address))
    # With BENCH_METRICS_PORT, the SDK's own Prometheus metrics (both workers alike): the bench reads how many
    # workflow tasks completed, second by second, without asking the server being measured.
    port = os.environ.get("BENCH_METRICS_PORT")
    client = await connect(config.temporal, wait_seconds=config.worker.connect_wait_seconds,
                           runtime=metrics_runtime(f"127.0.0.1:{port}" if port else None))
    if impl == "relance":
        import workflows  # noqa: F401  `import worker` first is circular today (activities.fleet <-> workflows)
        from activities import printing
        from worker import build_activities, build_worker

        config = dataclasses.replace(config, rules_dir=per_invoice_rules(config.rules_dir))
        activities = build_activities(config)
        # As `worker.run` does, but loaded before "ready": the printing process's CPU counted per lifecycle is the
        # letters', not WeasyPrint's import.
        await asyncio.wrap_future(printing.warm_up())
        if os.environ.get("RELANCE_BENCH_STUB_EMAIL"):
            from bench.stub_email import without_email_work

            activities = without_email_work(activities)
        worker = build_worker(client, task_queue, activities, config.worker)
        closing = activities.mailer.close
    elif impl == "bare":
        from bench.bare import build_bare_worker
        from bench.bare_mail import BareMail

        mail = BareMail(config.smtp)
        worker = build_bare_worker(client, task_queue, config.worker, mail)
        closing = mail.close
    else:
        raise SystemExit(f"unknown worker {impl!r}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print("ready", flush=True)
        await stop.wait()
    if closing:
        await closing()


def main() -> None:
    code = 0
    try:
        asyncio.run(serve(*sys.argv[1:4]))
    except BaseException as error:  # reported, then the hard exit below
        print(f"worker failed: {error!r}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the Temporal core can abort at interpreter exit


if __name__ == "__main__":
    main()
