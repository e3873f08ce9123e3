"""The court side: the injonction de payer request and the small-claims request, as documents for ops to file.

A court e-filing service can replace `PaperCourt` behind the same `prepare` method.
"""
from __future__ import annotations

from typing import Protocol

from activities.contracts import Dossier, DossierRequest
from activities.documents import DocumentStore
from activities.rendering import render_document


class CourtGateway(Protocol):
    async def prepare(self, request: DossierRequest) -> Dossier: ...


class PaperCourt:
    def __init__(self, documents: DocumentStore) -> None:
        self.documents = documents

    async def prepare(self, request: DossierRequest) -> Dossier:
        html = render_document(request.letter)
        path = self.documents.write(request.letter.invoice.number, request.key, html)
        attached = [request.notice_document] if request.notice_document else []
        return Dossier(documents=[str(path), *attached])
