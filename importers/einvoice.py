"""Electronic invoices of the 2026 reform: a Factur-X PDF (a PDF/A-3 carrying its CII XML), or the XML alone,
CII or UBL. One file is one invoice, read with the maintained `factur-x` library (the Akretion one, which also
validates the XML against the official schemas).

The XML is hostile input: parsed first without a DTD, entities or network (an external entity would read local
files, nested ones would expand to gigabytes), and a document declaring a DTD is refused, before the library
sees it. Sizes are bounded.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from importers.base import LedgerFileError, Source, file_error

MAX_PDF_BYTES = 32 * 2**20
MAX_XML_BYTES = 8 * 2**20
_CREDIT_NOTE_TYPES = {"381", "261", "262", "296", "308", "396", "420", "458", "532"}
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                               huge_tree=False, remove_comments=True)


def open_einvoice(path: Path) -> Source:
    xml = _xml_of(path)
    record = _record(path, _parsed(path, xml))
    return Source(records=iter([(1, record)]), rows_hint=1, notices=[], labels=_LABELS)


_LABELS = {"number": "BT-1 (numéro)", "issue_date": "BT-2 (date)", "due_date": "BT-9 (échéance)",
           "debtor_name": "BT-44 (acheteur)", "debtor_email": "BT-49 (adresse électronique de l'acheteur)",
           "amount_incl_tax": "BT-112 (total TTC)", "amount_excl_tax": "BT-109 (total HT)", "currency": "BT-5",
           "debtor_siren": "BT-47 (SIREN de l'acheteur)", "debtor_vat": "BT-48 (TVA de l'acheteur)"}


def _xml_of(path: Path) -> bytes:
    suffix = path.suffix.lower()
    limit = MAX_PDF_BYTES if suffix == ".pdf" else MAX_XML_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            raise file_error(path, f"{size // 2**20} Mo, au plus {limit // 2**20} Mo", f"{size} bytes, at most {limit}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise file_error(path, "fichier introuvable", "no such file") from None
    except OSError as error:
        raise file_error(path, f"illisible : {error.strerror}", f"cannot read: {error.strerror}") from None
    if suffix != ".pdf":
        return data
    from facturx import get_xml_from_pdf  # pypdf and the schemas load on first use, not for every CSV import

    try:
        _, xml = get_xml_from_pdf(data, check_xsd=False)
    except Exception as error:  # the library raises bare Exceptions for a PDF it cannot read
        raise file_error(path, f"PDF illisible : {error}", f"unreadable PDF: {error}") from None
    if not xml:
        raise file_error(path, "PDF sans facture Factur-X jointe (factur-x.xml) : une simple image de facture ne se"
                               " lit pas", "a PDF without an embedded Factur-X invoice")
    return xml


def _parsed(path: Path, xml: bytes) -> dict[str, Any]:
    try:
        root = etree.fromstring(xml, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError as error:
        raise file_error(path, f"XML invalide : {error}", f"invalid XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise file_error(path, "XML refusé : déclaration DOCTYPE (entités) interdite",
                         "XML refused: a DOCTYPE declaration (entities) is not accepted")
    from facturx import parse_ubl_cii_xml

    try:
        return parse_ubl_cii_xml(root, check_xsd=True)
    except Exception as error:  # not CII nor UBL, or invalid against its schema
        raise file_error(path, f"ni Factur-X/CII ni UBL valide : {error}", f"neither valid CII nor UBL: {error}") from None


def _record(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    if str(data.get("BT-3", "380")) in _CREDIT_NOTE_TYPES:
        raise file_error(path, "avoir (BT-3), pas une facture à recouvrer", "a credit note, not an invoice to collect")
    buyer = data.get("BG-7") or {}
    identifiers = buyer.get("identifiers")
    identifier = identifiers.get("value") if isinstance(identifiers, dict) else None
    email = buyer.get("einvoicing_addr") if buyer.get("einvoicing_addr_schemeid") == "EM" else None
    contacts = buyer.get("contacts") or []
    email = email or next((c.get("email") for c in contacts if isinstance(c, dict) and c.get("email")), None)
    siren = buyer.get("legal_identifier") if buyer.get("legal_identifier_schemeid") in (None, "0002") else None
    address = ", ".join(part for part in (buyer.get("addr_l1"), buyer.get("addr_l2"),
                                          " ".join(p for p in (buyer.get("postcode"), buyer.get("city")) if p)) if part)
    record: dict[str, Any] = {
        "number": data.get("BT-1"), "issue_date": _iso(data.get("BT-2")), "due_date": _iso(data.get("BT-9")),
        "currency": data.get("BT-5"), "amount_incl_tax": data.get("BT-112"), "amount_excl_tax": data.get("BT-109"),
        "debtor_id": identifier or siren or buyer.get("name"), "debtor_name": buyer.get("name"),
        "debtor_email": email, "debtor_siren": siren, "debtor_vat": buyer.get("vat_identifier"),
        "debtor_address": address or None, "debtor_country": buyer.get("country_code"),
        "purchase_order": data.get("BT-13"),
    }
    prepaid = _decimal(data.get("BT-113"))
    if prepaid:  # paid in advance (BT-113): what the case must not ask for again
        record.update(paid=str(prepaid), paid_on=record["issue_date"])
    return {key: value for key, value in record.items() if value not in (None, "")}


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _decimal(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() and amount > 0 else None


__all__ = ["LedgerFileError", "open_einvoice"]
