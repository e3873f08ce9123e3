"""Properties of the customer account's grouping (domain/grouping.py), over generated asks: one message per batch,
every invoice in it once, the highest step leading, the order the asks came in never mattering, the minimum gap
kept, credits netted, and the insurer's cover counted once per customer."""
import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import grouping
from domain.grouping import Ask, Message, Netted
from domain.invoice import Debtor, Invoice
from domain.letters import AccountCredit, LetterContext
from domain.rule_file import load_policy_file
from domain.schedule import local_date
from relance.config import ROOT

POLICY = load_policy_file(ROOT / "rules" / "default.yaml")
NINE = dt.datetime(2027, 3, 10, 8, tzinfo=dt.timezone.utc)  # 9:00 in Paris, a Wednesday
DEBTOR = Debtor(debtor_id="C-42", name="Client", email="ap@client.example", insured=True,
                credit_limit=Decimal("10000.00"))
LADDER = [f"reminder:{r.id}" for r in POLICY.reminders]


def ask(number: str, rank: int, amount: Decimal, *, due: dt.date, kind: str = "email", at: dt.datetime = NINE,
        step: str | None = None, issue: dt.date | None = None, excl: Decimal | None = None) -> Ask:
    invoice = Invoice(number=number, debtor=DEBTOR, issue_date=issue or due - dt.timedelta(days=30), due_date=due,
                      amount_incl_tax=amount, amount_excl_tax=excl or (amount / Decimal("1.2")).quantize(Decimal("0.01")))
    today = local_date(at, POLICY.calendar)
    letter = LetterContext(kind="reminder_overdue", language="fr", today=today, invoice=invoice,
                           creditor=POLICY.creditor, rule_id=f"rule-{rank}", policy_ref=POLICY.ref,
                           principal_due=amount, days_late=max(0, (today - due).days))
    return Ask(workflow_id=f"invoice-{number}", step=step or LADDER[rank], kind=kind, rank=rank, at=at,
               to=DEBTOR.email, letter=letter)


@st.composite
def asks(draw, min_size=1):
    n = draw(st.integers(min_value=min_size, max_value=8))
    out = []
    for i in range(n):
        amount = draw(st.decimals(min_value=Decimal("10.00"), max_value=Decimal("50000.00"), places=2))
        due = NINE.date() + dt.timedelta(days=draw(st.integers(min_value=-90, max_value=10)))
        out.append(ask(f"F-{i:03d}", draw(st.integers(min_value=0, max_value=len(LADDER) - 1)), amount, due=due))
    return out


CREDITS = st.lists(st.builds(
    AccountCredit, reference=st.from_regex(r"AV-[0-9]{3}", fullmatch=True), kind=st.sampled_from(["credit_note", "payment"]),
    on=st.just(NINE.date()), amount=st.decimals(min_value=Decimal("1.00"), max_value=Decimal("30000.00"), places=2)),
    max_size=3)


@settings(max_examples=200, deadline=None)
@given(asks(), st.randoms())
def test_one_message_lists_every_invoice_once_at_the_highest_step_whatever_the_order(batch, random):
    message = grouping.compose(batch, [], NINE, POLICY)
    shuffled = list(batch)
    random.shuffle(shuffled)
    again = grouping.compose(shuffled + shuffled[:2], [], NINE, POLICY)  # an ask sent twice (a retry) counts once

    assert isinstance(message, Message)
    assert sorted(line.number for line in message.letter.account_lines) == sorted(a.letter.invoice.number for a in batch)
    assert message.lead.rank == max(a.rank for a in batch)
    assert message.key.endswith(message.lead.step) and message.key.startswith("account-C-42:2027-03-10:")
    assert again.key == message.key and again.letter == message.letter
    assert message.letter.account_total == sum(a.letter.total_due for a in batch)


@settings(max_examples=200, deadline=None)
@given(asks(), CREDITS)
def test_credits_that_cover_the_reminder_send_nothing_and_otherwise_are_netted_in_it(batch, credits):
    result = grouping.compose(batch, credits, NINE, POLICY)
    total = sum(a.letter.total_due for a in batch)
    covered = sum(c.amount for c in credits)

    if credits and covered >= total:
        assert isinstance(result, Netted) and result.total == total and len(result.asks) == len(batch)
    else:
        assert isinstance(result, Message)
        assert result.letter.credits == credits
        assert result.letter.account_net == total - covered


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=400))
def test_a_reminder_never_goes_out_within_the_minimum_gap_nor_before_its_invoices_asked(days_since, minutes_later):
    last = NINE.date() - dt.timedelta(days=days_since)
    at = NINE + dt.timedelta(minutes=minutes_later)
    moment = grouping.due_at([ask("F-1", 2, Decimal("100.00"), due=NINE.date(), at=at)], last, POLICY)
    gap = POLICY.account.min_gap_days

    assert moment >= at + dt.timedelta(minutes=POLICY.account.collect_minutes)
    assert (local_date(moment, POLICY.calendar) - last).days >= gap
    if days_since >= gap:
        assert moment == at + dt.timedelta(minutes=POLICY.account.collect_minutes)


def test_a_notice_is_not_held_by_the_reminder_gap():
    notice = ask("F-1", 5, Decimal("100.00"), due=NINE.date(), step="notice")
    assert grouping.due_at([notice], NINE.date(), POLICY) == NINE + dt.timedelta(minutes=POLICY.account.collect_minutes)


@settings(max_examples=100, deadline=None)
@given(asks())
def test_batches_keep_reminders_notices_and_kinds_apart_and_lose_nothing(reminders):
    notices = [ask(f"N-{i}", 5, Decimal("500.00"), due=NINE.date(), step="notice", kind=kind)
               for i, kind in enumerate(["email", "document"])]
    groups = grouping.batches(reminders + notices)

    assert sorted(a.ident for g in groups for a in g) == sorted(a.ident for a in reminders + notices)
    assert all(len({(a.kind, a.family) for a in g}) == 1 for g in groups)
    assert len(groups) == 3


def test_the_insurer_notice_caps_the_customer_exposure_once_by_the_credit_limit():
    """Issue 14's scenario: two invoices of 14 400 € TTC (12 000 € HT), credit limit 10 000 €, cover 90 %."""
    due = NINE.date() - dt.timedelta(days=90)
    batch = [ask(n, 6, Decimal("14400.00"), excl=Decimal("12000.00"), due=due, kind="insurer_claim", step="insurer:file")
             for n in ("F-1", "F-2")]

    message = grouping.compose(batch, [], NINE, POLICY)

    assert message.letter.expected_indemnity == Decimal("9000.00")
    assert [line.number for line in message.letter.account_lines] == ["F-1", "F-2"]
    day, carried, step = message.key.removeprefix("account-C-42:").split(":", 2)
    assert (day, step) == ("2027-03-10", "insurer:file:insurer_claim") and len(carried) == 10


def test_a_message_key_names_the_invoices_it_carries_in_any_order():
    """The sent ledger answers "already sent" to a key: a batch that failed, its cases retried one by one the same
    day, makes messages that carry different invoices and must not pass for one another."""
    both = [ask(n, 2, Decimal("100.00"), due=NINE.date()) for n in ("F-1", "F-2")]

    key = grouping.compose(both, [], NINE, POLICY).key
    assert grouping.compose(list(reversed(both)), [], NINE, POLICY).key == key
    alone = {grouping.compose([one], [], NINE, POLICY).key for one in both}
    assert len(alone) == 2 and key not in alone


def test_an_invoice_beyond_the_maximum_credit_period_is_listed_as_not_covered():
    due = NINE.date() - dt.timedelta(days=90)
    inside = ask("F-1", 6, Decimal("1200.00"), excl=Decimal("1000.00"), due=due, kind="insurer_claim", step="insurer:file")
    beyond = ask("F-2", 6, Decimal("1200.00"), excl=Decimal("1000.00"), due=due, kind="insurer_claim",
                 step="insurer:file", issue=due - dt.timedelta(days=POLICY.insurer.max_credit_period_days + 1))

    letter = grouping.compose([inside, beyond], [], NINE, POLICY).letter

    assert letter.expected_indemnity == Decimal("900.00")
    assert len(letter.left_out) == 1 and "F-2" in letter.left_out[0]


def test_small_claims_asked_together_past_the_ceiling_become_one_injonction_request():
    due = NINE.date() - dt.timedelta(days=120)
    small = [ask(f"F-{n}", len(LADDER) + 1, Decimal("3000.00"), due=due, kind="small_claims", step="small_claims:dossier")
             for n in (1, 2)]
    message = grouping.compose(small, [], NINE, POLICY)
    assert message.lead.kind == "injonction" and message.letter.kind == "injonction_request"
    assert message.key.endswith(":injonction") and "plafond" in message.rerouted
    assert [a.kind for a in message.asks] == ["small_claims", "small_claims"], "each case is answered for what it asked"
    alone = grouping.compose(small[:1], [], NINE, POLICY)
    assert alone.lead.kind == "small_claims" and alone.rerouted == "", "one invoice under the ceiling stays small claims"


def test_an_invoice_reaching_the_notice_later_joins_the_customers_claim_capped_once():
    """Issue 14: a later invoice's notice complements the customer's claim; the limit caps both together."""
    due = NINE.date() - dt.timedelta(days=120)
    first = [ask("F-1", len(LADDER) + 1, Decimal("14400.00"), due=due, kind="insurer_claim", step="insurer:file",
                 excl=Decimal("12000.00"))]
    state = grouping.AccountState(debtor_id=DEBTOR.debtor_id)
    one = grouping.compose(first, [], NINE, POLICY, state.claim)
    assert one.letter.expected_indemnity == Decimal("9000.00") and one.letter.complements == ""
    grouping.claimed(state, one, NINE.date())

    later = [ask("F-2", len(LADDER) + 1, Decimal("14400.00"), due=due + dt.timedelta(days=30), kind="insurer_claim",
                 step="insurer:file", excl=Decimal("12000.00"))]
    two = grouping.compose(later, [], NINE + dt.timedelta(days=30), POLICY, state.claim)
    assert two.letter.expected_indemnity == Decimal("9000.00"), "24 000 € HT capped once by the 10 000 € limit"
    assert two.letter.complements.startswith("notre déclaration du 10/03/2027 (factures F-1,")
    grouping.claimed(state, two, NINE.date() + dt.timedelta(days=30))
    assert (state.claim.filed_on, state.claim.invoices, state.claim.covered_excl_tax) == (
        NINE.date(), ["F-1", "F-2"], Decimal("24000.00"))
