"""E-invoices for tests and examples, made with the `factur-x` library as an invoicing program would: the CII
of a Factur-X BASIC WL invoice embedded in a PDF, and the same invoice as UBL."""
from __future__ import annotations

import datetime as dt
import io


def invoice_data(number: str = "FA-2026-0401", issued: dt.date = dt.date(2026, 10, 5),
                 due: dt.date | None = dt.date(2026, 11, 4), prepaid: str | None = None) -> dict:
    data = {
        "BT-1": number, "BT-2": issued, "BT-3": "380", "BT-5": "EUR", "BT-72": issued,
        "BT-24": "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basicwl", "BT-13": "BC-2026-014",
        "BG-4": {"name": "Fournisseur Exemple SAS", "legal_identifier": "732829320", "legal_identifier_schemeid": "0002",
                 "vat_identifier": "FR44732829320", "country_code": "FR", "city": "Lyon", "postcode": "69002",
                 "addr_l1": "1 rue de la République"},
        "BG-7": {"name": "Boulangeries Martin SARL", "identifiers": {"value": "CLI-0041"},
                 "legal_identifier": "539749960", "legal_identifier_schemeid": "0002",
                 "einvoicing_addr": "compta@boulangeries-martin.example", "einvoicing_addr_schemeid": "EM",
                 "country_code": "FR", "city": "Lyon", "postcode": "69002", "addr_l1": "8 place Bellecour"},
        "BT-106": "720.00", "BT-109": "720.00", "BT-110": "144.00", "BT-112": "864.00", "BT-115": "864.00",
        "BG-23": [{"BT-116": "720.00", "BT-117": "144.00", "BT-118": "S", "BT-119": "20.00"}],
    }
    if due is not None:
        data["BT-9"] = due
    if prepaid:
        data["BT-113"] = prepaid
        data["BT-115"] = f"{864 - float(prepaid):.2f}"
    return data


def cii_xml(**kwargs) -> bytes:
    from facturx import generate_cii_xml

    return generate_cii_xml(invoice_data(**kwargs), level="basicwl", check_schematron=False)


def ubl_xml(**kwargs) -> bytes:
    from facturx import generate_ubl_xml

    data = invoice_data(**kwargs)
    data["BT-24"] = "urn:cen.eu:en16931:2017"
    data["BG-25"] = [{"BT-126": "1", "BT-129": "1", "BT-130": "C62", "BT-131": "720.00", "BT-146": "720.00",
                      "BT-151": "S", "BT-152": "20.00", "BT-153": "Prestations de boulangerie"}]
    return generate_ubl_xml(data, level="en16931", check_schematron=False)


def facturx_pdf(**kwargs) -> bytes:
    """A one-page PDF with the invoice's CII attached, as Factur-X requires."""
    from facturx import generate_from_binary
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # A4
    blank = io.BytesIO()
    writer.write(blank)
    return generate_from_binary(blank.getvalue(), cii_xml(**kwargs), flavor="factur-x", level="basicwl",
                                check_xsd=True)
