"""The fast preview runs the decision core in memory; the workflows are the truth: both give the same timelines."""
import datetime as dt
import os
import random
import re

import pytest

from relance import rules_cli, views
from relance.config import ROOT
from tests import clock


def timeline(result):
    """What a reader of the preview sees: each action's step, kind, day and rule, and where each case ends.
    Step keys that carry a time (a plan's confirmation) keep its day: Temporal's clock moves by the second while
    an update is handled, the memory's does not."""
    actions = sorted((p.invoice, p.on, p.kind, re.sub(r":(\d{8})\d{6}:", r":\1:", p.step), p.rule)
                     for p in rules_cli.planned(result))
    ends = sorted((s.invoice_number, s.stage, s.closed_reason, s.principal_due, s.penalties_due, s.indemnity_due,
                   s.total_due, s.next_action.step if s.next_action else None) for s in result.statuses)
    return actions, ends, [(p.day, p.invoice, p.event, p.outcome) for p in result.played]


async def both(ledger, rules_dir, config, today):
    slow = await rules_cli.run_simulation(ledger, rules_dir, config, rebase_days=15)
    fast = await rules_cli.run_simulation(ledger, rules_dir, config, rebase_days=15, fast=True,
                                          start=clock.start_moment(today))
    return slow, fast


@pytest.mark.timeout(300)
async def test_the_sample_ledger_plays_the_same_in_memory_and_on_temporal(config, rules_dir, today):
    slow, fast = await both(ROOT / "examples" / "ledger.csv", rules_dir, config, today)
    assert len(slow.statuses) == 18 and sum(len(s.audit) for s in slow.statuses) > 100
    same(timeline(fast), timeline(slow))


def same(fast, slow):
    """Equal, or the first difference in words."""
    for name, a, b in zip(("actions", "ends", "played"), fast, slow):
        extra, missing = [x for x in a if x not in b], [x for x in b if x not in a]
        assert not extra and not missing, f"{name}: only in memory {extra[:5]}, only on Temporal {missing[:5]}"
    assert fast == slow


LINE = '{n};01/01/2027;{due};D{d};Client {d};c{d}@client.example;{d} rue des Lilas, 75011 Paris;{amount};{insured};{excl};"{script}"\n'
SCRIPTS = ["", "-4 pay full", "+8 pay full", "+35 pay 50%; +50 pay rest", "+10 dispute livraison incomplète review +20; +25 resolve",
           "+33 plan 3 every 30; +34 pay instalment; +64 pay instalment", "+40 insolvency redressement; +50 bodacc",
           "+5 dispute prix; +40 resolve credit 100.00", "+80 court order_issued; +90 court served"]


# Other seeds: RELANCE_PREVIEW_SEEDS=1,2,3,4 make test (each costs a workflow preview, about 4 s).
SEEDS = [int(seed) for seed in os.environ.get("RELANCE_PREVIEW_SEEDS", "7,11,23").split(",")]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", SEEDS)
async def test_generated_ledgers_play_the_same_in_memory_and_on_temporal(config, rules_dir, today, tmp_path, seed):
    rng = random.Random(seed)
    ledger = tmp_path / f"generated-{seed}.csv"
    rows = ["number;issue_date;due_date;debtor_id;debtor_name;debtor_email;debtor_address;amount_incl_tax;insured;amount_excl_tax;script\n"]
    for n in range(12):
        insured = rng.random() < 0.3
        amount = rng.choice(["480.00", "3600.00", "7200.00", "14400.00", "61200.00"])
        due = dt.date(2027, 1, 31) + dt.timedelta(days=rng.randint(0, 40))
        rows.append(LINE.format(n=f"G-{n}", due=f"{due:%d/%m/%Y}", d=n, amount=amount.replace(".", ","),
                                insured="oui" if insured else "non",
                                excl=f"{float(amount) / 1.2:.2f}".replace(".", ",") if insured else "",
                                script=rng.choice(SCRIPTS)))
    ledger.write_text("".join(rows), encoding="utf-8")
    slow, fast = await both(ledger, rules_dir, config, today)
    same(timeline(fast), timeline(slow))


@pytest.mark.timeout(300)
async def test_script_events_dated_before_the_preview_starts_play_at_its_start_in_memory_as_on_temporal(
        config, rules_dir, today, tmp_path):
    """A ledger previewed without --rebase whose debtors paid or disputed before today: the server cannot go back
    in time and plays those events at the start; the memory did the same (it once played them on their own day,
    back-dating a payment and the penalties it settled)."""
    ledger = tmp_path / "past.csv"
    rows = ["number;issue_date;due_date;debtor_id;debtor_name;debtor_email;debtor_address;amount_incl_tax;insured;amount_excl_tax;script\n"]
    for n, (days_ago, script) in enumerate([(120, "+10 pay full"), (90, "+20 pay 50%; +200 pay rest"),
                                           (60, "+5 dispute prix; +100 resolve"), (200, "+30 plan 3 every 30")]):
        due = today - dt.timedelta(days=days_ago)
        rows.append(LINE.replace("01/01/2027", f"{due - dt.timedelta(days=30):%d/%m/%Y}").format(
            n=f"P-{n}", due=f"{due:%d/%m/%Y}", d=n, amount="3 600,00", insured="non", excl="", script=script))
    ledger.write_text("".join(rows), encoding="utf-8")
    slow = await rules_cli.run_simulation(ledger, rules_dir, config, None)
    fast = await rules_cli.run_simulation(ledger, rules_dir, config, None, fast=True, start=clock.start_moment(today))
    same(timeline(fast), timeline(slow))
    assert all(p.day >= today for p in fast.played), "nothing played before the preview starts"


@pytest.mark.timeout(300)
@pytest.mark.today("2027-03-10")
async def test_a_book_at_every_stage_previews_as_its_import_would_open_it(config, rules_dir, today, tmp_path):
    """The preview reads the book's history columns and the catch-up as `relance import` does: each case opens in
    its stage, an overdue invoice gets the one reminder its age calls for, the daily cap spreads first messages,
    an invoice paid before relance opens nothing; in memory and on Temporal alike."""
    from tests.lifecycle.test_go_live import _book

    policy_file = rules_dir / "default.yaml"
    policy_file.write_text(policy_file.read_text(encoding="utf-8").replace(
        "daily_first_messages: 200", "daily_first_messages: 2"), encoding="utf-8")
    ledger = _book(tmp_path, today, "GL")
    slow = await rules_cli.run_simulation(ledger, rules_dir, config, None)
    fast = await rules_cli.run_simulation(ledger, rules_dir, config, None, fast=True, start=clock.start_moment(today))
    same(timeline(fast), timeline(slow))

    assert sorted(s.invoice_number for s in slow.statuses) == sorted(
        f"GL-{name}" for name in ("PREV", "LATE5", "LATE50", "LATE200", "REMINDED", "COURT", "DISPUTE", "PART"))
    firsts = {}
    for p in sorted(rules_cli.planned(slow), key=lambda p: p.on):
        if p.kind == "email":
            firsts.setdefault(p.invoice, (p.on, p.step))
    assert firsts["GL-LATE5"] == (today, "reminder:amicable-j+2")
    assert firsts["GL-LATE50"] == (today, "reminder:amicable-j+45"), "the step its age calls for, not all it missed"
    assert firsts["GL-LATE200"] == (today + dt.timedelta(days=1), "reminder:amicable-j+45"), "the cap: two a day"
    court = next(s for s in slow.statuses if s.invoice_number == "GL-COURT")
    assert court.path == "injonction" and any(a.kind == "done_before" for a in court.audit)


def carried(result) -> list[tuple]:
    """What went out, line by line: each outward line's day, kind, step, the customer's message that carried it,
    whether anything went (references) and whether it was taken out of its message or netted: a line sent in one
    preview and withdrawn in the other is a difference the timeline alone does not show."""
    return sorted((s.invoice_number, views.paris_date(a.at), a.kind, re.sub(r":(\d{8})\d{6}:", r":\1:", a.step),
                   tuple(sorted(r for r in a.refs if r.startswith("account-"))), bool(a.refs),
                   "Retirée" in a.summary, "non envoyée" in a.summary)
                  for s in result.statuses for a in s.audit
                  if a.kind in ("email", "letter", "document", "insurer") or a.refs)


def same_carried(fast, slow) -> None:
    a, b = carried(fast), carried(slow)
    extra, missing = [x for x in a if x not in b], [x for x in b if x not in a]
    assert not extra and not missing, f"carried: only in memory {extra[:5]}, only on Temporal {missing[:5]}"


def emails_sent(result) -> int:
    """Messages a customer receives: a grouped email is one, whatever number of invoices it carries."""
    return rules_cli.totals(result)["emails"]


@pytest.mark.per_debtor
@pytest.mark.timeout(300)
async def test_customers_with_several_invoices_play_the_same_in_memory_and_through_their_accounts(
        config, rules_dir, today):
    slow, fast = await both(ROOT / "examples" / "ledger.csv", rules_dir, config, today)
    same(timeline(fast), timeline(slow))
    same_carried(fast, slow)
    assert emails_sent(fast) == emails_sent(slow)
    grouped = [a for s in slow.statuses for a in s.audit if a.kind == "email" and any(r.startswith("account-") for r in a.refs)]
    assert len({r for a in grouped for r in a.refs if r.startswith("account-")}) < len(grouped), \
        "the sample ledger's customers with several invoices get one message for several of them"


@pytest.mark.per_debtor
@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", SEEDS)
async def test_generated_customers_play_the_same_in_memory_and_through_their_accounts(
        config, rules_dir, today, tmp_path, seed):
    """Four customers share twelve invoices falling due within a few days of each other: their accounts batch the
    reminders, keep the minimum gap, send one notice, one court request (past the small-claims ceiling together,
    an injonction) and one insurer notice, and take out an invoice paid or disputed while its message waited."""
    rng = random.Random(seed)
    ledger = tmp_path / f"customers-{seed}.csv"
    rows = ["number;issue_date;due_date;debtor_id;debtor_name;debtor_email;debtor_address;amount_incl_tax;insured;amount_excl_tax;script\n"]
    insured = {d: rng.random() < 0.3 for d in range(4)}
    for n in range(12):
        d = rng.randrange(4)
        amount = rng.choice(["480.00", "3600.00", "7200.00", "14400.00"])
        due = dt.date(2027, 1, 31) + dt.timedelta(days=rng.randint(0, 6))
        rows.append(LINE.format(n=f"C-{n}", due=f"{due:%d/%m/%Y}", d=d, amount=amount.replace(".", ","),
                                insured="oui" if insured[d] else "non",
                                excl=f"{float(amount) / 1.2:.2f}".replace(".", ",") if insured[d] else "",
                                script=rng.choice(SCRIPTS + ["", "", "+76 pay full"])))
    ledger.write_text("".join(rows), encoding="utf-8")
    slow, fast = await both(ledger, rules_dir, config, today)
    same(timeline(fast), timeline(slow))
    same_carried(fast, slow)
    assert emails_sent(fast) == emails_sent(slow)


@pytest.mark.per_debtor
@pytest.mark.timeout(300)
async def test_an_invoice_leaving_its_customers_waiting_message_and_a_rerouted_claim_play_the_same(
        config, rules_dir, today, tmp_path):
    """The paths of an account a random ledger rarely takes: a reminder waiting for the minimum gap when its invoice
    is paid or disputed (it leaves the message), and two small claims whose total passes the ceiling (one
    injonction request instead)."""
    ledger = tmp_path / "paths.csv"
    rows = ["number;issue_date;due_date;debtor_id;debtor_name;debtor_email;debtor_address;amount_incl_tax;insured;amount_excl_tax;script\n"]
    for n, (d, due, amount, script) in enumerate([
            (0, "31/01/2027", "480,00", ""), (0, "04/02/2027", "480,00", "+2 pay full"),
            (0, "04/02/2027", "600,00", "+2 dispute prix; +20 resolve"),
            (1, "31/01/2027", "3600,00", ""), (1, "31/01/2027", "3600,00", ""), (2, "02/02/2027", "1200,00", "")]):
        rows.append(LINE.format(n=f"P-{n}", due=due, d=d, amount=amount, insured="non", excl="", script=script))
    ledger.write_text("".join(rows), encoding="utf-8")
    slow, fast = await both(ledger, rules_dir, config, today)
    same(timeline(fast), timeline(slow))
    same_carried(fast, slow)
    summaries = {s.invoice_number: [a.summary for a in s.audit] for s in slow.statuses}
    assert any("Retirée du message du client" in text for text in summaries["P-1"])
    assert any("Retirée du message du client" in text for text in summaries["P-2"])
    assert any("Voie changée par le compte client" in text for text in summaries["P-3"] + summaries["P-4"])
    assert {s.path for s in slow.statuses if s.invoice_number in ("P-3", "P-4")} == {"injonction"}


@pytest.mark.per_debtor
@pytest.mark.timeout(300)
async def test_a_letter_after_a_withdrawn_email_and_an_insolvent_customers_claim_play_the_same(
        config, rules_dir, today, tmp_path):
    """A step whose email waited for the minimum gap and was taken out by a dispute takes its letter out too; an
    insured customer's insolvency files its loss with the insurer through the account (the insolvency is why)."""
    default = rules_dir / "default.yaml"
    text, changed = re.subn(r"(  - id: amicable-j\+2\n    offset_days: 2\n    channels: )\[email\]", r"\1[email, letter]",
                            default.read_text(encoding="utf-8"))
    assert changed == 1, "the default policy's J+2 reminder changed: update this test"
    default.write_text(text, encoding="utf-8")
    ledger = tmp_path / "left.csv"
    rows = ["number;issue_date;due_date;debtor_id;debtor_name;debtor_email;debtor_address;amount_incl_tax;insured;amount_excl_tax;script\n"]
    for n, (d, due, amount, insured, excl, script) in enumerate([
            (0, "31/01/2027", "480,00", "non", "", ""), (0, "04/02/2027", "600,00", "non", "", "+5 dispute prix; +20 resolve"),
            (1, "31/01/2027", "480,00", "oui", "400,00", "+40 insolvency redressement")]):
        rows.append(LINE.format(n=f"L-{n}", due=due, d=d, amount=amount, insured=insured, excl=excl, script=script))
    ledger.write_text("".join(rows), encoding="utf-8")
    slow, fast = await both(ledger, rules_dir, config, today)
    same(timeline(fast), timeline(slow))
    same_carried(fast, slow)
    audit = {s.invoice_number: s.audit for s in slow.statuses}
    withdrawn = [(a.kind, a.step) for a in audit["L-1"] if "Retirée" in a.summary]
    assert ("email", "reminder:amicable-j+2") in withdrawn and ("letter", "reminder:amicable-j+2") in withdrawn
    claim = [a for a in audit["L-2"] if a.kind == "insurer" and a.step == "insurer:file"]
    assert claim and claim[0].refs and "Retirée" not in claim[0].summary, "the insolvent customer's loss is declared"
