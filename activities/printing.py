"""Printed documents: the HTML the templates give, laid out as a PDF by WeasyPrint (Pango lays the text out, with
the fonts fontconfig finds; tools/system-packages.txt names the Debian packages).

Printing is CPU work (about 75 ms for a two-page letter here, and 1.8 s to import WeasyPrint and load the fonts the
first time).
It runs in a process of its own, one per worker process, started on first use (spawned, not forked: the worker
runs Temporal's threads): the worker's event loop, its heartbeats and its workflow tasks go on while a letter is
laid out, instead of waiting for the GIL, and WeasyPrint's compiling of CSS selectors never runs beside the
sandbox's compiling of workflow code in another thread (CPython 3.11 can fail such concurrent compiles with
"AST constructor recursion depth mismatch"). One document at a time. The step that prints the same letter twice (a
mise en demeure attached to its email, then written for the registered letter) lays it out once: the last few
documents are kept by content.

Templates are edited by admins, and the HTML carries debtor data: the PDF may load nothing from outside (no file,
no network), only what the HTML itself holds (`data:` URLs).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import multiprocessing
import os
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from temporalio import activity

from activities.rendering import Attachment, render_document
from domain.letters import LetterContext

_KEPT = 8  # documents kept by content: a step prints at most a few
HEARTBEAT_SECONDS = 1.0
WARM_UP = '<p style="font-family: \'DejaVu Sans\'">relance</p>'  # the fonts the templates use


class Printer(Protocol):
    async def pdf(self, html: str) -> bytes: ...


_fonts = threading.local()  # a font configuration per thread: its lookups are kept from one document to the next


def print_pdf(html: str) -> bytes:
    """The PDF of `html`, in the calling process."""
    import weasyprint  # 1.3 s the first time: imported by the first document, not by every command
    from weasyprint.text.fonts import FontConfiguration

    # `data:` URLs only: WeasyPrint leaves out (and logs) a resource it may not fetch, so an image pointing at
    # /etc/passwd or at an internal web server is not printed.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    # One font configuration kept per thread (the printing process has one): a letter takes 72 ms instead of 79
    # (40 of each, interleaved). Not shared between threads: the console prints statements from several.
    if getattr(_fonts, "config", None) is None:
        _fonts.config = FontConfiguration()
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=_fonts.config)


_process: concurrent.futures.ProcessPoolExecutor | None = None
_process_lock = threading.Lock()
_process_size = 0  # the running pool's size
_processes = 1  # printing processes (RELANCE_PRINT_PROCESSES): documents print in parallel on a host with cores to spare


def _exit_with(parent: int) -> None:
    """In the printing process: leave when the worker is gone. A worker that ends with os._exit (the CLI and the
    test suite do, sdk-python #300) or is killed never shuts its pool down, and the process would stay forever."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def configure(processes: int) -> None:
    """How many printing processes the worker keeps (about 100 MB each, WeasyPrint and its fonts loaded). A letter
    takes about 100 ms of one core; while it prints, the activity holds its slot (and a time-skipping server its
    clock). Set before the first document; a pool of another size is replaced."""
    global _processes, _process
    if processes < 1:
        raise ValueError(f"RELANCE_PRINT_PROCESSES must be 1 or more, not {processes}")
    with _process_lock:
        _processes = processes
        if _process is not None and _process_size != processes:
            _process.shutdown(wait=False)
            _process = None


def _printing_process() -> concurrent.futures.ProcessPoolExecutor:
    """This process's printing processes: one pool for all the worker's activities (and a test session's workers)."""
    global _process, _process_size
    with _process_lock:
        if _process is None:
            _process_size = _processes
            _process = concurrent.futures.ProcessPoolExecutor(
                max_workers=_processes, mp_context=multiprocessing.get_context("spawn"), initializer=_exit_with,
                initargs=(os.getpid(),))
        return _process


def _forget_broken(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """The printing process died (killed, out of memory): the next document starts another; this one is retried."""
    global _process
    with _process_lock:
        if _process is pool:
            _process = None


def warm_up() -> concurrent.futures.Future:
    """Start the printing process and load WeasyPrint and the fonts now, rather than in the first letter's
    activity (where a time-skipping test server, or a heartbeat timeout, would wait for it)."""
    return _printing_process().submit(print_pdf, WARM_UP)


class WeasyPrinter:
    def __init__(self) -> None:
        self._kept: OrderedDict[bytes, bytes] = OrderedDict()

    async def pdf(self, html: str) -> bytes:
        digest = hashlib.sha256(html.encode("utf-8")).digest()
        if digest in self._kept:
            self._kept.move_to_end(digest)
            return self._kept[digest]
        document = await self._lay_out(html)
        self._kept[digest] = document
        while len(self._kept) > _KEPT:
            self._kept.popitem(last=False)
        return document

    async def _lay_out(self, html: str) -> bytes:
        pool = _printing_process()
        try:
            printing = asyncio.wrap_future(pool.submit(print_pdf, html))
            # The activity heartbeats while it waits (send_email's attempt is given up after 5 s of silence): a
            # document queued behind others, or the first one of a worker, takes seconds on a busy machine.
            while True:
                done, _ = await asyncio.wait({printing}, timeout=HEARTBEAT_SECONDS)
                if done:
                    return printing.result()
                if activity.in_activity():
                    activity.heartbeat({"phase": "printing"})
        except BrokenProcessPool:
            _forget_broken(pool)
            raise


async def print_letter(printer: Printer, letter: LetterContext) -> bytes:
    """A letter, a request or a claim file as printed: its kind's document template, as a PDF."""
    return await printer.pdf(render_document(letter))


def as_attachment(letter: LetterContext, pdf: bytes) -> Attachment:
    """The printed letter attached to its email, named after what it is and the invoice."""
    return Attachment(filename=re.sub(r"[^A-Za-z0-9._-]+", "_", f"{letter.kind}-{letter.invoice.number}") + ".pdf",
                      content_type="application/pdf", data=pdf)
