"""Going live with a book at every stage, on the real workflow: a French export with history columns, read by
the import's own reader and planned by `relance.go_live`, opens each case where its past puts it, with nothing
sent in a burst and the lapsed deadlines given to ops at once."""
import datetime as dt
from pathlib import Path

import pytest

from domain.policy import Stage
from domain.rule_file import load_policy_file
from relance.go_live import planned_starts
from relance.ledger import read_ledger
from tests.lifecycle.scenario import PARIS, Case

HEADER = ("N° facture;Date facture;Date d'échéance;Code client;Raison sociale;Email;Adresse;Montant HT;Montant TTC;"
          "Dernière relance;Date dernière relance;Mise en demeure le;Requête déposée le;Ordonnance rendue le;"
          "Litige;Litige ouvert le;Déjà réglé;Date règlement")


def _book(folder: Path, today: dt.date, tag: str) -> Path:
    def day(offset: int) -> str:
        return (today + dt.timedelta(days=offset)).strftime("%d/%m/%Y")

    def row(name: str, issued: int, due: int, excl: str, incl: str, history: str = ";;;;;;;;") -> str:
        return (f"{tag}-{name};{day(issued)};{day(due)};C-{name};{name} SARL;ap@{tag}-{name}.example;"
                f"5 rue des Lilas, 75011 Paris;{excl};{incl};{history}")

    rows = [
        row("PREV", -10, 20, "1 000,00", "1 200,00"),
        row("LATE5", -35, -5, "1 000,00", "1 200,00"),
        row("LATE50", -80, -50, "1 000,00", "1 200,00"),
        row("LATE200", -230, -200, "1 000,00", "1 200,00"),
        row("REMINDED", -70, -40, "1 000,00", "1 200,00", f"amicable-j+30;{day(-9)};;;;;;;"),
        row("COURT", -400, -370, "7 500,00", "9 000,00", f";;{day(-300)};{day(-260)};{day(-215)};;;;"),
        row("DISPUTE", -60, -30, "1 000,00", "1 200,00", f";;;;;Livraison incomplète;{day(-12)};;"),
        row("PART", -60, -30, "1 000,00", "1 200,00", f";;;;;;;500,00;{day(-3)}"),
        row("SETTLED", -60, -30, "1 000,00", "1 200,00", f";;;;;;;1 200,00;{day(-3)}"),
    ]
    path = folder / "balance.csv"
    path.write_bytes("\r\n".join([HEADER, *rows, ""]).encode("cp1252"))
    return path


@pytest.mark.today("2027-03-10")  # a Wednesday
async def test_a_book_at_every_stage_opens_in_its_stage_without_a_burst(harness, today, rules_dir):
    policy_file = rules_dir / "default.yaml"
    shipped = policy_file.read_text(encoding="utf-8")
    assert "daily_first_messages: 200" in shipped
    policy_file.write_text(shipped.replace("daily_first_messages: 200", "daily_first_messages: 2"), encoding="utf-8")
    policy = load_policy_file(policy_file)
    tag = harness.task_queue
    rows, errors = read_ledger(_book(harness.var, today, tag), policies={"default": policy}, today=today)
    assert errors == [] and len(rows) == 9

    now = await harness.env.get_current_time()
    plans = list(planned_starts(rows, {"default": policy}, now))
    assert f"{tag}-SETTLED" not in [plan.start.invoice.number for plan in plans], "paid before relance: no case"
    cases = {}
    for plan in plans:
        name = plan.start.invoice.number.removeprefix(f"{tag}-")
        cases[name] = await Case.open(harness, plan.start.invoice, prior=plan.start.prior,
                                      catch_up_from=plan.start.catch_up_from)
    first_days = {name: plan.start.catch_up_from for name, plan in zip(cases, plans)}
    late = [first_days[name] for name in ("LATE5", "LATE50", "LATE200")]
    assert late == [today, today, today + dt.timedelta(days=1)], "two first messages a day, in the file's order"

    await cases["PREV"].wait_until(today + dt.timedelta(days=2))
    stages = {name: (await case.status()).stage for name, case in cases.items()}
    assert stages == {"PREV": Stage.preventive, "LATE5": Stage.amicable, "LATE50": Stage.amicable,
                      "LATE200": Stage.amicable, "REMINDED": Stage.amicable, "COURT": Stage.injonction,
                      "DISPUTE": Stage.amicable, "PART": Stage.amicable}

    statuses = {name: await case.status() for name, case in cases.items()}

    def sent(name: str) -> list[tuple[dt.date, str]]:
        return [(a.at.astimezone(PARIS).date(), a.step) for a in statuses[name].audit if a.kind == "email"]

    assert sent("LATE5") == [(today, "reminder:amicable-j+2")], "the reminder matching its age, once"
    assert sent("LATE50") == [(today, "reminder:amicable-j+45")], "not the three it missed"
    assert sent("LATE200") == [(today + dt.timedelta(days=1), "reminder:amicable-j+45")], "the day after: the cap"
    assert sent("REMINDED") == [] and sent("PREV") == [] and sent("DISPUTE") == [] and sent("COURT") == []
    assert len(cases["LATE50"].emails()) == 1 and "dernière relance" in cases["LATE50"].subjects()[0].lower()

    court = statuses["COURT"]
    done_before = [a.summary for a in court.audit if a.kind == "done_before"]
    assert "Fait avant relance : mise en demeure envoyée le " + (today - dt.timedelta(days=300)).strftime("%d/%m/%Y") \
        in done_before
    assert "injonction:lapsed" in [t.key for t in court.tasks], "the order was never served in 6 months: ops told"
    keys = [m["X-Relance-Key"] for m in harness.sent_to(policy.ops.email)]
    assert f"{court.invoice_number}:task:injonction:lapsed" in keys, "emailed to ops at once"

    reminded = statuses["REMINDED"]
    assert reminded.next_action.step == "reminder:amicable-j+45"
    assert reminded.next_action.at.astimezone(PARIS).date() >= today - dt.timedelta(days=9) + dt.timedelta(days=7)

    part = statuses["PART"]
    assert part.paid_total == 500 and any(a.summary.startswith("Fait avant relance : règlement de 500,00")
                                          for a in part.audit)


async def test_a_task_an_accounting_export_raises_reaches_the_ops_mailbox_like_every_task(harness, today):
    """`relance sync` tells a case its export raised or dropped it: a task for ops, emailed (it once stayed on the
    case only), its message id on the task's audit line; the same notice again emails nothing more."""
    from decimal import Decimal

    from domain.case import AccountingNotice, Payment
    from tests.lifecycle.scenario import invoice
    from workflows.invoice_case import InvoiceCase

    case = await (await Case.open(harness, invoice(today=today, due_in_days=20, amount="1200.00"))).opened()
    raised = AccountingNotice(kind="raised", export_amount=Decimal("1300.00"), on=today, by="relance sync")
    for notice in (raised, raised, AccountingNotice(kind="vanished", on=today, by="relance sync")):
        await case.update(InvoiceCase.record_accounting_notice, notice)
    ops = "recouvrement@fournisseur.example"
    keys = [f"{case.invoice.number}:task:sync:raised:1300.00", f"{case.invoice.number}:task:sync:vanished"]

    def to_ops() -> list:  # the session's ops mailbox: this case's messages
        return [m for m in harness.sent_to(ops) if m["X-Relance-Key"].startswith(f"{case.invoice.number}:")]

    def emailed(status) -> bool:
        return [m["X-Relance-Key"] for m in to_ops()] == keys and all(
            line.refs for line in status.audit if line.kind == "task")

    status = await case.until(emailed, "email both tasks to ops")
    assert "facture rectificative" in to_ops()[0].get_body(("plain",)).get_content()
    assert [line.step for line in status.audit if line.kind == "task"] == ["sync:raised:1300.00", "sync:vanished"]
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    assert (await case.finished()).stage is Stage.closed
    assert [m["X-Relance-Key"] for m in to_ops()] == keys
