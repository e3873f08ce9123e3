"""Every kind renders with the business content a credit manager, a court or an insurer expects."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import jinja2
import pytest

from activities.contracts import PermanentFailure
from activities.rendering import (
    available_templates,
    make_environment,
    render_document,
    render_email,
    template_exists,
)
from domain.invoice import Debtor, Invoice
from domain.letters import Instalment, LetterContext, PenaltyLine
from domain.money import format_date_fr, format_eur
from domain.policy import Creditor

EMAIL_KINDS = {
    "reminder_courtesy", "reminder_overdue", "reminder_firm", "reminder_last", "mise_en_demeure",
    "instalment_reminder", "plan_accepted", "thank_you", "ops_task", "insurer_claim",
}
REMINDER_KINDS = {"reminder_courtesy", "reminder_overdue", "reminder_firm", "reminder_last"}
DOCUMENT_KINDS = {"mise_en_demeure", "injonction_request", "small_claims_request", "insurer_claim"} | REMINDER_KINDS
FR_ONLY_EMAILS = {"ops_task", "insurer_claim"}

PRINCIPAL = Decimal("1234.56")
PENALTY_LINES = [
    PenaltyLine(start=dt.date(2026, 3, 2), end=dt.date(2026, 6, 30), days=121, base=PRINCIPAL,
                rate_percent=Decimal("12.15"), amount=Decimal("49.73")),
    PenaltyLine(start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 15), days=15, base=PRINCIPAL,
                rate_percent=Decimal("12.15"), amount=Decimal("6.17")),
]
INSTALMENTS = [
    Instalment(due_date=dt.date(2026, 8, 15), amount=Decimal("617.28")),
    Instalment(due_date=dt.date(2026, 9, 15), amount=Decimal("617.28")),
]


def make_context(kind: str, *, language: str = "fr", debtor_name: str = "Dupont & <Fils>", **overrides) -> LetterContext:
    debtor = Debtor(debtor_id="D-42", name=debtor_name, email="compta@dupont.example", language=language,
                    siren="987654321", address="5 avenue des Tests, 75011 Paris", insured=True,
                    credit_limit=Decimal("10000"))
    invoice = Invoice(number="F-2026-0042", debtor=debtor, issue_date=dt.date(2026, 1, 30),
                      due_date=dt.date(2026, 3, 1), amount_incl_tax=PRINCIPAL, amount_excl_tax=Decimal("1028.80"),
                      purchase_order="BC-77")
    creditor = Creditor(name="Fournisseur Exemple SAS", address="12 rue de l'Industrie, 69003 Lyon",
                        siren="123456789", email="compta@fournisseur.example", phone="04 72 00 00 00",
                        iban="FR76 3000 6000 0112 3456 7890 189")
    fields = dict(
        kind=kind, language=language, today=dt.date(2026, 7, 15), invoice=invoice, creditor=creditor,
        rule_id="amicable-j+30", policy_ref="default@v1", principal_due=PRINCIPAL,
        penalties_due=Decimal("55.90"), indemnity_due=Decimal("40.00"), penalty_lines=PENALTY_LINES,
        deadline=dt.date(2026, 7, 31), days_late=136, instalments=INSTALMENTS, instalment=INSTALMENTS[0],
        note="Appeler le client, proposer un échéancier", recipient="",
        expected_indemnity=Decimal("925.92"),
        attachments=["Facture F-2026-0042", "Bon de commande BC-77", "Mise en demeure LRAR du 01/06/2026"],
    )
    return LetterContext(**(fields | overrides))


def _amount(text: str, amount: str) -> bool:
    """French amount whatever the no-break spaces: 1 234,56 €."""
    euros, cents = amount.split(",")
    spaced = r"[\s\u202f\u00a0]?".join(re.escape(d) for d in re.findall(r"\d{1,3}", euros))
    return re.search(spaced + "," + cents + r"[\s\u202f\u00a0]?€", text) is not None


def test_amounts_use_the_exact_french_format():
    email = render_email(make_context("reminder_overdue"))
    expected = format_eur(PRINCIPAL)
    assert _amount(expected, "1 234,56")  # the helper agrees with money.py
    for part in (email.subject, email.html, email.text):
        assert "F-2026-0042" in part
        assert "01/03/2026" in part  # due date as DD/MM/YYYY
    assert expected in email.html and expected in email.text
    assert "1234.56" not in email.html + email.text  # never the raw Decimal


@pytest.mark.parametrize("kind", sorted(EMAIL_KINDS))
def test_every_email_kind_renders(kind):
    email = render_email(make_context(kind))
    assert email.subject and "\n" not in email.subject
    assert "F-2026-0042" in email.subject + email.text
    assert "F-2026-0042" in email.html
    for part in (email.html, email.text):
        assert re.search(r"\b\d{2}/\d{2}/\d{4}\b", part)
        assert "€" in part
        assert "amicable-j+30" in part and "default@v1" in part  # audit trail
    assert "<!-- relance rule=amicable-j+30 policy=default@v1" in email.html
    assert email.html.lstrip().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("kind", sorted(DOCUMENT_KINDS))
def test_every_document_kind_is_a_printable_a4_page(kind):
    page = render_document(make_context(kind))
    assert page.lstrip().startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "size: A4" in page and "@page" in page
    assert "F-2026-0042" in page and format_eur(PRINCIPAL) in page
    assert "Fournisseur Exemple SAS" in page and "123456789" in page
    assert "Lyon, le 15 juillet 2026" in page  # place and long date


def test_courtesy_reminder_announces_the_due_date():
    email = render_email(make_context("reminder_courtesy", penalties_due=Decimal(0), indemnity_due=Decimal(0)))
    assert "votre facture n° F-2026-0042" in email.text
    assert "arrive à échéance le 01/03/2026" in email.text


def test_firm_reminder_warns_and_offers_a_way_out():
    text = render_email(make_context("reminder_firm")).text
    assert "sans règlement de votre part, une procédure de recouvrement sera engagée" in text.lower()
    assert "échéancier" in text and "Médiateur des entreprises" in text


def _assert_notice(part: str):
    assert "mise en demeure" in part.lower()
    assert "Fournisseur Exemple SAS" in part and "123456789" in part and "69003 Lyon" in part
    assert "F-2026-0042" in part and "30/01/2026" in part and "01/03/2026" in part
    for line in PENALTY_LINES:
        assert format_eur(line.amount) in part
        assert format_date_fr(line.start) in part and format_date_fr(line.end) in part
    assert "12,15" in part
    assert "L441-10" in part and "D441-5" in part
    assert format_eur(Decimal("40.00")) in part
    assert format_eur(PRINCIPAL + Decimal("55.90") + Decimal("40.00")) in part  # total 1 330,46 €
    assert "31/07/2026" in part  # deadline
    assert "FR76 3000 6000 0112 3456 7890 189" in part
    assert "sans autre avis" in part.lower()


def test_mise_en_demeure_email_has_every_legal_element():
    email = render_email(make_context("mise_en_demeure"))
    assert "mise en demeure" in email.subject.lower()
    _assert_notice(email.text)
    _assert_notice(email.html)
    assert "Dupont &amp; &lt;Fils&gt;" in email.html and "Dupont & <Fils>" in email.text


def test_mise_en_demeure_letter_is_a_registered_letter():
    page = render_document(make_context("mise_en_demeure"))
    _assert_notice(page)
    assert "Lettre recommandée avec accusé de réception" in page


@pytest.mark.parametrize(("kind", "missing"), [
    ("mise_en_demeure", {"deadline": None}),
    ("instalment_reminder", {"instalment": None}),
    ("plan_accepted", {"instalments": []}),
    ("ops_task", {"note": ""}),
])
def test_a_letter_missing_its_key_fact_fails_instead_of_printing_a_blank(kind, missing):
    # Permanent: the same context and template fail the same way on every retry.
    with pytest.raises(PermanentFailure, match=f"template fr/{kind}") as caught:
        render_email(make_context(kind, **missing))
    assert isinstance(caught.value.__cause__, jinja2.UndefinedError)


def _sparse_context(kind: str) -> LetterContext:
    """Only what the ledger always has: no penalties yet, no IBAN, no debtor SIREN, nothing optional."""
    ctx = make_context(kind, penalties_due=Decimal(0), indemnity_due=Decimal(0), penalty_lines=[], days_late=0,
                       attachments=[], expected_indemnity=None)
    debtor = Debtor(debtor_id="D-1", name="Martin SARL", email="a@martin.example", address="1 rue Haute, 31000 Toulouse")
    invoice = ctx.invoice.model_copy(update={"debtor": debtor, "amount_excl_tax": None, "purchase_order": ""})
    creditor = ctx.creditor.model_copy(update={"iban": "", "phone": "", "address": "Zone artisanale"})
    return ctx.model_copy(update={"invoice": invoice, "creditor": creditor})


@pytest.mark.parametrize("kind", sorted(EMAIL_KINDS | DOCUMENT_KINDS))
def test_optional_facts_may_be_missing(kind):
    ctx = _sparse_context(kind)
    parts = [render_document(ctx)] if kind in DOCUMENT_KINDS else []
    if kind in EMAIL_KINDS:
        email = render_email(ctx)
        parts += [email.subject, email.html, email.text]
    joined = "".join(parts)
    assert "Martin SARL" in joined
    assert "None" not in joined and "SIREN ," not in joined
    if kind in DOCUMENT_KINDS:
        assert "Le 15 juillet 2026" in parts[0]  # no city to print before the date


def test_uninsured_debtor_is_told_about_court_action():
    ctx = make_context("mise_en_demeure")
    uninsured = ctx.invoice.debtor.model_copy(update={"insured": False})
    ctx = ctx.model_copy(update={"invoice": ctx.invoice.model_copy(update={"debtor": uninsured})})
    text = render_email(ctx).text
    assert "injonction de payer" in text and "assureur" not in text


def test_instalment_emails_list_the_plan():
    reminder = render_email(make_context("instalment_reminder"))
    assert "617,28" in reminder.subject and "15/08/2026" in reminder.subject
    plan = render_email(make_context("plan_accepted")).text
    assert "15/08/2026" in plan and "15/09/2026" in plan and "1/2" in plan and "2/2" in plan
    assert f"Total : {format_eur(PRINCIPAL)}" in plan


def test_thank_you_closes_the_case():
    text = render_email(make_context("thank_you", principal_due=Decimal(0))).text
    assert "soldé" in text and format_eur(PRINCIPAL) in text


def test_ops_task_carries_note_amounts_and_rule():
    email = render_email(make_context("ops_task", recipient="Équipe recouvrement"))
    assert "Appeler le client, proposer un échéancier" in email.text
    assert "Dupont & <Fils>" in email.text and "987654321" in email.text
    assert format_eur(Decimal("1330.46")) in email.text
    assert "amicable-j+30 (default@v1)" in email.text


def test_insurer_claim_email_and_file():
    ctx = make_context("insurer_claim", recipient="Assureur-crédit, service sinistres")
    email = render_email(ctx)
    page = render_document(ctx)
    for part in (email.text, page):
        assert "déclaration de menace de sinistre" in part.lower()
        assert format_eur(Decimal("1028.80")) in part  # excl. tax: what the insurer covers
        assert format_eur(Decimal("925.92")) in part  # expected indemnity
        assert "Mise en demeure LRAR du 01/06/2026" in part
    assert format_eur(PRINCIPAL) in page and "136 jours" in page and "987654321" in page


def test_injonction_request_for_the_court():
    page = render_document(make_context("injonction_request"))
    assert "Requête en injonction de payer" in page
    assert "tribunal de commerce" in page and "tribunal des activités économiques" in page
    assert "1405" in page and "Code de procédure civile" in page
    for line in PENALTY_LINES:
        assert format_eur(line.amount) in page
    assert format_eur(Decimal("40.00")) in page and format_eur(Decimal("1330.46")) in page
    assert "<li>Bon de commande BC-77</li>" in page
    assert "Dupont &amp; &lt;Fils&gt;" in page and "75011 Paris" in page


def test_small_claims_request_for_a_commissaire_de_justice():
    page = render_document(make_context("small_claims_request"))
    assert "procédure simplifiée de recouvrement des petites créances" in page
    assert "commissaire de justice" in page.lower() and "L125-1" in page
    assert format_eur(Decimal("1330.46")) in page and "<li>Facture F-2026-0042</li>" in page


def test_english_debtor_gets_english_email():
    email = render_email(make_context("reminder_overdue", language="en"))
    assert "Reminder: invoice no. F-2026-0042" in email.subject
    assert "we have not yet received payment" in email.text
    assert '<html lang="en">' in email.html
    notice = render_email(make_context("mise_en_demeure", language="en"))
    assert "mise en demeure" in notice.text.lower() and "31/07/2026" in notice.text


@pytest.mark.parametrize("language, words", [
    ("fr", ("Mise en demeure de payer : 2 factures", "Relevé de compte au 15/07/2026", "avoir AV-9 du 01/07/2026",
            "SOLDE NET DÛ", "du 02/03/2026 au 30/06/2026 : 121 jours")),
    ("en", ("Formal notice to pay (mise en demeure): 2 invoices", "Statement of account on 15/07/2026",
            "credit note AV-9 of 01/07/2026", "NET BALANCE DUE", "from 02/03/2026 to 30/06/2026: 121 days")),
])
def test_a_customers_notice_lists_its_invoices_and_credits_in_the_debtors_language(language, words):
    from domain.letters import AccountCredit, AccountLine

    lines = [AccountLine(number=f"F-2026-00{n}", issue_date=dt.date(2026, 1, 30), due_date=dt.date(2026, 3, 1),
                         days_late=136, amount_incl_tax=PRINCIPAL, principal_due=PRINCIPAL,
                         penalties_due=Decimal("55.90"), indemnity_due=Decimal("40.00"), penalty_lines=PENALTY_LINES)
             for n in (42, 43)]
    credit = AccountCredit(reference="AV-9", kind="credit_note", on=dt.date(2026, 7, 1), amount=Decimal("100.00"))
    email = render_email(make_context("mise_en_demeure", language=language, account_lines=lines, credits=[credit]))
    subject_and_body = email.subject + "\n" + email.text
    for word in words:
        assert word in subject_and_body, word
    assert f'<html lang="{language}">' in email.html and "F-2026-0043" in email.html
    assert _amount(email.subject, "2 560,92"), "two invoices of 1 330,46 € less the 100 € credit note"
    letter = render_document(make_context("mise_en_demeure", language=language, account_lines=lines, credits=[credit]))
    assert words[1] in letter and f'<html lang="{language}">' in letter, "the printed notice too, all of it"


def test_french_fallback_when_no_english_variant():
    email = render_email(make_context("ops_task", language="en"))
    assert "Une action manuelle est attendue" in email.text
    assert '<html lang="fr">' in email.html
    page = render_document(make_context("injonction_request", language="en"))  # for a French court: French
    assert "Lyon, le 15 juillet 2026" in page and '<html lang="fr">' in page  # French long date in a French letter


@pytest.mark.parametrize("kind", sorted(REMINDER_KINDS | {"mise_en_demeure"}))
def test_an_english_speaking_debtor_gets_its_printed_letter_in_english_like_its_email(kind):
    """The PDF attached to an English email, or posted, is not a French letter: every word of the page is English,
    the amounts and dates as the email writes them."""
    page = render_document(make_context(kind, language="en"))
    assert '<html lang="en">' in page and "London" not in page
    assert "Lyon, 15 July 2026" in page and "For Fournisseur Exemple SAS" in page and "Ref. F-2026-0042" in page
    assert "Yours faithfully" in page and "this letter" in page.lower()
    for wrong in ("Madame", "Objet", "facture", "Pour ", " le 15", "Réf.", "courrier", "message", "email", "Hello"):
        assert wrong not in page, wrong  # French words, or an email's words on paper


def test_html_escapes_the_debtor_name_and_text_does_not():
    email = render_email(make_context("reminder_overdue"))
    assert "Dupont &amp; &lt;Fils&gt;" in email.html and "<Fils>" not in email.html
    assert "Dupont & <Fils>" in email.text and "&amp;" not in email.text


def test_strict_undefined_raises_on_a_missing_variable(tmp_path, monkeypatch):
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "broken.subject.txt").write_text("Facture {{ invoice.number }} {{ no_such_variable }}")
    (tmp_path / "fr" / "broken.html").write_text("<p>{{ invoice.number }}</p>")
    (tmp_path / "fr" / "broken.txt").write_text("{{ invoice.number }}")
    env = make_environment(tmp_path)
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("fr/broken.subject.txt").render(invoice={"number": "X"})
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(tmp_path))
    with pytest.raises(PermanentFailure, match="fr/broken.subject.txt.*no_such_variable"):
        render_email(make_context("broken"))
    assert available_templates() == {"broken"}


def test_filters_in_a_factory_environment(tmp_path):
    (tmp_path / "t.txt").write_text("{{ a|eur }} | {{ d|date }} | {{ d|long_date }}")
    out = make_environment(tmp_path).get_template("t.txt").render(a=Decimal("1234.5"), d=dt.date(2026, 11, 22))
    assert out == f"{format_eur(Decimal('1234.5'))} | 22/11/2026 | 22 novembre 2026"


def test_available_templates_cover_every_kind():
    assert available_templates() >= EMAIL_KINDS | DOCUMENT_KINDS
    assert "partials" not in available_templates()
    for kind in EMAIL_KINDS:
        assert template_exists(kind, "fr")
        assert template_exists(kind, "en") is (kind not in FR_ONLY_EMAILS)
    assert not template_exists("injonction_request", "en")
    assert not template_exists("no_such_kind")


def test_missing_kind_is_a_clear_error():
    with pytest.raises(jinja2.TemplateNotFound):
        render_email(make_context("no_such_kind"))


def test_an_edited_or_added_template_is_used_once_its_freshness_delay_has_passed(tmp_path, monkeypatch):
    from activities import rendering

    def write(language: str, subject: str) -> None:
        (tmp_path / language).mkdir(exist_ok=True)
        (tmp_path / language / "note.subject.txt").write_text(subject)
        (tmp_path / language / "note.html").write_text("<p>{{ invoice.number }}</p>")
        (tmp_path / language / "note.txt").write_text("{{ invoice.number }}")

    write("fr", "Première version")
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(tmp_path))
    monkeypatch.setattr(rendering, "FRESH_SECONDS", 3600.0)
    assert render_email(make_context("note", language="en")).subject == "Première version"
    write("fr", "Seconde version")
    write("en", "English version")
    assert render_email(make_context("note", language="en")).subject == "Première version"  # within the delay
    monkeypatch.setattr(rendering, "FRESH_SECONDS", 0.0)
    assert render_email(make_context("note", language="en")).subject == "English version"
    assert render_email(make_context("note")).subject == "Seconde version"


@pytest.mark.parametrize("kind", sorted(REMINDER_KINDS))
def test_a_reminder_by_post_is_the_emails_body_in_a_letters_words(kind):
    ctx = make_context(kind)
    page, email = render_document(ctx), render_email(ctx)
    assert "courriel" not in page and "Bonjour" not in page
    assert "Madame, Monsieur," in page and "salutations distinguées" in page
    assert "Objet :" in page and "du 30/01/2026" in page  # the invoice's issue date
    assert "IBAN" in page and "IBAN" in email.html  # the same payment details as the email
