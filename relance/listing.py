"""`relance list`: one page of the cases a visibility query finds, and how many it finds in all.

Temporal's list is paged by the server, so a page further on is reached by reading past the ones before it;
the total comes from Temporal's count API, one call whatever the book's size, so that the list never cuts the
book without saying so.
"""
from __future__ import annotations

import dataclasses

from temporalio.client import Client

from domain.invoice import invoice_number_of
from workflows import visibility


@dataclasses.dataclass
class Page:
    client: Client
    query: str
    limit: int | None  # None: every case
    page: int = 1

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.limit if self.limit else 0

    def first(self, shown: int) -> int:
        """The position (from 1) of the first row shown, 0 when none is."""
        return self.skip + 1 if shown else 0

    async def rows(self) -> list[dict]:
        found = self.client.list_workflows(self.query, limit=None if self.limit is None else self.skip + self.limit)
        return [row(execution) async for execution in after(found, self.skip)]

    async def total(self) -> int:
        return (await self.client.count_workflows(self.query)).count


async def after(iterator, skip: int):
    """`iterator` past its first `skip` items."""
    index = 0
    async for item in iterator:
        if index >= skip:
            yield item
        index += 1


def row(execution) -> dict:
    found = execution.typed_search_attributes
    return {"invoice": invoice_number_of(execution.id), "stage": found.get(visibility.STAGE),
            "debtor": found.get(visibility.DEBTOR), "amount_due": found.get(visibility.AMOUNT_DUE),
            "paused": found.get(visibility.PAUSED), "next_action_at": found.get(visibility.NEXT_ACTION_AT)}


def footer(shown: int, total: int, page: Page) -> str:
    """The count line: the total, and when fewer are shown, which ones and how to see the rest."""
    if shown >= total:
        return f"{total} dossier(s)"
    if shown == 0:
        return f"{total} dossier(s), aucun sur la page {page.page} (--page 1 pour le début)"
    first, last = page.first(shown), page.first(shown) + shown - 1
    pages = -(-total // page.limit) if page.limit else 1
    more = f"--page {page.page + 1} pour la suite, " if page.page < pages else ""
    return (f"{total} dossier(s), {shown} affiché(s) (n° {first} à {last}, page {page.page}/{pages}) :"
            f" {more}--all pour tous")
