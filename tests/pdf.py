"""Reading a printed document back: its text, and where each line of it sits on the page."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf

MM_PER_POINT = 25.4 / 72


def _reader(document: bytes | str | Path) -> pypdf.PdfReader:
    data = document if isinstance(document, bytes) else Path(document).read_bytes()
    assert data.startswith(b"%PDF-"), "a PDF"
    return pypdf.PdfReader(io.BytesIO(data), strict=True)


def pdf_text(document: bytes | str | Path) -> str:
    """Every page's text, lines joined by one space (a phrase may wrap); no-break spaces kept, as format_eur writes."""
    text = " ".join(page.extract_text() for page in _reader(document).pages)
    return re.sub(r"[ \n]+", " ", text)


def lines_on_first_page(document: bytes | str | Path) -> list[tuple[float, float, str]]:
    """(x, y, text) of each line of the first page: its start, in mm from the page's left edge, and its baseline,
    in mm from the top edge."""
    page = _reader(document).pages[0]
    height = float(page.mediabox.height)
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            matrix = pypdf.mult(tm, cm)
            found.append((matrix[4] * MM_PER_POINT, (height - matrix[5]) * MM_PER_POINT, text.strip()))

    page.extract_text(visitor_text=visit)
    return found
