"""CSV ledgers as spreadsheets and accounting programs write them.

UTF-8 with or without a BOM, Windows-1252 (what French Excel writes for "CSV (séparateur: point-virgule)"), or
UTF-16 with its BOM (Excel's "Texte Unicode", tab-separated);
";", ",", tab or "|" between cells; headers in French or as our columns (`importers.columns`), or as a
mapping file says (`importers.mapping`).

Before the first row, one pass over the bytes decides the encoding and checks that no line is longer than
`MAX_LINE_BYTES`, so a file is refused as a whole or not at all. The rows are then read one at a time: a
200,000-row file is never held whole.
"""
from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from importers.base import LedgerFileError, Record, RowError, Source, file_error
from importers.columns import COLUMNS, REQUIRED_COLUMNS, column_of, french_name, normalize
from importers.mapping import NO_MAPPING, Mapping

MAX_LINE_BYTES = 2**20  # one CSV line; a spreadsheet row is a few hundred bytes
_CHUNK_BYTES = 2**20
_HEADER_ROW = 1
_BOM = codecs.BOM_UTF8
# UTF-8's encoding of the Latin-1 letters (é is C3 A9): seen in a file that is not UTF-8 as a whole, it means
# a file pasted together from two encodings, which no single choice would read without mangling names.
_UTF8_LATIN = re.compile(rb"[\xc2-\xc3][\x80-\xbf]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_ENCODINGS = {"utf-8": "utf-8-sig", "windows-1252": "cp1252"}


def open_csv(path: Path, mapping: Mapping = NO_MAPPING, required: tuple[str, ...] = REQUIRED_COLUMNS) -> Source:
    encoding, rows_hint = scan(path, mapping.encoding)
    header, labels, delimiter, notices = _header(path, encoding, mapping, required)
    defaults = {column: value for column, value in mapping.defaults.items() if column not in header}
    return Source(records=_records(path, encoding, header, delimiter, defaults), rows_hint=rows_hint,
                  notices=notices, labels=labels)


# --- bytes ------------------------------------------------------------------------------------------------


def scan(path: Path, wanted: str) -> tuple[str, int]:
    """One pass, a chunk at a time: the encoding (UTF-16 if the file starts with its BOM, UTF-8 if every byte
    decodes as such, else Windows-1252), no overlong line. Returns the encoding and the number of lines after the
    header."""
    if wanted == "auto" and _utf16_bom(path):
        return "utf-16", _utf16_rows(path)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_error: tuple[int, int] | None = None  # (byte, offset) of the first byte that is not UTF-8
    cp1252_error: tuple[int, int] | None = None
    saw_utf8_latin = False
    offset, lines, line_bytes = 0, 0, 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK_BYTES):
                if utf8_error is None:
                    pending = len(decoder.getstate()[0])
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as error:
                        utf8_error = (error.object[error.start], offset - pending + error.start)
                saw_utf8_latin = saw_utf8_latin or bool(_UTF8_LATIN.search(chunk))
                if cp1252_error is None and (undefined := _CP1252_UNDEFINED.search(chunk)):
                    cp1252_error = (chunk[undefined.start()], offset + undefined.start())
                pieces = chunk.split(b"\n")
                for index, piece in enumerate(pieces):
                    line_bytes = line_bytes + len(piece) if index == 0 else len(piece)
                    if line_bytes > MAX_LINE_BYTES:
                        raise file_error(path, f"la ligne {lines + index + 1} dépasse {MAX_LINE_BYTES // 2**20} Mo ; "
                                               "est-ce bien un export CSV ?",
                                         f"line {lines + index + 1} is longer than {MAX_LINE_BYTES // 2**20} MB; "
                                         "is this a ledger exported as CSV?")
                lines += len(pieces) - 1
                offset += len(chunk)
            if utf8_error is None:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError as error:
                    utf8_error = (error.object[error.start], offset - len(error.object) + error.start)
    except FileNotFoundError:
        raise file_error(path, "fichier introuvable", "no such file") from None
    except OSError as error:
        raise file_error(path, f"illisible : {error.strerror}", f"cannot read: {error.strerror}") from None
    rows = max(lines, 1) - 1 if line_bytes == 0 else lines
    return _encoding(path, wanted, utf8_error, cp1252_error, saw_utf8_latin), rows


def _utf16_bom(path: Path) -> bytes | None:
    try:
        with path.open("rb") as file:
            start = file.read(2)
    except OSError:
        return None  # said by the scan that follows
    return start if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else None


def _utf16_rows(path: Path) -> int:
    """Lines after the header of a UTF-16 file, none longer than `MAX_LINE_BYTES` of text."""
    decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")  # bad pairs show as such in their cells
    lines, line_chars = 0, 0
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            pieces = decoder.decode(chunk).split("\n")
            for index, piece in enumerate(pieces):
                line_chars = line_chars + len(piece) if index == 0 else len(piece)
                if line_chars > MAX_LINE_BYTES:
                    raise file_error(path, f"la ligne {lines + index + 1} dépasse {MAX_LINE_BYTES // 2**20} Mo ; est-ce"
                                           " bien un export CSV ?", f"line {lines + index + 1} is longer than"
                                           f" {MAX_LINE_BYTES // 2**20} MB; is this a ledger exported as CSV?")
            lines += len(pieces) - 1
    return max(lines, 1) - 1 if line_chars == 0 else lines


def _encoding(path: Path, wanted: str, utf8_error, cp1252_error, saw_utf8_latin: bool) -> str:
    if wanted == "utf-8" or (wanted == "auto" and utf8_error is None):
        if utf8_error is not None:
            byte, offset = utf8_error
            raise file_error(path, f"pas en UTF-8 (octet {byte:#04x} à la position {offset}) alors que la "
                                   "correspondance le demande", f"not UTF-8 (byte {byte:#04x} at offset {offset})")
        return _ENCODINGS["utf-8"]
    if wanted == "auto" and saw_utf8_latin:
        byte, offset = utf8_error
        raise file_error(path, f"encodages mêlés : du texte UTF-8 et un octet {byte:#04x} qui ne l'est pas "
                               f"(position {offset}) ; enregistrez le fichier en « CSV UTF-8 »",
                         f"mixed encodings: UTF-8 text and a byte {byte:#04x} that is not (offset {offset}); "
                         "save it as 'CSV UTF-8' from the spreadsheet")
    if cp1252_error is not None:
        byte, offset = cp1252_error
        raise file_error(path, f"ni UTF-8 ni Windows-1252 (octet {byte:#04x} à la position {offset}) ; "
                               "enregistrez le fichier en « CSV UTF-8 »",
                         f"neither UTF-8 nor Windows-1252 (byte {byte:#04x} at offset {offset}); "
                         "save it as 'CSV UTF-8' from the spreadsheet")
    return _ENCODINGS["windows-1252"]


# --- header -----------------------------------------------------------------------------------------------


def _header(path: Path, encoding: str, mapping: Mapping,
            required: tuple[str, ...]) -> tuple[list[str], dict[str, str], str, list[RowError]]:
    with path.open(encoding=encoding, newline="") as file:
        first = file.readline(MAX_LINE_BYTES)
        delimiter = _delimiter(first) if mapping.delimiter == "auto" else mapping.delimiter
        try:
            cells = next(csv.reader(itertools.chain([first], file), delimiter=delimiter), [])
        except csv.Error as error:
            raise file_error(path, f"ligne d'en-tête illisible : {error}", f"header row unreadable: {error}") from None
    if not any(cell.strip() for cell in cells):
        raise file_error(path, "fichier vide ; la première ligne doit nommer les colonnes",
                         "empty file, expected a header row naming the columns")
    mapped = {normalize(header): column for column, header in mapping.columns.items()}
    header: list[str] = []
    labels: dict[str, str] = {}
    notices: list[RowError] = []
    for cell in cells:
        label = cell.strip()
        column = mapped.get(normalize(label)) or column_of(label) if label else None
        if label and column is None:
            notices.append(RowError(row=_HEADER_ROW, field=label, message="unknown column, ignored",
                                    message_fr="colonne inconnue, ignorée", severity="warning"))
        header.append(column or "")
        if column and normalize(label) != normalize(column):
            labels[column] = label
    _check_header(path, header, labels, required, set(mapping.defaults))
    return header, labels, delimiter, notices


def _delimiter(text: str) -> str:
    # Column names contain no separator, so the header line alone decides.
    line = text.split("\n", 1)[0]
    return max((";", ",", "\t", "|"), key=line.count) if any(sep in line for sep in ";\t|") else ","


def _check_header(path: Path, header: list[str], labels: dict[str, str], required: tuple[str, ...],
                  defaulted: set[str]) -> None:
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise file_error(path, f"colonne(s) en double dans l'en-tête : {', '.join(map(french_name, repeated))}",
                         f"column(s) repeated in the header: {', '.join(repeated)}")
    missing = [name for name in required if name not in header and name not in defaulted]
    if missing:
        read = ", ".join(labels.get(name, name) for name in header if name)
        raise file_error(
            path, f"colonne(s) obligatoire(s) absente(s) de l'en-tête : {', '.join(map(french_name, missing))} "
                  "(ou un fichier de correspondance, --mapping)",
            f"required column(s) missing from the header: {', '.join(missing)} (header read: {read})")


# --- rows -------------------------------------------------------------------------------------------------


def _records(path: Path, encoding: str, header: list[str], delimiter: str,
             defaults: dict[str, str]) -> Iterator[Record]:
    with path.open(encoding=encoding, newline="") as file:
        reader = csv.reader(file, delimiter=delimiter)
        row = _HEADER_ROW
        try:
            next(reader)  # the header, read and checked already
            while True:
                row += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:  # a cell over the csv module's 128 KB, say; the next line reads on
                    yield row, RowError(row=row, field="", message=f"unreadable: {error}",
                                        message_fr=f"illisible : {error}")
                    continue
                if not any(cell.strip() for cell in cells):
                    continue  # Excel exports trailing ";;;;" lines for rows that were once used
                if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
                    yield row, _too_many_cells(row, len(cells), len(header))
                    continue
                yield row, defaults | {name: cell for name, cell in zip(header, cells) if name in COLUMNS}
        except UnicodeDecodeError as error:  # only if the file changed since its bytes were checked
            raise LedgerFileError(f"{path}: not UTF-8 near row {row} (the file changed while being read?)") from error


def _too_many_cells(row: int, found: int, expected: int) -> RowError:
    return RowError(row=row, field="", message=f"{found} cells for {expected} columns; is a ';' or ',' inside a "
                                               "value not quoted?",
                    message_fr=f"{found} cellules pour {expected} colonnes ; un « ; » ou une « , » dans une "
                               "valeur sans guillemets ?")
