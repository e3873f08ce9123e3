"""Readers of ledger files, one per format, each turning a file into the same records (`importers.base`):
`relance.ledger` validates them into Invoices, whatever the format. `import`, `demo` and the previews
(`--ledger`) all read through `open_source`."""
from __future__ import annotations

from pathlib import Path

from importers.base import LedgerFileError, Source, file_error
from importers.csv_file import open_csv
from importers.einvoice import open_einvoice
from importers.fec import is_fec, open_fec
from importers.json_file import open_json
from importers.mapping import NO_MAPPING, Mapping

SUFFIXES = (".csv", ".json", ".txt (FEC)", ".pdf (Factur-X)", ".xml (UBL, CII)")


def open_source(path: Path, mapping: Mapping = NO_MAPPING, *, default_terms_days: int | None = None) -> Source:
    """The reader of `path`'s format, opened: the file as a whole checked, its rows not read yet.
    `default_terms_days`: the customers' terms when a FEC gives no due date and the mapping none either."""
    suffix = path.suffix.lower()
    if suffix in (".txt", ".csv", ".fec") and path.is_file() and is_fec(path):
        return open_fec(path, mapping, default_terms_days)
    if suffix == ".csv":
        return open_csv(path, mapping)
    if suffix == ".json":
        return open_json(path)
    if suffix in (".pdf", ".xml"):
        return open_einvoice(path)
    raise file_error(path, f"type de fichier non pris en charge {path.suffix or '(aucun)'!r} ; attendu : "
                           f"{', '.join(SUFFIXES)}",
                     f"unsupported file type {path.suffix or '(none)'!r}; expected {' or '.join(SUFFIXES)}")


__all__ = ["LedgerFileError", "Mapping", "Source", "open_source"]
