"""A customer's account from its cases' statuses: aging, exposure against the credit limit, credits, next contact."""
import datetime as dt
import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import account
from domain.case import CaseState
from domain.debtor_account import AGING_BUCKETS, aging_bucket, debtor_account
from domain.decisions import status_of
from domain.invoice import Debtor, Invoice
from domain.policy import Stage
from domain.statement import Entry
from tests.unit.test_schedule import POLICY

AS_OF = dt.date(2027, 3, 10)
NOW = dt.datetime(2027, 3, 10, 11, tzinfo=dt.timezone.utc)  # the cases' clock: noon in Paris on AS_OF
ZERO = Decimal("0.00")


def a_status(number: str, *, days_late: int, amount: str = "1200.00", excl: str | None = "1000.00",
             entries: tuple = (), closed: bool = False, limit: str | None = "10000", limit_on: dt.date | None = None,
             disputed: bool = False):
    due = AS_OF - dt.timedelta(days=days_late)
    debtor = Debtor(debtor_id="CLI-1", name="Dupont SARL", email="ap@dupont.example", insured=limit is not None,
                    credit_limit=Decimal(limit) if limit else None, credit_limit_on=limit_on)
    invoice = Invoice(number=number, debtor=debtor, issue_date=due - dt.timedelta(days=30), due_date=due,
                      amount_incl_tax=Decimal(amount), amount_excl_tax=Decimal(excl) if excl else None)
    s = CaseState(invoice=invoice, opened_at=NOW - dt.timedelta(days=400), principal=invoice.amount_incl_tax,
                  accrued_through=due)
    for kind, offset, value in entries:
        account.book(s, Entry(kind=kind, on=min(AS_OF, due + dt.timedelta(days=offset)), amount=Decimal(value)))
    account.refresh(s, POLICY, AS_OF)
    if closed:
        s.stage, s.closed_reason = Stage.closed, "paid"
    elif days_late > 0:
        s.stage = Stage.amicable
    if disputed:
        from domain.case import Dispute

        s.dispute = Dispute(reason="Livraison incomplète", opened_at=NOW, review_by=AS_OF + dt.timedelta(days=30))
    return status_of(s, POLICY, NOW, AS_OF)


def test_buckets_exposure_limit_and_next_contact_of_a_small_account():
    statuses = [
        a_status("F-1", days_late=-5),
        a_status("F-2", days_late=12),
        a_status("F-3", days_late=45, entries=(("payment", 10, "200.00"),)),
        a_status("F-4", days_late=95, disputed=True),
        a_status("F-5", days_late=70, closed=True, entries=(("payment", 0, "1300.00"),)),
    ]
    acc = debtor_account(statuses, AS_OF)
    assert [i.number for i in acc.invoices] == ["F-4", "F-3", "F-2", "F-1"], "open ones, oldest due date first"
    assert acc.aging == {"not_due": Decimal("1200.00"), "1-30": Decimal("1200.00"),
                         "31-60": acc.invoices[1].principal_due, "61-90": ZERO, "over_90": Decimal("1200.00")}
    assert acc.invoices[1].principal_due < Decimal("1200.00"), "the payment went to penalties, then principal"
    assert acc.exposure == sum(acc.aging.values())
    assert acc.overdue == acc.exposure - Decimal("1200.00")
    assert acc.exposure_excl_tax < acc.exposure and acc.credit_limit == Decimal("10000") and acc.over_limit is False
    assert acc.invoices[0].disputed and acc.oldest_days_late == 95
    assert [(c.kind, c.invoice, c.unapplied) for c in acc.credits] == [("payment", "F-5", Decimal("100.00"))], \
        "the closed invoice's overpayment is money on account"
    assert acc.net_balance == acc.total_due - Decimal("100.00")
    assert acc.next_contact is not None and acc.next_contact.policy_ref == POLICY.ref
    assert acc.next_contact.at == min(i.next_action.at for i in acc.invoices if i.next_action)


def test_the_latest_credit_limit_decision_wins_and_the_limit_is_compared_excluding_tax():
    old = a_status("F-1", days_late=10, amount="6000.00", excl="5000.00", limit="20000",
                   limit_on=dt.date(2026, 1, 5))
    lowered = a_status("F-2", days_late=3, amount="6000.00", excl="5000.00", limit="9000",
                       limit_on=dt.date(2027, 2, 1))
    acc = debtor_account([lowered, old], AS_OF)
    assert (acc.credit_limit, acc.credit_limit_on) == (Decimal("9000"), dt.date(2027, 2, 1))
    assert acc.exposure == Decimal("12000.00") and acc.exposure_excl_tax == Decimal("10000.00")
    assert acc.over_limit is True
    assert debtor_account([a_status("F-3", days_late=1, limit=None)], AS_OF).over_limit is None


def plain(text: str) -> str:
    """French amounts use narrow and non-breaking spaces: compared as plain spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_a_lowered_limit_and_the_exposure_past_it_are_alerts_with_their_figures():
    old = a_status("F-1", days_late=10, amount="6000.00", excl="5000.00", limit="20000", limit_on=dt.date(2026, 1, 5))
    lowered = a_status("F-2", days_late=3, amount="6000.00", excl="5000.00", limit="9000", limit_on=dt.date(2027, 2, 1))
    acc = debtor_account([old, lowered], AS_OF)
    assert [a.kind for a in acc.alerts] == ["limit_lowered", "over_limit"]
    assert plain(acc.alerts[0].text) == "Limite de crédit abaissée le 01/02/2027 de 20 000,00 € à 9 000,00 €"
    assert "Encours HT 10 000,00 € au-delà de la limite de crédit de 9 000,00 € (dépassement 1 000,00 €" in plain(acc.alerts[1].text)
    assert debtor_account([old], AS_OF).alerts == [], "one decision, exposure under it: nothing to watch"


def test_a_withdrawn_limit_is_an_alert_and_a_customer_never_insured_has_none():
    granted = a_status("F-1", days_late=10, limit="20000", limit_on=dt.date(2026, 1, 5))
    withdrawn = a_status("F-2", days_late=3, limit="0", limit_on=dt.date(2027, 2, 1))
    (alert,) = debtor_account([granted, withdrawn], AS_OF).alerts
    assert alert.kind == "limit_withdrawn" and "retirée par l'assureur le 01/02/2027 (elle était de 20 000,00 €)" in plain(alert.text)
    assert debtor_account([a_status("F-3", days_late=40, limit=None)], AS_OF).alerts == []
    undated = a_status("F-5", days_late=30, limit="20000")
    silent = a_status("F-4", days_late=2, limit=None)  # a later export, insured, without the limit columns
    invoice = silent.invoice.model_copy(update={"debtor": silent.invoice.debtor.model_copy(update={"insured": True})})
    silent = silent.model_copy(update={"invoice": invoice})
    assert debtor_account([undated, silent], AS_OF).alerts == [], "a limit not given is not a limit withdrawn"


def test_invoices_issued_after_the_threat_of_loss_notice_are_flagged_not_covered():
    from domain.case import TrackedStep

    claimed = a_status("F-1", days_late=100)
    claimed = claimed.model_copy(update={"path": "insurer_claim", "stage": Stage.insurer_claim,
                                         "procedure": [TrackedStep(name="filed", on=AS_OF - dt.timedelta(days=20))]})
    before = a_status("F-2", days_late=52)  # issued 82 days ago, before the claim
    after = a_status("F-3", days_late=-20)  # issued 10 days ago, after it
    acc = debtor_account([claimed, before, after], AS_OF)
    flags = {i.number: i.not_covered for i in acc.invoices}
    assert flags["F-1"] is None and flags["F-2"] is None
    assert flags["F-3"] == "non couverte: émise après la déclaration de menace de sinistre du 18/02/2027"
    assert [a.kind for a in acc.alerts] == ["not_covered"] and acc.alerts[0].text.endswith(": F-3")


def test_a_credit_note_larger_than_the_invoice_leaves_the_rest_on_account():
    acc = debtor_account([a_status("F-1", days_late=20, entries=(("credit_note", 2, "1500.00"),), closed=True),
                          a_status("F-2", days_late=20)], AS_OF)
    assert [(c.kind, c.amount, c.unapplied) for c in acc.credits] == [("credit_note", Decimal("1500.00"),
                                                                      Decimal("300.00"))]
    assert acc.unapplied == Decimal("300.00")


def test_bucket_edges():
    assert [aging_bucket(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "not_due", "not_due", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "over_90"]


money = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("90000.00"), places=2)
an_entry = st.tuples(st.sampled_from(["payment", "credit_note"]), st.integers(0, 200), money)


@st.composite
def statuses(draw):
    count = draw(st.integers(1, 7))
    found = []
    for n in range(count):
        amount = draw(money)
        excl = draw(st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"), max_value=amount, places=2)))
        found.append(a_status(
            f"F-{n}", days_late=draw(st.integers(-60, 400)), amount=str(amount), excl=str(excl) if excl else None,
            entries=tuple(draw(st.lists(an_entry, max_size=3))), closed=draw(st.booleans()),
            # An insured debtor's invoices carry their amount excluding tax (the ledger requires it).
            limit=draw(st.one_of(st.none(), st.sampled_from(["0", "5000", "50000"]))) if excl else None,
            disputed=draw(st.booleans())))
    return found


@settings(max_examples=150, deadline=None)
@given(statuses(), st.randoms(use_true_random=False))
def test_the_account_adds_up_whatever_the_cases(found, shuffle: random.Random):
    acc = debtor_account(found, AS_OF)
    open_ones = [s for s in found if s.stage is not Stage.closed]
    assert list(acc.aging) == list(AGING_BUCKETS)
    assert sum(acc.aging.values()) == acc.exposure == sum((s.principal_due for s in open_ones), ZERO)
    for bucket in AGING_BUCKETS:
        assert acc.aging[bucket] == sum((i.principal_due for i in acc.invoices if i.bucket == bucket), ZERO)
    assert acc.total_due == sum((s.total_due for s in open_ones), ZERO) == acc.exposure + acc.penalties_due
    assert ZERO <= acc.overdue <= acc.exposure and ZERO <= acc.exposure_excl_tax <= acc.exposure
    assert acc.unapplied == sum((s.overpaid for s in found), ZERO) + sum(
        (c.unapplied for c in acc.credits if c.kind == "credit_note"), ZERO)
    assert acc.net_balance == acc.total_due - acc.unapplied
    if acc.credit_limit is not None:
        assert acc.over_limit == (acc.exposure_excl_tax > acc.credit_limit)
    assert [i.due_date for i in acc.invoices] == sorted(i.due_date for i in acc.invoices)
    planned = [i.next_action.at for i in acc.invoices if i.next_action]
    assert (acc.next_contact.at if acc.next_contact else None) == (min(planned) if planned else None)
    shuffled = list(found)
    shuffle.shuffle(shuffled)
    assert debtor_account(shuffled, AS_OF) == acc, "the order the cases are read in changes nothing"


def test_the_account_in_a_terminal_says_what_to_watch_and_which_invoice_is_not_covered():
    from domain.case import TrackedStep
    from relance import views

    claimed = a_status("F-1", days_late=100).model_copy(update={
        "path": "insurer_claim", "stage": Stage.insurer_claim,
        "procedure": [TrackedStep(name="filed", on=AS_OF - dt.timedelta(days=20))]})
    acc = debtor_account([claimed, a_status("F-3", days_late=-20)], AS_OF)
    text = plain(views.debtor_text(acc))
    assert "À SURVEILLER     : 1 facture(s) émise(s) après la déclaration de menace de sinistre du 18/02/2027" in text
    assert [line for line in text.splitlines() if line.strip().startswith("F-3")][0].endswith("[non couverte]")
    assert "! 1 facture(s) émise(s) après" in plain(views.debtors_line(acc))


def test_what_the_customer_was_sent_is_one_line_per_message_naming_its_invoices():
    from domain.case import Action
    from domain.debtor_account import correspondence

    def sent(status, kind, step, at, refs, summary="Rappel"):
        line = Action(at=at, stage=Stage.amicable, kind=kind, step=step, rule_id="r", policy_ref="p", summary=summary,
                      refs=refs)
        return status.model_copy(update={"audit": [*status.audit, line]})

    one, two = a_status("F-1", days_late=10), a_status("F-2", days_late=10)
    shared = "account-CLI-1:2027-03-08:reminder:amicable-j+2"
    one = sent(one, "email", "reminder:amicable-j+2", NOW - dt.timedelta(days=2), ["<m1@relance>", shared])
    two = sent(two, "email", "reminder:amicable-j+2", NOW - dt.timedelta(days=2), ["<m1@relance>", shared])
    two = sent(two, "task", "reminder:amicable-j+30:call", NOW, [])
    one = sent(one, "email", "notice", NOW, ["<m2@relance>"], "Mise en demeure")
    one = sent(one, "letter", "notice", NOW, ["/docs/F-1/notice.pdf"], "Courrier mise_en_demeure à imprimer")
    one = sent(one, "letter", "reminder:amicable-j+2", NOW - dt.timedelta(days=2), ["/docs/F-1/j2.pdf", f"{shared}:document"])
    two = sent(two, "letter", "reminder:amicable-j+2", NOW - dt.timedelta(days=2), ["/docs/F-1/j2.pdf", f"{shared}:document"])
    lines = correspondence([two, one])
    assert [(c.kind, c.invoices, c.reference, c.documents) for c in lines] == [
        ("email", ["F-1"], "<m2@relance>", []),
        ("letter", ["F-1"], "/docs/F-1/notice.pdf", ["/docs/F-1/notice.pdf"]),
        ("letter", ["F-1", "F-2"], f"{shared}:document", ["/docs/F-1/j2.pdf"]),
        ("email", ["F-1", "F-2"], shared, []),
    ], "newest first, tasks left out; the notice's email and its letter are two lines, each invoice named once"
