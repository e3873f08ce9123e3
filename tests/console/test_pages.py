"""The read pages' figures from the read model, fed with statuses of cases played in memory (domain.playback):
aging buckets, customers over their limit, cash collected this month, what falls due; the worklist's marks;
refusals said in French."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from console import i18n, pages
from console.readmodel import ReadModel, euros
from console.store import Mark, Store
from domain import transitions
from domain.case import DisputeRequest, Payment
from domain.decisions import status_of
from domain.playback import Playback
from domain.rule_file import load_policy_file
from relance.config import ROOT
from tests.clock import start_moment
from tests.lifecycle.scenario import invoice

TODAY = dt.date(2027, 3, 10)
NOW = start_moment(TODAY) + dt.timedelta(hours=4)
POLICY = load_policy_file(ROOT / "rules" / "default.yaml")


def _status(case_invoice, *, paid: str | None = None):
    """The case opened the day it was issued, played up to now, with a payment today if asked."""
    case = Playback(case_invoice, POLICY, start_moment(case_invoice.issue_date))
    case.advance(NOW)
    if paid:
        refusal = case.message(NOW, lambda s, p, at: (None, transitions.record_payment(s, p, Payment(amount=Decimal(paid)), at)[0]))
        assert refusal == "accepted", refusal
    return status_of(case.s, case.policy, NOW)


def _model(tmp_path) -> tuple[ReadModel, Store]:
    store = Store(tmp_path / "console.sqlite3")
    model = ReadModel(tmp_path / "read.sqlite3")
    model.attach_marks(store.path)
    return model, store


def test_dashboard_and_customers_from_the_read_model(tmp_path):
    model, _ = _model(tmp_path)
    early = invoice(today=TODAY, due_in_days=10, amount="1000.00")
    late = invoice(today=TODAY, due_date=TODAY - dt.timedelta(days=40), amount="2000.00", excl="1800.00",
                   credit_limit="1200.00")
    older = invoice(today=TODAY, due_date=TODAY - dt.timedelta(days=100), amount="3000.00")
    for status in (_status(early), _status(late, paid="500.00"), _status(older)):
        model.put(status, NOW)

    board = pages.dashboard(model, TODAY)
    assert board.open_cases == 3
    buckets = {key: amount for key, _, amount in board.by_bucket}
    assert buckets["not_due"] == Decimal("1000.00")
    assert buckets["31-60"] > Decimal("1500.00"), "2000 less 500 paid (first to penalties and the indemnity)"
    assert buckets["90+"] > Decimal("3000.00"), "penalties and the €40 indemnity count in what is due"
    assert buckets["1-30"] == buckets["61-90"] == 0
    assert board.collected_this_month == Decimal("500.00")
    monday = early.due_date - dt.timedelta(days=early.due_date.weekday())
    assert board.falling_due == [(monday, Decimal("1000.00"))]

    times = board.times
    open_principal = sum(euros(row[0]) for row in model.db.execute("SELECT principal_due FROM cases"))
    assert times.dso == (open_principal * 90 / Decimal("3000.00")).quantize(Decimal("0.1")), \
        "what is still due over what was invoiced in 90 days (the older invoice was issued 130 days ago)"
    assert (times.paid_after_issue, times.paid_after_due) == (Decimal("70.0"), Decimal("40.0")), "the 500 € paid today"
    assert Decimal("40") < times.days_late < Decimal("100"), "weighted between the 40- and 100-day-late invoices"

    listed, count = pages.customers(model, TODAY)
    found = {c.debtor_id: c for c in listed}
    assert count == 3
    over = found[late.debtor.debtor_id]
    assert Decimal("1200.00") < over.exposure_excl_tax < over.total_due, "principal left after the payment, excluding tax"
    assert over.over_limit == over.exposure_excl_tax - Decimal("1200.00"), \
        "the limit is compared with the principal due excluding tax, as the insurer covers it"
    assert found[older.debtor.debtor_id].over_limit is None, "no limit, never over it"
    assert over.max_days_late == 40
    assert [c.debtor_id for c in pages.customers(model, TODAY, search=older.number)[0]] == [older.debtor.debtor_id], \
        "search by invoice number finds its customer"
    assert pages.customers(model, TODAY, search="nobody-has-this") == ([], 0)
    assert [c.debtor_id for c in pages.customers(model, TODAY, sort="late")[0]][0] == older.debtor.debtor_id


async def _dashboard_html(folder) -> str:
    """The dashboard page as a read-only user gets it, from the read model in `folder`."""
    import httpx

    from console.app import Console, Settings, create_app

    async def no_temporal():
        raise AssertionError("the dashboard reads the read model only")

    console = Console(Settings(store_path=folder / "console.sqlite3", read_model_path=folder / "read.sqlite3",
                               refresh_seconds=0, rules_dir=folder), client=no_temporal, today=lambda: TODAY)
    console.store.add_user("lecture", "lecture", "read", "un mot de passe assez long", NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(console, refresher=False)),
                                 base_url="http://console.test") as client:
        signed_in = await client.post("/login", data={"login": "lecture", "password": "un mot de passe assez long",
                                                      "next": "/"})
        assert signed_in.status_code == 303, signed_in.text
        page = await client.get("/dashboard")
        assert page.status_code == 200, page.text
        return page.text


def _paid_on(case_invoice, payments: list[tuple[dt.date, str | None]]):
    """The case played up to now, paying on each day (None: the whole total due that day)."""
    case = Playback(case_invoice, POLICY, start_moment(case_invoice.issue_date))
    for day, amount in payments:
        at = start_moment(day) + dt.timedelta(hours=4)
        case.advance(at)
        paid = Decimal(amount) if amount else status_of(case.s, case.policy, at).total_due
        refusal = case.message(at, lambda s, p, now: (None, transitions.record_payment(s, p, Payment(amount=paid), now)[0]))
        assert refusal == "accepted", refusal
    case.advance(NOW)
    return status_of(case.s, case.policy, NOW)


async def test_the_dso_at_each_month_end_reads_what_was_due_then(tmp_path):
    model, _ = _model(tmp_path)
    a = invoice(today=TODAY, due_date=dt.date(2026, 11, 14), amount="3000.00")  # issued 15/10, paid 20/01
    d = invoice(today=TODAY, due_date=dt.date(2026, 12, 1), amount="4000.00")  # issued 01/11, paid 05/12
    b = invoice(today=TODAY, due_date=dt.date(2027, 1, 20), amount="2000.00")  # issued 21/12, 500 paid 15/02
    c = invoice(today=TODAY, due_date=dt.date(2027, 3, 20), amount="1000.00")  # issued 18/02
    for status in (_paid_on(a, [(dt.date(2027, 1, 20), None)]), _paid_on(d, [(dt.date(2026, 12, 5), None)]),
                   _paid_on(b, [(dt.date(2027, 2, 15), "500.00")]), _paid_on(c, [])):
        model.put(status, NOW)

    trend = pages.dso_trend(model, TODAY)
    assert [day for day, _ in trend] == [dt.date(2026, 9, 30), dt.date(2026, 10, 31), dt.date(2026, 11, 30),
                                         dt.date(2026, 12, 31), dt.date(2027, 1, 31), dt.date(2027, 2, 28), TODAY]
    values = [value for _, value in trend]
    assert values[0] is None, "nothing invoiced in the 90 days before: no DSO, not zero"
    assert values[1:5] == [Decimal("90.0"), Decimal("90.0"), Decimal("50.0"), Decimal("90.0")], \
        "end of December: 5 000 € still due of 9 000 € invoiced since October (the November invoice paid on 05/12)"
    assert Decimal("75.0") < values[5] < Decimal("90.0"), \
        "the 500 € of 15/02 went to the penalties and the indemnity first: less than 500 € of principal settled"
    assert values[6] == pages.payment_times(model, TODAY).dso, "today's point is the headline figure"
    html = await _dashboard_html(tmp_path)
    trend = html[html.index('id="dso-trend"'):]
    trend = trend[:trend.index("</table>")]
    assert "fin 12/2026" in trend and "50,0\u00a0j" in trend and "aujourd&#39;hui" in trend


def test_the_worklist_hides_what_is_done_and_what_is_postponed_until_its_day(tmp_path):
    model, store = _model(tmp_path)
    case = invoice(today=TODAY, due_date=TODAY - dt.timedelta(days=31), amount="1200.00")
    model.put(_status(case), NOW)  # the J+30 reminder raised a call
    items, counts = pages.worklist(model, TODAY)
    call = next(i for i in items if i.kind == "call")
    assert call.invoice == case.number and call.rule_id == "amicable-j+30" and counts["call"] == 1

    def keys(day=TODAY, **options):
        return [i.key for i in pages.worklist(model, day, **options)[0]]

    store.mark(Mark(case.number, call.key, "postponed", TODAY + dt.timedelta(days=2), "rappeler jeudi", "olivia", NOW))
    assert call.key not in keys()
    assert call.key in keys(TODAY + dt.timedelta(days=2)), "a postponed item comes back on its day"
    store.mark(Mark(case.number, call.key, "done", None, "", "olivia", NOW))
    assert call.key not in keys(TODAY + dt.timedelta(days=2))
    shown = pages.worklist(model, TODAY, show_done=True)[0]
    assert [i.mark.state for i in shown if i.key == call.key] == ["done"], "still listed, with its mark, on request"
    assert keys(kind="letter", show_done=True) == [] and call.key in keys(kind="call", show_done=True)


def test_an_insured_customer_past_its_limit_or_whose_limit_was_lowered_is_on_the_worklist(tmp_path):
    model, store = _model(tmp_path)
    first = invoice(today=TODAY, due_date=TODAY - dt.timedelta(days=20), amount="6000.00", excl="5000.00",
                    insured=True, credit_limit="20000")
    first = first.model_copy(update={"debtor": first.debtor.model_copy(update={"credit_limit_on": dt.date(2026, 1, 5)})})
    second = invoice(today=TODAY, due_in_days=10, amount="6000.00", excl="5000.00").model_copy(update={
        "debtor": first.debtor.model_copy(update={"credit_limit": Decimal("9000"), "credit_limit_on": dt.date(2027, 2, 1)})})
    for case in (first, second):
        model.put(_status(case), NOW)
    model.put(_status(invoice(today=TODAY, due_date=TODAY - dt.timedelta(days=20), credit_limit="100000")), NOW)

    items, counts = pages.worklist(model, TODAY)
    exposure = [i for i in items if i.kind == "exposure"]
    assert counts["exposure"] == 2 and items[:2] == exposure, "a customer's credit risk comes first"
    assert {i.invoice for i in exposure} == {"client:" + first.debtor.debtor_id}
    assert "abaissée le 01/02/2027" in exposure[0].text and "au-delà de la limite" in exposure[1].text
    over = pages.customers(model, TODAY)[0]
    assert [c.credit_limit for c in over if c.debtor_id == first.debtor.debtor_id] == [Decimal("9000")], \
        "the customer's limit is its latest decision's"

    store.mark(Mark(exposure[1].invoice, exposure[1].key, "done", None, "assureur appelé", "olivia", NOW))
    assert [i.key for i in pages.worklist(model, TODAY, kind="exposure")[0]] == [exposure[0].key]
    raised = second.model_copy(update={"debtor": second.debtor.model_copy(update={"credit_limit": Decimal("8000")})})
    model.put(_status(raised), NOW)
    assert len(pages.worklist(model, TODAY, kind="exposure")[0]) == 2, "a new limit is a new decision to take"


def test_bank_entries_waiting_for_ops_are_on_the_worklist_until_marked(tmp_path):
    from bank.entries import BankEntry
    from bank.store import open_store

    model, store = _model(tmp_path)
    bank = open_store(tmp_path / "bank.sqlite3")
    credit = BankEntry(ref="ACSR-7", account="FR76", kind="credit", amount=Decimal("1250.00"), booked_on=TODAY,
                       value_on=TODAY, name="GARAGE FONTAINE", remittance="VIR FACT 301 ET 302")
    returned = BankEntry(ref="ACSR-8", account="FR76", kind="return", amount=Decimal("500.00"), booked_on=TODAY,
                         value_on=TODAY, name="BATI OUEST", return_reason="AM04")
    matched = BankEntry(ref="ACSR-9", account="FR76", kind="credit", amount=Decimal("80.00"), booked_on=TODAY,
                        value_on=TODAY)
    bank.add([credit, returned, matched], "releve.xml")
    bank.set_status("ACSR-7", "unmatched", "montant ne correspond à aucune combinaison", candidates=["FA-301", "FA-302"])
    bank.set_status("ACSR-9", "matched", "référence citée")

    items, counts = pages.worklist(model, TODAY, bank=bank.with_status("unmatched", "return"))
    assert counts["bank"] == 2 and [i.invoice for i in items] == ["banque:ACSR-7", "banque:ACSR-8"]
    assert "Virement de 1" in items[0].text and "« VIR FACT 301 ET 302 »" in items[0].text
    assert "factures possibles : FA-301, FA-302 — relance bank match ACSR-7 FACTURE" in items[0].text
    assert items[1].text.startswith("Rejet de 500,00") and items[1].debtor_name == "BATI OUEST"

    store.mark(Mark("banque:ACSR-7", "bank:unmatched", "done", None, "vu avec le client", "olivia", NOW))
    left, _ = pages.worklist(model, TODAY, kind="bank", bank=bank.with_status("unmatched", "return"))
    assert [i.invoice for i in left] == ["banque:ACSR-8"]


def test_a_dispute_past_its_review_date_is_on_the_worklist(tmp_path):
    model, _ = _model(tmp_path)
    case = Playback(invoice(today=TODAY, due_in_days=-5), POLICY, start_moment(TODAY - dt.timedelta(days=35)))
    opened = NOW - dt.timedelta(days=20)
    request = DisputeRequest(reason="Prix contesté", review_by=TODAY - dt.timedelta(days=3))
    assert case.message(opened, lambda s, p, at: (None, transitions.open_dispute(s, p, request, at))) == "accepted"
    model.put(status_of(case.s, case.policy, NOW), NOW)
    disputes = [i for i in pages.worklist(model, TODAY)[0] if i.kind == "dispute"]
    assert disputes and "Litige à revoir" in disputes[0].text


def test_refusals_are_said_in_french_and_unknown_ones_kept_as_they_came():
    assert i18n.refusal("payment dated 12/03/2027, in the future", "fr") == "règlement daté du 12/03/2027, dans le futur"
    assert i18n.refusal("the case is closed (paid)", "fr") == "le dossier est clos (paid)"
    assert i18n.refusal("the case is closed (paid)", "en") == "the case is closed (paid)"
    assert i18n.refusal("something new", "fr") == "something new"


def test_the_cases_refusals_have_a_french_wording():
    """The refusals the core says, found in its source: each is matched by a French wording."""
    import inspect
    import re

    source = inspect.getsource(transitions)
    said = [re.sub(r"\{[^}]*\}", "x1", text) for text in re.findall(r'return f?"([^"]{12,})"', source)]
    assert len(said) >= 15
    untranslated = [text for text in said if i18n.refusal(text, "fr") == text]
    assert untranslated == []


def test_why_a_plan_is_refused_is_said_in_french_too():
    """The reasons domain/schedule.plan_refusal gives, inside the case's "plan refused: ...", all in French."""
    import inspect
    import re

    from domain import schedule

    source = inspect.getsource(schedule.plan_refusal)
    reasons = [re.sub(r"\{[^}]*\}", "x1", text) for text in re.findall(r'return f?"([^"]{12,})"', source)]
    assert len(reasons) >= 7
    said = [i18n.refusal(f"plan refused: {reason}", "fr") for reason in reasons]
    assert all(text.startswith("échéancier refusé : ") for text in said), said
    assert [text for text, reason in zip(said, reasons) if reason in text] == [], "the reason itself in French"
    assert i18n.refusal("plan refused: 9 instalments, the policy allows at most 6", "fr") == \
        "échéancier refusé : 9 échéances, la politique en permet au plus 6"


def test_a_message_from_ops_signs_the_audit_lines_it_causes():
    case = Playback(invoice(today=TODAY, due_in_days=-5), POLICY, start_moment(TODAY - dt.timedelta(days=35)))
    before = len(case.s.audit)
    payment = Payment(amount=Decimal("100.00"), by="olivia")
    outcome, _ = transitions.record_payment(case.s, case.policy, payment, NOW)
    signed = transitions.signed(outcome, payment.by)
    assert signed.effects and {e.action.by for e in signed.effects} == {"olivia"}
    assert transitions.signed(outcome, "") is outcome, "no name, nothing to sign"
    assert len(case.s.audit) == before, "the transition leaves the state it was given untouched"


def test_a_forms_field_problems_are_said_in_french():
    from console import i18n

    said = {message: i18n.refusal(message, "fr") for message in (
        "adresse: contains the control character U+0007", "pays: String should match pattern '^[A-Z]{2}$'",
        "motif: String should have at least 3 characters",
        "the debtor's contact details already read so: nothing to change")}
    assert list(said.values()) == ["adresse : contient le caractère de contrôle U+0007",
                                   "pays : un code à deux lettres (FR, BE, DE...) ou le nom du pays",
                                   "motif : 3 caractères au moins",
                                   "les coordonnées du débiteur sont déjà celles-ci : rien à changer"]
