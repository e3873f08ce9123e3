"""Printed documents: the HTML the templates give, laid out as a PDF by WeasyPrint (Pango lays the text out, with
the fonts fontconfig finds; tools/system-packages.txt names the Debian packages).

Printing is CPU work (about 0.1 s a page here, 1.3 s to import WeasyPrint the first time): it runs in one thread
of its own, off the worker's event loop, so heartbeats and workflow tasks go on while a letter is laid out, and
one document at a time (Pango's font map is not shared safely between threads). The step that prints the same
letter twice (a mise en demeure attached to its email, then written for the registered letter) lays it out once:
the last few documents are kept by content.

Templates are edited by admins, and the HTML carries debtor data: the PDF may load nothing from outside (no file,
no network), only what the HTML itself holds (`data:` URLs).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import re
import threading
from collections import OrderedDict
from typing import Protocol

from temporalio import activity

from activities.rendering import Attachment, render_document
from domain.letters import LetterContext

_KEPT = 8  # documents kept by content: a step prints at most a few
HEARTBEAT_SECONDS = 1.0
WARM_UP = '<p style="font-family: \'DejaVu Sans\'">relance</p>'  # the fonts the templates use


class Printer(Protocol):
    def warm_up(self) -> concurrent.futures.Future:
        """Import WeasyPrint and load the fonts (about 1.8 s of CPU) in the printing thread now, rather than in the
        first letter's activity: a worker calls it when it starts."""
        return self._pool.submit(print_pdf, WARM_UP)

    async def pdf(self, html: str) -> bytes: ...


def print_pdf(html: str) -> bytes:
    """The PDF of `html`, on the calling thread."""
    import weasyprint  # 1.3 s the first time: imported by the first document, not by every command

    # `data:` URLs only: WeasyPrint leaves out (and logs) a resource it may not fetch, so an image pointing at
    # /etc/passwd or at an internal web server is not printed.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


class WeasyPrinter:
    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
        self._kept: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def warm_up(self) -> concurrent.futures.Future:
        """Import WeasyPrint and load the fonts (about 1.8 s of CPU) in the printing thread now, rather than in the
        first letter's activity: a worker calls it when it starts."""
        return self._pool.submit(print_pdf, WARM_UP)

    async def pdf(self, html: str) -> bytes:
        printing = asyncio.get_running_loop().run_in_executor(self._pool, self.pdf_now, html)
        # The activity heartbeats while it waits (send_email's attempt is given up after 5 s of silence): a
        # document queued behind others, or the first one of a worker importing WeasyPrint, takes seconds.
        while True:
            done, _ = await asyncio.wait({printing}, timeout=HEARTBEAT_SECONDS)
            if done:
                return printing.result()
            if activity.in_activity():
                activity.heartbeat({"phase": "printing"})

    def pdf_now(self, html: str) -> bytes:
        digest = hashlib.sha256(html.encode("utf-8")).digest()
        with self._lock:
            if digest in self._kept:
                self._kept.move_to_end(digest)
                return self._kept[digest]
        document = print_pdf(html)
        with self._lock:
            self._kept[digest] = document
            while len(self._kept) > _KEPT:
                self._kept.popitem(last=False)
        return document


async def print_letter(printer: Printer, letter: LetterContext) -> bytes:
    """A letter, a request or a claim file as printed: its kind's document template, as a PDF."""
    return await printer.pdf(render_document(letter))


def as_attachment(letter: LetterContext, pdf: bytes) -> Attachment:
    """The printed letter attached to its email, named after what it is and the invoice."""
    return Attachment(filename=re.sub(r"[^A-Za-z0-9._-]+", "_", f"{letter.kind}-{letter.invoice.number}") + ".pdf",
                      content_type="application/pdf", data=pdf)
