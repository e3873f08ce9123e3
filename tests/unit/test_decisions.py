"""Properties of the decision core, played in memory over generated invoices and debtor behaviours (microseconds a
decision, no Temporal): the workflow runs these same functions."""
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import account
from domain.invoice import Debtor, Invoice
from domain.playback import Playback, play_event
from domain.policy import Stage
from domain.rule_file import load_policy_file
from domain.script import parse_script
from relance.config import ROOT

POLICY = load_policy_file(ROOT / "rules" / "default.yaml")
OPENED = dt.datetime(2027, 3, 10, 7, tzinfo=dt.timezone.utc)
PARIS_NOON = dt.time(11)  # UTC, in winter and summer alike a moment after the morning's sending

EVENTS = st.sampled_from([
    "pay full", "pay 30%", "pay rest", "pay instalment", "dispute qualité", "resolve", "resolve credit 100.00",
    "plan 3 every 30", "insolvency redressement", "bodacc", "court filed", "small_claims sent"])


@st.composite
def cases(draw):
    insured = draw(st.booleans())
    amount = draw(st.decimals(min_value=Decimal("100.00"), max_value=Decimal("90000.00"), places=2))
    due = OPENED.date() + dt.timedelta(days=draw(st.integers(min_value=-120, max_value=45)))
    invoice = Invoice(
        number="P-1", issue_date=min(due, OPENED.date()) - dt.timedelta(days=30), due_date=due, amount_incl_tax=amount,
        amount_excl_tax=(amount / Decimal("1.2")).quantize(Decimal("0.01")) if insured else None,
        debtor=Debtor(debtor_id="D", name="Client", email="c@client.example", address="1 rue A, 75001 Paris",
                      insured=insured, credit_limit=Decimal("50000.00") if insured else None))
    days = draw(st.lists(st.integers(min_value=-10, max_value=200), max_size=6))
    script = "; ".join(f"{day:+d} {draw(EVENTS)}" for day in sorted(days))
    wakes = draw(st.lists(st.integers(min_value=0, max_value=400 * 24), max_size=8))
    return invoice, script, wakes


def play(invoice: Invoice, script: str, wakes: list[int] = ()) -> Playback:
    """The case to a year after its due date; `wakes` are extra hours (from the opening) at which it looks."""
    case = Playback(invoice, POLICY, OPENED)
    moments = sorted([(dt.datetime.combine(invoice.due_date + dt.timedelta(days=e.day), PARIS_NOON, dt.timezone.utc), e)
                      for e in parse_script(script)], key=lambda m: m[0])
    looks = sorted(OPENED + dt.timedelta(hours=h) for h in wakes)
    for moment, event in moments:
        for look in [t for t in looks if t < moment]:
            case.advance(look)
        looks = [t for t in looks if t >= moment]
        if moment >= OPENED:
            play_event(case, event, moment)
    for look in looks:
        case.advance(look)
    case.advance(dt.datetime.combine(invoice.due_date + dt.timedelta(days=400), PARIS_NOON, dt.timezone.utc))
    return case


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases())
def test_the_figures_and_the_timeline_do_not_depend_on_how_often_the_case_wakes(drawn):
    invoice, script, wakes = drawn
    plain, woken = play(invoice, script), play(invoice, script, wakes)
    assert [(a.step, a.kind, a.at) for a in woken.s.audit] == [(a.step, a.kind, a.at) for a in plain.s.audit]
    day = invoice.due_date + dt.timedelta(days=400)
    assert account.statement_of(woken.s, POLICY, day) == account.statement_of(plain.s, POLICY, day)


@SETTINGS
@given(cases())
def test_a_step_is_done_once_and_nothing_goes_negative(drawn):
    invoice, script, wakes = drawn
    case = play(invoice, script, wakes)
    done = [(a.kind, a.step) for a in case.s.audit if a.kind in ("email", "letter", "document", "insurer")]
    assert len(done) == len(set(done)), "a letter sent twice"
    assert len(case.s.done) == len(set(case.s.done))
    day = invoice.due_date + dt.timedelta(days=400)
    current = account.statement_of(case.s, POLICY, day)
    assert min(current.principal_due, current.penalties_due, current.indemnity_due, current.total_due) >= 0


@SETTINGS
@given(cases())
def test_nothing_reaches_the_debtor_while_disputed_or_after_an_insolvency(drawn):
    invoice, script, wakes = drawn
    case = play(invoice, script, wakes)
    disputed, insolvent = False, False
    for action in case.s.audit:
        if action.step == "dispute:open":
            disputed = True
        elif action.step in ("dispute:resume", "dispute:credit-note"):
            disputed = False
        elif action.kind == "insolvency":
            insolvent = True
        elif action.kind in ("email", "letter") and not action.step.startswith(("thank-you", "plan:")):
            assert not disputed, f"{action.step} sent while disputed"
            assert not insolvent, f"{action.step} sent after the insolvency"


@SETTINGS
@given(cases(), st.integers(min_value=0, max_value=80))
def test_adopting_a_new_version_never_redoes_a_step(drawn, after_days):
    invoice, _, _ = drawn
    moment = OPENED + dt.timedelta(days=after_days)
    case = Playback(invoice, POLICY, OPENED)
    case.advance(moment)
    before = [a.step for a in case.s.audit if a.kind == "email"]
    newer = POLICY.model_copy(update={"version": POLICY.version + 1, "reminders": [
        r.model_copy(update={"offset_days": r.offset_days - 5}) for r in POLICY.reminders]})
    if case.s.stage is not Stage.closed:
        case.adopt(newer, moment)
        case.advance(moment + dt.timedelta(days=200))
    sent = [a.step for a in case.s.audit if a.kind == "email"]
    assert sent[:len(before)] == before and len(sent) == len(set(sent))


def test_what_the_accounting_shows_but_relance_does_not_apply_gives_ops_one_task_per_finding():
    from domain import transitions
    from domain.case import AccountingNotice

    invoice = Invoice(number="S-1", issue_date=dt.date(2027, 2, 1), due_date=dt.date(2027, 3, 3),
                      amount_incl_tax=Decimal("1200.00"),
                      debtor=Debtor(debtor_id="D", name="Client", email="c@client.example"))
    case = Playback(invoice, POLICY, OPENED)
    raised = AccountingNotice(kind="raised", export_amount=Decimal("1300.00"), on=OPENED.date())
    assert transitions.accounting_notice_refusal(case.s, raised) is None
    lower = raised.model_copy(update={"export_amount": Decimal("1200.00")})
    assert "does not raise it" in transitions.accounting_notice_refusal(case.s, lower)

    def told(notice) -> None:
        assert case.message(OPENED, lambda s, p, at: (None, transitions.record_accounting_notice(s, p, notice, at))) \
            == "accepted"

    for notice in (raised, raised, AccountingNotice(kind="vanished", on=OPENED.date()),
                   AccountingNotice(kind="vanished", on=OPENED.date() + dt.timedelta(days=1))):
        told(notice)
    assert [t.key for t in case.s.tasks] == ["sync:raised:1300.00", "sync:vanished"]
    assert case.s.principal == Decimal("1200.00") and "facture rectificative" in case.s.tasks[0].text
    told(raised.model_copy(update={"export_amount": Decimal("1350.00")}))
    assert len(case.s.tasks) == 3, "another amount is another finding"


def test_an_insolvency_recorded_after_its_declaration_deadline_says_the_deadline_has_gone():
    """Ops learn of a procédure collective late: the task does not ask to declare "before" a date already past, it
    says the delay has run out and what is left (a relevé de forclusion)."""
    from domain import transitions
    from domain.case import InsolvencyNotice

    invoice = Invoice(number="L-1", issue_date=OPENED.date() - dt.timedelta(days=200),
                      due_date=OPENED.date() - dt.timedelta(days=170), amount_incl_tax=Decimal("1200.00"),
                      debtor=Debtor(debtor_id="D", name="Client", email="c@client.example"))
    case = Playback(invoice, POLICY, OPENED)
    published = OPENED.date() - dt.timedelta(days=100)
    notice = InsolvencyNotice(kind="redressement", judgment_on=published - dt.timedelta(days=5), published_on=published)
    case.message(OPENED, lambda s, policy, now: (None, transitions.record_insolvency(s, policy, notice, now)))
    case.advance(OPENED + dt.timedelta(hours=1))
    texts = {task.key.split(":")[1]: task.text for task in case.s.tasks if task.key.startswith("insolvency:")}
    deadline, relief = account.declaration_deadline(case.s, POLICY), "relevé de forclusion avant le"
    assert deadline < OPENED.date()
    assert "le délai a expiré le" in texts["declare"] and relief in texts["declare"]
    assert "dernier délai" not in texts["declare-by"] and "délai expiré le" in texts["declare-by"], texts
    assert relief in texts["lapsed"], "the same story in each task, no date already gone given as a deadline"
    for text in texts.values():
        assert f"avant le {deadline:%d/%m/%Y}" not in text
    months_later = Playback(invoice, POLICY, OPENED + dt.timedelta(days=120))
    months_later.message(OPENED + dt.timedelta(days=120),
                         lambda s, policy, now: (None, transitions.record_insolvency(s, policy, notice, now)))
    months_later.advance(OPENED + dt.timedelta(days=120, hours=1))
    [late] = [task.text for task in months_later.s.tasks if task.key == "insolvency:declare"]
    assert "relevé de forclusion a lui aussi expiré" in late and "inopposable" in late


def test_corrected_contact_details_address_what_is_retried_and_nothing_else():
    from domain import decisions, transitions
    from domain.case import ContactChange

    invoice = Invoice(number="C-1", issue_date=OPENED.date(), due_date=OPENED.date() + dt.timedelta(days=30),
                      amount_incl_tax=Decimal("1200.00"),
                      debtor=Debtor(debtor_id="D", name="Client", email="old@client.example"))
    case = Playback(invoice, POLICY, OPENED)
    work = decisions.Work(case.s, POLICY, OPENED)
    work.email("reminder:x", "x", "reminder_overdue")
    work.task("call", "x", "Appeler le client")
    to_debtor, to_ops = [e for e in work.effects if isinstance(e, decisions.SendEmail)]
    change = ContactChange(email="new@client.example", address="2 rue B, 75002 Paris")
    assert transitions.contact_refusal(case.s, change) is None
    outcome = transitions.update_contact(case.s, POLICY, change, OPENED)
    assert (outcome.state.invoice.debtor.email, outcome.state.invoice.debtor.address) == (
        "new@client.example", "2 rue B, 75002 Paris")
    [line] = [e.action for e in outcome.effects if isinstance(e, decisions.Record)]
    assert line.kind == "contact" and "e-mail « new@client.example » (était « old@client.example »)" in line.summary
    again = decisions.readdressed(outcome.state, to_debtor)
    assert again.to == "new@client.example" and again.letter.invoice.debtor.address == "2 rue B, 75002 Paris"
    assert again.letter.total_due == to_debtor.letter.total_due, "the figures of the day it was written"
    assert decisions.readdressed(outcome.state, to_ops).to == to_ops.to, "an ops task still goes to ops"
    assert "nothing to change" in transitions.contact_refusal(outcome.state, change)
    assert "not a valid email" in transitions.contact_refusal(case.s, ContactChange(email="pas-un-email"))
    assert ContactChange(country=" be ").country == "BE"
    assert ContactChange.model_validate({"country": "UK"}).country == "UK", "decoded from a history as recorded"
    assert transitions.contact_refusal(case.s, ContactChange(country="XX")) == "country XX: no such ISO 3166 country code"
    assert transitions.contact_refusal(case.s, ContactChange(country="NL")) is None
