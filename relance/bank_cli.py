"""`relance bank`: import statements, record the sure payments, and the queue of doubtful credits for ops.

The shell around `domain.matching`: it reads a statement (bank.statements), keeps each entry once (bank.store),
reads the open cases (visibility, then each case's status), asks the matching, and records each sure payment
through the case's `record_payment` update, the same one `relance pay` uses, carrying the bank reference (a case
records one bank entry once) and the value date.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from bank import return_reasons
from bank.einvoicing import StatusFile
from bank.entries import BankEntry, StatementError
from bank.statements import read_statement
from bank.store import BankStore, StoredEntry, open_store
from domain.case import CaseStatus, Payment, PaymentReversal
from domain.invoice import invoice_number_of
from domain.matching import Allocation, Book, OpenInvoice, compact_iban, match, normal_name
from domain.money import format_date_fr, format_eur
from domain.policy import BankRules
from relance import cases, refusals
from relance.config import Config
from relance.temporal import connect
from workflows.invoice_case import InvoiceCase
from workflows.visibility import literal

QUERY_SECONDS = 15  # a case that cannot answer (no worker, a failing task) is left out rather than waited for
KIND_LABELS = {"debit": "débits", "fee": "frais", "other": "autres (pas des paiements de clients)"}


class BankError(Exception):
    """Said to the person at the terminal in one line (the CLI turns it into its UserError)."""


# ---------------------------------------------------------------------- the open book, from the cases

def open_invoice(status: CaseStatus) -> OpenInvoice:
    return OpenInvoice(number=status.invoice_number, debtor_id=status.invoice.debtor.debtor_id,
                       debtor_name=status.debtor, due_date=status.invoice.due_date, principal_due=status.principal_due,
                       total_due=status.total_due, instalment_due=next_instalment(status))


def next_instalment(status: CaseStatus) -> Decimal | None:
    """What the next instalment of a running plan still asks for."""
    plan = status.plan
    if plan is None or plan.missed is not None:
        return None
    paid, asked = status.paid_total - plan.paid_before_plan, Decimal("0")
    for instalment in plan.instalments:
        asked += instalment.amount
        if paid < asked:
            return asked - paid
    return None


async def open_invoices(client: Client, task_queue: str, concurrency: int = 20) -> list[OpenInvoice]:
    """Every running case of this deployment's task queue, as it stands today (a status query each,
    `concurrency` at a time)."""
    numbers = [invoice_number_of(e.id) async for e in client.list_workflows(
        f"WorkflowType = 'InvoiceCase' AND ExecutionStatus = 'Running' AND TaskQueue = {literal(task_queue)}")]
    gate, found = asyncio.Semaphore(concurrency), []

    async def one(number: str) -> None:
        async with gate:
            try:
                status = await asyncio.wait_for(cases.status(client, number), QUERY_SECONDS)
            except Exception:  # a broken or just-closed case is not a candidate; `relance status` says why
                return
            if status.invoice is not None and status.stage != "closed":
                found.append(open_invoice(status))

    await asyncio.gather(*(one(n) for n in numbers))
    return sorted(found, key=lambda i: i.number)


# ---------------------------------------------------------------------- recording payments

@dataclasses.dataclass
class Recorded:
    invoice: str
    amount: Decimal
    outcome: str  # recorded | already recorded | refused: ...
    balance: Decimal | None = None
    to_principal: Decimal = Decimal("0")
    closed: bool = False


async def record(client: Client, entry: BankEntry, allocations: list[Allocation]) -> list[Recorded]:
    """Each allocation as a payment on its case, dated the credit's value date, carrying its bank reference."""
    done = []
    for allocation in allocations:
        payment = Payment(amount=allocation.amount, paid_on=entry.value_on, bank_reference=entry.ref, by="relance bank",
                          reference=entry.end_to_end if entry.end_to_end not in ("", "NOTPROVIDED") else "")
        case = cases.handle(client, allocation.invoice)
        try:
            receipt = await case.execute_update(InvoiceCase.record_payment, payment,
                                                id=f"bank:{entry.ref}:{allocation.invoice}")
        except WorkflowUpdateFailedError as refused:
            reason = refused.cause.message if refused.cause is not None else str(refused)
            done.append(Recorded(allocation.invoice, allocation.amount,
                                 "already recorded" if reason.startswith("already recorded") else f"refused: {reason}"))
            continue
        except RPCError as error:
            done.append(Recorded(allocation.invoice, allocation.amount, f"refused: {error.message}"))
            continue
        done.append(Recorded(allocation.invoice, allocation.amount, "recorded", receipt.balance,
                             receipt.to_principal, receipt.closed))
    return done


def _settled(recorded: list[Recorded]) -> bool:
    return all(r.outcome in ("recorded", "already recorded") for r in recorded)


# ---------------------------------------------------------------------- commands

@dataclasses.dataclass
class ImportReport:
    statement: str
    read: int = 0
    already: int = 0
    matched: list[dict] = dataclasses.field(default_factory=list)
    unmatched: list[dict] = dataclasses.field(default_factory=list)
    ignored: dict[str, int] = dataclasses.field(default_factory=dict)
    returns: list[dict] = dataclasses.field(default_factory=list)


async def import_statement(path: Path, store: BankStore, client: Client, task_queue: str, rules: BankRules,
                           statuses: StatusFile | None = None) -> ImportReport:
    try:
        entries = read_statement(path)
    except StatementError as error:
        raise BankError(str(error)) from error
    new, known = store.add(entries, path.name)
    report = ImportReport(statement=path.name, read=len(entries), already=len(known))
    for entry in new:
        if entry.kind not in ("credit", "return"):
            report.ignored[entry.kind] = report.ignored.get(entry.kind, 0) + 1
    credits = [e for e in new if e.kind == "credit"]
    book = Book.of(await open_invoices(client, task_queue) if credits else [], store.ibans())
    for entry in credits:
        found = match(entry.credit(), book, rules)
        if found.verdict == "sure":
            recorded = await record(client, entry, found.allocations)
            for r in (r for r in recorded if r.outcome == "recorded" and r.invoice in book.invoices):
                left = book.invoices[r.invoice].principal_due - r.to_principal
                book.update(r.invoice, Decimal("0") if r.closed else left, Decimal("0") if r.closed else r.balance)
            if _settled(recorded):
                _matched(store, entry, found.allocations, found.reason, found.debtor_id, statuses)
                report.matched.append({"entry": entry.ref, "amount": str(entry.amount), "reason": found.reason,
                                       "invoices": {r.invoice: str(r.amount) for r in recorded}})
                continue
            reason = "; ".join(f"{r.invoice}: {r.outcome}" for r in recorded if r.outcome != "recorded")
            found = found.model_copy(update={"verdict": "doubtful", "reason": f"paiement refusé par le dossier ({reason})",
                                             "candidates": [a.invoice for a in found.allocations]})
        store.set_status(entry.ref, "unmatched", found.reason, candidates=found.candidates)
        report.unmatched.append({"entry": entry.ref, "amount": str(entry.amount), "reason": found.reason,
                                 "candidates": found.candidates})
    for entry in (e for e in new if e.kind == "return"):  # after the credits: a statement may hold both
        report.returns.append(await take_back(entry, store, client, task_queue))
    return report


def original_of(returned: BankEntry, matched: list[StoredEntry]) -> StoredEntry | None:
    """The matched credit a return takes back: the same amount, and the same end-to-end reference, else the same
    payer's account or name; the latest one before the return."""
    def same_payer(credit: BankEntry) -> bool:
        if returned.end_to_end not in ("", "NOTPROVIDED") and credit.end_to_end == returned.end_to_end:
            return True
        if returned.iban and compact_iban(credit.iban) == compact_iban(returned.iban):
            return True
        return bool(returned.name) and normal_name(credit.name) == normal_name(returned.name)

    found = [m for m in matched if m.entry.amount == returned.amount and m.entry.value_on <= returned.value_on
             and same_payer(m.entry)]
    return max(found, key=lambda m: m.entry.value_on, default=None)


async def take_back(returned: BankEntry, store: BankStore, client: Client, task_queue: str) -> dict:
    """A payment the bank took back: each invoice it paid loses it and its case resumes (reopened if it had closed)."""
    original = original_of(returned, store.with_status("matched"))
    if original is None:
        store.set_status(returned.ref, "return", "paiement d'origine introuvable: à traiter à la main")
        return {"entry": returned.ref, "amount": str(returned.amount), "outcome": "paiement d'origine introuvable"}
    reversal = PaymentReversal(bank_reference=original.ref, returned_by=returned.ref,
                                reason=return_reasons.describe(returned.return_reason))
    outcomes = {a["invoice"]: await cases.reverse_payment(client, task_queue, a["invoice"], reversal)
                for a in original.allocations}
    done = all(o.startswith(("paiement annulé", "dossier rouvert", "déjà annulé")) for o in outcomes.values())
    store.set_status(returned.ref, "reversed" if done else "return", "; ".join(f"{k}: {v}" for k, v in outcomes.items()))
    if done:
        store.set_status(original.ref, "returned", f"rejeté par l'écriture {returned.ref}", allocations=original.allocations)
    return {"entry": returned.ref, "amount": str(returned.amount), "original": original.ref, "invoices": outcomes}


def _matched(store: BankStore, entry: BankEntry, allocations: list[Allocation], reason: str, debtor_id: str | None,
             statuses: StatusFile | None) -> None:
    store.set_status(entry.ref, "matched", reason,
                     allocations=[{"invoice": a.invoice, "amount": str(a.amount)} for a in allocations])
    if debtor_id:
        store.learn_iban(entry.iban, debtor_id, entry.ref)
    if statuses is not None:
        for a in allocations:
            statuses.cashed(a.invoice, a.amount, entry.value_on, entry.ref)


async def match_by_hand(entry_ref: str, invoices: list[str], store: BankStore, client: Client,
                        statuses: StatusFile | None = None) -> list[Recorded]:
    """Ops' answer for a doubtful credit: these invoices, served in this order, each up to what it owes (the
    last takes what remains, an overpayment its case flags)."""
    stored = _unmatched(store, entry_ref)
    left, allocations = stored.entry.amount, []
    for n, number in enumerate(invoices):
        try:
            status = await cases.status(client, number)
        except RPCError as error:
            raise BankError(f"{number}: pas de dossier ({error.message})") from error
        last = n == len(invoices) - 1
        part = left if last else min(left, status.total_due)
        if part <= 0:
            raise BankError(f"{number}: le crédit de {format_eur(stored.entry.amount)} est déjà réparti sur les factures"
                            " précédentes")
        allocations.append(Allocation(invoice=number, amount=part))
        left -= part
    recorded = await record(client, stored.entry, allocations)
    if _settled(recorded):
        debtors = {(await cases.status(client, a.invoice)).invoice.debtor.debtor_id for a in allocations}
        _matched(store, stored.entry, allocations, "rapproché par ops", next(iter(debtors)) if len(debtors) == 1 else None,
                 statuses)
    return recorded


def ignore(entry_ref: str, reason: str, store: BankStore) -> None:
    _unmatched(store, entry_ref)
    store.set_status(entry_ref, "ignored", reason, only_from=("unmatched",))


def _unmatched(store: BankStore, entry_ref: str) -> StoredEntry:
    stored = store.get(entry_ref)
    if stored is None:
        raise BankError(f"écriture {entry_ref} inconnue: importer d'abord le relevé (relance bank import)")
    if stored.status != "unmatched":
        raise BankError(f"écriture {entry_ref}: déjà traitée ({stored.status}{': ' + stored.reason if stored.reason else ''})")
    return stored


# ---------------------------------------------------------------------- text

def import_text(report: ImportReport) -> str:
    ignored = sum(report.ignored.values())
    lines = [f"{report.statement}: {report.read} écriture(s) lue(s), {report.already} déjà importée(s) (rien"
             f" d'enregistré deux fois), {len(report.matched)} crédit(s) rapproché(s), {len(report.unmatched)} à"
             f" rapprocher, {ignored} ignorée(s)"
             + (" (" + ", ".join(f"{n} {KIND_LABELS[k]}" for k, n in sorted(report.ignored.items())) + ")" if ignored else "")
             + (f", {len(report.returns)} retour(s) de paiement" if report.returns else "")]
    for r in report.returns:
        lines.append(f"  retour {r['entry']} {format_eur(Decimal(r['amount']))}: "
                     + (", ".join(f"{inv} {outcome}" for inv, outcome in r["invoices"].items()) if "invoices" in r
                        else r["outcome"]))
    for m in report.matched:
        lines.append(f"  rapproché {m['entry']} {format_eur(Decimal(m['amount']))}: "
                     + ", ".join(f"{inv} {format_eur(Decimal(a))}" for inv, a in m["invoices"].items()) + f" ({m['reason']})")
    for u in report.unmatched:
        lines.append(f"  à rapprocher {u['entry']} {format_eur(Decimal(u['amount']))}: {u['reason']}"
                     + (f"; candidates {', '.join(u['candidates'])}" if u["candidates"] else ""))
    if report.unmatched:
        lines.append("Voir `relance bank unmatched`; `relance bank match ENTRÉE FACTURE...` ou `relance bank ignore ENTRÉE"
                     " --reason ...`")
    return "\n".join(lines)


def unmatched_text(rows: list[StoredEntry]) -> str:
    lines = []
    for row in rows:
        e = row.entry
        lines.append(f"{e.ref}  {format_date_fr(e.value_on)}  {('-' if row.status == 'return' else '') + format_eur(e.amount):>14}  {e.name or '(payeur inconnu)'}"
                     f"  «{e.remittance or e.creditor_reference}»")
        lines.append(f"    {row.reason}" + (f"; candidates: {', '.join(row.candidates)}" if row.candidates else ""))
    lines.append(f"{sum(r.status == 'unmatched' for r in rows)} crédit(s) à rapprocher"
                 + (f", {sum(r.status == 'return' for r in rows)} retour(s) de paiement à traiter"
                    if any(r.status == "return" for r in rows) else ""))
    return "\n".join(lines)


# ---------------------------------------------------------------------- wiring into `relance`

def store_of(config: Config) -> BankStore:
    return open_store(config.bank_store_location())


def status_file_of(config: Config) -> StatusFile:
    return StatusFile(config.var_dir / "einvoicing" / "statuses-out.csv")


def bank_rules(config: Config) -> BankRules:
    """The default policy's bank settings: matching runs over every case, whatever its policy."""
    from relance import rules_cli

    policies, _ = rules_cli.valid_policies(config.rules_dir)
    policy = policies.get("default") or next(iter(policies.values()), None)
    return policy.bank if policy is not None else BankRules()


async def cmd_import(args, config: Config) -> int:
    store = store_of(config)
    client = await connect(config.temporal)
    report = await import_statement(Path(args.file), store, client, config.temporal.task_queue, bank_rules(config),
                                    status_file_of(config))
    print(json.dumps(dataclasses.asdict(report), indent=2, ensure_ascii=False) if args.json else import_text(report))
    return 0


async def cmd_unmatched(args, config: Config) -> int:
    rows = store_of(config).with_status("unmatched", "return")
    if args.json:
        print(json.dumps([{**json.loads(r.entry.model_dump_json()), "reason": r.reason, "candidates": r.candidates}
                          for r in rows], indent=2, ensure_ascii=False))
    else:
        print(unmatched_text(rows))
    return 0


async def cmd_match(args, config: Config) -> int:
    client = await connect(config.temporal)
    recorded = await match_by_hand(args.entry, args.invoices, store_of(config), client, status_file_of(config))
    for r in recorded:
        print(f"{r.invoice}: {format_eur(r.amount)} {_outcome_fr(r.outcome)}"
              + (f", reste dû {format_eur(r.balance)}" if r.balance is not None and not r.closed else "")
              + ("; dossier soldé" if r.closed else ""))
    return 0 if _settled(recorded) else 1


async def cmd_ignore(args, config: Config) -> int:
    ignore(args.entry, args.reason, store_of(config))
    print(f"{args.entry}: ignorée ({args.reason})")
    return 0


async def cmd_einvoicing_read(args, config: Config) -> int:
    from bank.einvoicing import read_statuses

    try:
        received, problems, other = read_statuses(Path(args.file))
    except ValueError as error:
        raise BankError(str(error)) from error
    client = await connect(config.temporal)
    outcomes = []
    for item in received:
        try:
            await cases.handle(client, item.invoice).execute_update(InvoiceCase.record_platform_status, item.status)
            outcome = "enregistré"
        except WorkflowUpdateFailedError as refused:
            reason = refused.cause.message if refused.cause is not None else str(refused)
            outcome = "déjà enregistré" if reason.startswith("already recorded") else f"refusé : {refusals.in_french(reason)}"
        except RPCError as error:
            outcome = f"refusé: {error.message}"
        outcomes.append({"row": item.row, "invoice": item.invoice, "status": item.status.code, "outcome": outcome})
    if args.json:
        print(json.dumps({"statuses": outcomes, "problems": problems, "left_alone": other}, indent=2, ensure_ascii=False))
    else:
        for o in outcomes:
            print(f"{o['invoice']}: statut {o['status']} {o['outcome']}")
        print(f"{len(outcomes)} statut(s) traité(s), {other} sans effet sur le recouvrement, {len(problems)} ligne(s) rejetée(s)")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems or any(o["outcome"].startswith("refusé") for o in outcomes) else 0


def _outcome_fr(outcome: str) -> str:
    return {"recorded": "enregistré", "already recorded": "déjà enregistré"}.get(outcome, outcome.replace("refused", "refusé"))


def add_commands(sub, wrap) -> None:
    """`relance bank ...`; `wrap` turns a BankError into the CLI's one-line error."""
    bank = sub.add_parser("bank", help="bank statements: import, match credits to invoices, the queue for ops")
    commands = bank.add_subparsers(dest="bank_command", required=True)

    def command(name: str, run, help_text: str) -> argparse.ArgumentParser:
        c = commands.add_parser(name, help=help_text, description=help_text)
        c.set_defaults(run=wrap(run), command="bank")
        c.add_argument("--json", action="store_true", help="machine-readable output")
        return c

    c = command("import", cmd_import, "read a CAMT.053 or CFONB 120 statement: record sure payments, queue doubtful credits")
    c.add_argument("file")
    command("unmatched", cmd_unmatched, "the credits waiting for ops, with their candidates")
    c = command("match", cmd_match, "settle a waiting credit against these invoices (in this order)")
    c.add_argument("entry", help="the entry's bank reference, as `relance bank unmatched` shows it")
    c.add_argument("invoices", nargs="+")
    c = command("ignore", cmd_ignore, "a waiting credit that is no customer's payment (a refund, a transfer...)")
    c.add_argument("entry")
    c.add_argument("--reason", required=True)
    einvoicing = sub.add_parser("einvoicing", help="the e-invoicing platform's lifecycle statuses")
    commands = einvoicing.add_subparsers(dest="einvoicing_command", required=True)
    c = command("read", cmd_einvoicing_read, "act on the statuses the platform received: 207 dispute, 208 pause,"
                " 210/213 ops task, 225 stop chasing")
    c.add_argument("file", help="CSV (invoice;status;date;comment) or JSON list; see bank/einvoicing.py")

