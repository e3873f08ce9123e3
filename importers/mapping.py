"""`relance import FILE --mapping erp.yaml`: how to read an export whose headers are not recognized.

    columns:                      # our column: the header as the export writes it
      number: "Réf. pièce"
      due_date: "Echéance prévue"
    encoding: windows-1252        # auto (default), utf-8 or windows-1252
    delimiter: ";"                # auto (default), ";", ",", tab or "|"
    defaults:                     # a value for every row, for a column the export lacks
      policy: grands_comptes
    payment_terms_days: 45        # FEC without EcheanceDate: due date = piece date + these days
    customers: clients.csv        # FEC: emails, SIREN, addresses by customer code (path from this file's folder)

Read like a rule file (`domain.rule_file.parse_model`): bounded in size and nesting, no YAML aliases, each
problem with its line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.rule_file import RuleFileError, parse_model
from importers.base import LedgerFileError
from importers.columns import COLUMNS

MAX_MAPPING_BYTES = 64 * 1024  # a mapping is a few lines; rule files allow more


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str] = Field(default_factory=dict, max_length=len(COLUMNS),
                                    description="Our column name -> the export's header for it.")
    encoding: Literal["auto", "utf-8", "windows-1252"] = "auto"
    delimiter: Literal["auto", ";", ",", "\t", "|"] = "auto"
    defaults: dict[str, str] = Field(default_factory=dict, max_length=len(COLUMNS),
                                     description="A value for every row, for a column the export does not have.")
    payment_terms_days: int | None = Field(default=None, gt=0, le=366,
                                           description="A FEC without EcheanceDate: the customers' terms.")
    customers: Path | None = Field(default=None, description="A FEC names no email: the customers, as a CSV.")

    @field_validator("columns", "defaults")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(COLUMNS))
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
        too_long = [key for key, text in value.items() if len(text) > 200]
        if too_long:
            raise ValueError(f"value of {too_long[0]} longer than 200 characters")
        return value


NO_MAPPING = Mapping()


def load_mapping(path: Path) -> Mapping:
    """The mapping file, or LedgerFileError naming each problem with its line; nothing is read before."""
    try:
        size = path.stat().st_size
        if size > MAX_MAPPING_BYTES:
            raise LedgerFileError(f"{path}: fichier de correspondance trop grand ({size} octets) — "
                                  f"mapping file too large ({size} bytes, at most {MAX_MAPPING_BYTES})")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LedgerFileError(f"{path}: fichier introuvable — no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LedgerFileError(f"{path}: illisible — cannot read: {error}") from None
    try:
        mapping, _ = parse_model(text, str(path), Mapping)
    except RuleFileError as error:
        raise LedgerFileError(str(error)) from None
    if mapping.customers is not None and not mapping.customers.is_absolute():
        mapping = mapping.model_copy(update={"customers": path.parent / mapping.customers})
    return mapping
