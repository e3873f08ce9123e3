"""What every reader of a ledger file hands to the row validation of `relance.ledger`.

A reader turns a file of one format into records: (row as the user sees it, {column: raw cell}) under the
canonical column names of `importers.columns`. Validation, bounds and the model are the same for every format.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# A row's cells by column, or why the row could not even be split into cells.
Record = tuple[int, "dict[str, Any] | RowError"]


class LedgerFileError(Exception):
    """The file as a whole cannot be read; no row was imported."""


class RowError(BaseModel):
    """One problem of one row. An error rejects its row; a warning is said and the row imported."""

    model_config = ConfigDict(frozen=True)

    row: int  # as a spreadsheet shows it: the header is row 1; for JSON, the 1-based position in the list
    field: str  # the canonical column name, "" when the whole row is wrong
    message: str  # English
    message_fr: str = ""  # French, said first; "" for a message without a translation (demo scripts)
    label: str = ""  # the column as the file names it ("Date d'échéance"), when it differs from `field`
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        english = f"row {self.row}, {self.field}: {self.message}" if self.field else f"row {self.row}: {self.message}"
        if not self.message_fr:
            return english
        where = f"« {self.label or self.field} »" if self.field else ""
        french = f"ligne {self.row}, {where} : {self.message_fr}" if where else f"ligne {self.row} : {self.message_fr}"
        return f"{french} / {english}"


SAME_WARNING_ROWS = 5  # rows named for a warning many rows share, before "and N more"


def said(errors: list[RowError]) -> list[str]:
    """The lines to print: every error, and each warning once with the first rows it concerns (a ledger without an
    address column would otherwise print the same warning once per row)."""
    lines, shared = [], {}
    for error in errors:
        if error.severity == "error":
            lines.append(str(error))
        else:
            shared.setdefault((error.field, error.message), []).append(error)
    for same in shared.values():
        first = same[0]
        if len(same) == 1:
            lines.append(str(first))
            continue
        rows = ", ".join(str(e.row) for e in same[:SAME_WARNING_ROWS])
        more_fr = f" et {len(same) - SAME_WARNING_ROWS} autres" if len(same) > SAME_WARNING_ROWS else ""
        more = f" and {len(same) - SAME_WARNING_ROWS} more" if len(same) > SAME_WARNING_ROWS else ""
        lines.append(str(first.model_copy(update={"row": 0})).replace("ligne 0", f"lignes {rows}{more_fr}", 1)
                     .replace("row 0", f"rows {rows}{more}", 1))
    return lines


def rejected_rows(errors: list[RowError]) -> int:
    """How many rows were refused: a row with three bad cells is one row, and a warning refuses nothing."""
    return len({error.row for error in errors if error.severity == "error"})


@dataclasses.dataclass
class Source:
    """A file opened by a reader: its records, read lazily, and what was said before the first one."""

    records: Iterator[Record]
    rows_hint: int  # rows the file seems to hold, for a progress bar
    notices: list[RowError]  # header warnings (unknown columns), said before the rows
    labels: dict[str, str]  # canonical column -> the file's own header, to name a cell as the user sees it


def file_error(path: object, french: str, english: str) -> LedgerFileError:
    return LedgerFileError(f"{path}: {french} — {english}")
