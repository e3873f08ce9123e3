"""`relance`: the command line of ops and of the engineer who runs the service."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import typing
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.case import (
    PROCEDURE_STEPS, CloseRequest, DisputeRequest, DisputeResolution, InsolvencyKind, InsolvencyNotice, Payment,
    PlanProposal,
    ProcedureStep,
)
from domain.invoice import invoice_number_of
from domain.letters import Instalment
from domain.routing import load_routing
from domain.rule_file import RuleFileError
from relance import cases, logs, rules_cli, views
from relance.config import ROOT, Config, from_env
from relance.ledger import LedgerFileError, LedgerReader
from relance.temporal import TemporalUnreachable, connect
from workflows import visibility
from workflows.invoice_case import InvoiceCase


class UserError(Exception):
    """Bad input from the person at the terminal: said in one line, exit status 1."""


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logs.configure(level="WARNING" if args.command not in ("worker", "up") else None)
    try:
        code = asyncio.run(args.run(args, from_env())) or 0
    except (UserError, TemporalUnreachable) as error:
        print(f"relance: {error}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    # Our verdict, not the Temporal core's: the process may abort during interpreter teardown (sdk-python #300).
    os._exit(code)


# ---------------------------------------------------------------- opening cases


async def cmd_import(args, config: Config) -> int:
    reader, problems = _routed_ledger(Path(args.file), config.rules_dir, cases.paris_today())
    for problem in problems:
        print(f"rules: {problem}", file=sys.stderr)
    client = await connect(config.temporal)
    bar = ProgressBar(reader.rows_hint, "import")
    try:  # cases start as rows are read: the ledger is never held whole
        report = await cases.open_cases(client, config.temporal.task_queue, (row.invoice for row in reader),
                                        progress=bar.advance)
    except LedgerFileError as error:
        raise UserError(f"{error}; the cases of the rows before it were started") from error
    finally:
        bar.close()
    errors = reader.errors
    for error in errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    for number, reason in report.failed:
        print(f"{number}: not started: {reason}", file=sys.stderr)
    summary = {"started": len(report.started), "already_open": len(report.existing),
               "rejected_rows": len(errors), "failed": len(report.failed)}
    if args.json:
        print(json.dumps({**summary, "existing": report.existing, "errors": [e.model_dump() for e in errors]}))
    else:
        print(f"{summary['started']} case(s) started, {summary['already_open']} already open (nothing new started),"
              f" {summary['rejected_rows']} row(s) rejected, {summary['failed']} failed to start")
    return 1 if errors or report.failed else 0


def _routed_ledger(path: Path, rules_dir: Path, today: dt.date) -> tuple[LedgerReader, list[str]]:
    """`rules_cli.read_routed_ledger`, row by row: each row with its policy (named in the row, or chosen by
    routing.yaml), a row under a broken or unknown policy refused, and dates checked against `today`."""
    policies, problems = rules_cli.valid_policies(rules_dir)
    try:
        routing = load_routing(rules_dir)
        reader = LedgerReader(path, known_policies=set(policies), route=routing.policy_for, today=today)
    except (LedgerFileError, RuleFileError) as error:
        raise UserError(str(error)) from error
    return reader, problems


# ---------------------------------------------------------------- reading cases


async def cmd_status(args, config: Config) -> int:
    client = await connect(config.temporal)
    status = await _query(client, args.invoice)
    from relance import delivery  # messages that cannot go out: attempts and last error

    sending = await delivery.for_case(client, args.invoice)
    print(delivery.status_json(status, sending) if args.json else views.status_text(status) + delivery.text(sending))
    return 0


async def cmd_list(args, config: Config) -> int:
    client = await connect(config.temporal)
    clauses = ["WorkflowType = 'InvoiceCase'"]
    if args.stage:
        clauses.append(f"{visibility.STAGE.name} = {visibility.literal(args.stage)}")
    if args.debtor:
        clauses.append(f"{visibility.DEBTOR.name} = {visibility.literal(args.debtor)}")
    if args.paused:
        clauses.append(f"{visibility.PAUSED.name} = true")
    if not args.all:
        clauses.append("ExecutionStatus = 'Running'")
    rows = []
    async for execution in client.list_workflows(" AND ".join(clauses), limit=args.limit):
        found = execution.typed_search_attributes
        rows.append({
            "invoice": invoice_number_of(execution.id), "stage": found.get(visibility.STAGE),
            "debtor": found.get(visibility.DEBTOR), "amount_due": found.get(visibility.AMOUNT_DUE),
            "paused": found.get(visibility.PAUSED), "next_action_at": found.get(visibility.NEXT_ACTION_AT),
        })
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        for row in rows:
            print(views.list_line(row))
        print(f"{len(rows)} case(s)")
    return 0


# ---------------------------------------------------------------- ops messages


async def cmd_pay(args, config: Config) -> int:
    payment = _model(Payment, amount=_amount(args.amount), currency=args.currency, paid_on=args.date,
                     reference=args.reference)
    receipt = await _update(config, args.invoice, InvoiceCase.record_payment, payment)
    if args.json:
        print(receipt.model_dump_json(indent=2))
    else:
        print(f"Payment recorded: {views.format_eur(receipt.to_penalties)} to penalties, "
              f"{views.format_eur(receipt.to_indemnity)} to the indemnity, "
              f"{views.format_eur(receipt.to_principal)} to principal; balance {views.format_eur(receipt.balance)}"
              + ("; case closed" if receipt.closed else "")
              + (f"; OVERPAID by {views.format_eur(receipt.overpaid)}, flagged for ops" if receipt.overpaid else ""))
    return 0


async def cmd_plan(args, config: Config) -> int:
    client = await connect(config.temporal)
    case = cases.handle(client, args.invoice)
    try:
        if args.instalment:
            proposal = _model(PlanProposal, instalments=[_instalment(text) for text in args.instalment])
            decision = await case.execute_update(InvoiceCase.propose_plan, proposal)
        elif args.instalments:
            decision = await cases.plan_in_equal_parts(case, args.instalments, args.every, first_due=args.first)
        else:
            raise UserError("give --instalments N [--every DAYS] or one --instalment DATE=AMOUNT per instalment")
    except WorkflowUpdateFailedError as refused:
        print(f"Plan refused: {_cause(refused)}")
        return 1
    if args.json:
        print(decision.model_dump_json(indent=2))
    else:
        print("Plan accepted: " + ", ".join(f"{views.format_date_fr(i.due_date)} {views.format_eur(i.amount)}"
                                            for i in decision.instalments))
    return 0


async def cmd_dispute(args, config: Config) -> int:
    request = _model(DisputeRequest, reason=args.reason, review_by=args.review_by)
    status = await _update(config, args.invoice, InvoiceCase.open_dispute, request)
    return _print_status(args, status)


async def cmd_resolve(args, config: Config) -> int:
    if args.credit is not None or args.cancel:
        resolution = _model(DisputeResolution, outcome="credit_note",
                            credit_amount=None if args.cancel else _amount(args.credit), note=args.note)
    else:
        resolution = _model(DisputeResolution, outcome="resume", note=args.note)
    status = await _update(config, args.invoice, InvoiceCase.resolve_dispute, resolution)
    return _print_status(args, status)


async def cmd_step(args, config: Config) -> int:
    step = _model(ProcedureStep, procedure=args.procedure, step=args.step, on=args.date,
                  amount=_amount(args.amount) if args.amount else None)
    status = await _update(config, args.invoice, InvoiceCase.record_procedure_step, step)
    return _print_status(args, status)


async def cmd_insolvency(args, config: Config) -> int:
    notice = _model(InsolvencyNotice, kind=args.kind, judgment_on=args.judgment, published_on=args.published)
    client = await connect(config.temporal)
    outcomes = await cases.debtor_insolvency(client, args.debtor, notice)
    if args.json:
        print(json.dumps(outcomes, indent=2))
    else:
        for number, outcome in outcomes.items():
            print(f"{number}: {outcome}")
        print(f"{sum(o == 'recorded' for o in outcomes.values())} of {len(outcomes)} running case(s) of {args.debtor}"
              " stopped for the procédure collective")
    if not outcomes:
        print(f"no running case for debtor {args.debtor}", file=sys.stderr)
    return 0 if outcomes and all(o == "recorded" for o in outcomes.values()) else 1


async def cmd_close(args, config: Config) -> int:
    status = await _update(config, args.invoice, InvoiceCase.close_case, _model(CloseRequest, reason=args.reason))
    return _print_status(args, status)


async def cmd_retry(args, config: Config) -> int:
    status = await _update(config, args.invoice, InvoiceCase.retry_step, _NO_ARGUMENT)
    return _print_status(args, status)


# ---------------------------------------------------------------- running


async def cmd_worker(args, config: Config) -> int:
    import worker

    await worker.run(config)
    return 0


async def cmd_up(args, config: Config) -> int:
    from relance.service import run_service

    return await run_service(config, ui_port=args.ui_port, port=args.port, codec_port=args.codec_port)


async def cmd_codec_server(args, config: Config) -> int:
    from relance.codec_server import CodecServer

    server = CodecServer(args.host, args.port, allow_origins=args.allow_origin).start()
    print(f"codec server on {server.url}: temporal --codec-endpoint {server.url} ...; Ctrl-C stops it", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
    return 0


async def cmd_demo(args, config: Config) -> int:
    from relance.demo import run_demo

    return await run_demo(Path(args.ledger), Path(args.out), config, verbose=args.verbose)


async def cmd_rules_check(args, config: Config) -> int:
    lines, errors = rules_cli.check([Path(p) for p in args.paths] or [config.rules_dir], cases.paris_today())
    rules_cli.print_findings(lines)
    return 1 if errors else 0


async def cmd_rules_reload(args, config: Config) -> int:
    from relance import policies

    valid, problems = rules_cli.valid_policies(config.rules_dir)
    for problem in problems:
        print(f"refused, the last valid version stays in force: {problem}", file=sys.stderr)
    client = await connect(config.temporal)
    try:
        answers = await policies.publish(client, config.temporal.task_queue, valid.values(), seen_by="relance rules reload")
    except policies.NoWorker as error:
        raise UserError(str(error)) from error
    for ref, answer in answers.items():
        print(f"{ref}: {answer}")
    return 1 if problems or any(a.startswith("refused") for a in answers.values()) else 0


async def cmd_rules_history(args, config: Config) -> int:
    from relance import policies

    client = await connect(config.temporal)
    try:
        versions = await policies.history(client, config.temporal.task_queue, args.policy)
    except RPCError as error:
        raise UserError(f"no version of {args.policy!r} was ever published: {error.message}") from error
    if args.json:
        print(rules_cli.as_json([v.model_dump(mode="json") for v in versions]))
        return 0
    for v in versions:
        notified = "" if v.cases_notified is None else f", {v.cases_notified} running case(s) told"
        print(f"v{v.version}  hash {v.content_hash}  {v.adoption:<6} first seen {views.when(v.first_seen_at)}"
              f" by {v.seen_by}{notified}")
    return 0


async def cmd_rules_schema(args, config: Config) -> int:
    from relance import schema_doc

    if args.write:
        schema_doc.write()
        print(f"wrote {schema_doc.REFERENCE_PATH}")
    else:
        print(schema_doc.reference())
    return 0


async def cmd_rules_simulate(args, config: Config) -> int:
    result = await _simulate(args, Path(args.rules or config.rules_dir), config)
    print(rules_cli.as_json([s.model_dump(mode="json") for s in result.statuses]) if args.json
          else rules_cli.simulation_text(result))
    return 0


async def cmd_rules_diff(args, config: Config) -> int:
    old = await _simulate(args, Path(args.old), config)
    new = await _simulate(args, Path(args.new), config)
    report = rules_cli.diff(old, new)
    print(rules_cli.as_json(report) if args.json else rules_cli.diff_text(report))
    return 0


async def _simulate(args, rules_dir: Path, config: Config):
    progress = (lambda line: print(line, file=sys.stderr)) if args.verbose else Throttled(f"simulate {rules_dir}")
    try:
        return await rules_cli.run_simulation(Path(args.ledger), rules_dir, config, args.rebase, progress=progress,
                                              fast=args.fast)
    except rules_cli.RulesError as error:
        raise UserError(str(error)) from error


# ---------------------------------------------------------------- helpers


async def _query(client, invoice: str):
    """The case's status; a case whose workflow task keeps failing cannot answer (the server holds the query, then
    refuses it), so it is reported as broken with the task's error, never as a case that does not exist."""
    await _unless_broken(client, invoice, only_if_failing_now=True)
    try:
        return await cases.status(client, invoice)
    except (WorkflowQueryFailedError, RPCError) as error:
        await _unless_broken(client, invoice, cause=error)
        raise UserError(f"{invoice}: the case could not answer: {error.message}") from error


async def _unless_broken(client, invoice: str, *, only_if_failing_now: bool = False, cause=None) -> None:
    try:
        broken = await cases.diagnose(client, invoice, only_if_failing_now=only_if_failing_now)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise UserError(f"no case for invoice {invoice}") from error
        raise UserError(f"{invoice}: the case's history could not be read: {error.message}") from error
    if broken is not None:
        raise UserError(str(broken)) from cause


def _bank_errors(run):
    """`relance bank` says its refusals (an unreadable statement, an entry already handled) as one line."""
    from relance.bank_cli import BankError

    async def guarded(args, config: Config) -> int:
        try:
            return await run(args, config)
        except BankError as error:
            raise UserError(str(error)) from error

    return guarded


_NO_ARGUMENT = object()


async def _update(config: Config, invoice: str, update, argument):
    client = await connect(config.temporal)
    try:
        case = cases.handle(client, invoice)
        if argument is _NO_ARGUMENT:
            return await case.execute_update(update)
        return await case.execute_update(update, argument)
    except WorkflowUpdateFailedError as refused:
        raise UserError(f"{invoice}: refused: {_cause(refused)}") from refused
    except RPCError as error:
        raise UserError(f"{invoice}: {error.message}") from error


def _cause(error: WorkflowUpdateFailedError) -> str:
    return error.cause.message if error.cause is not None and hasattr(error.cause, "message") else str(error)


def _print_status(args, status) -> int:
    print(status.model_dump_json(indent=2) if args.json else views.status_text(status, audit=False))
    return 0


def _model(cls, **fields):
    from pydantic import ValidationError

    try:
        return cls(**fields)
    except ValidationError as error:
        raise UserError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from error


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation as error:
        raise UserError(f"{text!r} is not an amount; write 1234.56 or 1 234,56") from error


def _instalment(text: str) -> Instalment:
    day, _, amount = text.partition("=")
    try:
        return Instalment(due_date=dt.date.fromisoformat(day), amount=_amount(amount))
    except ValueError as error:
        raise UserError(f"instalment {text!r}: write DATE=AMOUNT, e.g. 2027-01-15=500.00") from error


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal, a few lines in a log otherwise."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self.tty = sys.stderr.isatty()
        self._last = -1

    def advance(self, n: int = 1) -> None:
        self.done += n
        percent = 100 * self.done // max(self.total, 1)
        if self.tty:
            filled = percent * 30 // 100
            print(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}", end="", file=sys.stderr)
        elif percent // 10 != self._last // 10 and self.total >= 100:
            print(f"{self.label}: {self.done}/{self.total}", file=sys.stderr)
        self._last = percent

    def close(self) -> None:
        if self.tty and self.total:
            print(file=sys.stderr)


class Throttled:
    """Progress of a long run on stderr: the latest line, at most once a second."""

    def __init__(self, label: str, every_seconds: float = 1.0) -> None:
        self.label, self.every, self.last = label, every_seconds, 0.0

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            print(f"{self.label}: {line}", file=sys.stderr, flush=True)


def _date(text: str) -> dt.date:
    try:
        if "/" in text:
            day, month, year = text.split("/")
            return dt.date(int(year), int(month), int(day))
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)") from error


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relance", description="Collections engine: one durable case per invoice.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, run, help_text, json_flag=True):
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.set_defaults(run=run)
        if json_flag:
            c.add_argument("--json", action="store_true", help="machine-readable output")
        return c

    c = command("import", cmd_import, "start one case per invoice of a CSV or JSON ledger")
    c.add_argument("file")
    c = command("status", cmd_status, "where a case stands, why, and what comes next")
    c.add_argument("invoice")
    c = command("list", cmd_list, "cases through Temporal visibility")
    c.add_argument("--stage", choices=sorted(views.STAGE_LABELS))
    c.add_argument("--debtor", help="debtor id")
    c.add_argument("--paused", action="store_true", help="only disputed cases")
    c.add_argument("--all", action="store_true", help="closed cases too")
    c.add_argument("--limit", type=int, default=1000)
    c = command("pay", cmd_pay, "record a payment")
    c.add_argument("invoice")
    c.add_argument("amount")
    c.add_argument("--date", type=_date, help="payment date (default today)")
    c.add_argument("--currency", default="EUR")
    c.add_argument("--reference", default="")
    c = command("plan", cmd_plan, "propose a payment plan (accepted or refused against the policy's bounds)")
    c.add_argument("invoice")
    c.add_argument("--instalments", type=int, help="number of equal instalments of the amount due")
    c.add_argument("--every", type=int, default=30, help="days between instalments (default 30)")
    c.add_argument("--first", type=_date, help="first due date (default: today + --every)")
    c.add_argument("--instalment", action="append", help="DATE=AMOUNT, repeat for each instalment")
    c = command("dispute", cmd_dispute, "pause a case: the customer disputes the invoice")
    c.add_argument("invoice")
    c.add_argument("--reason", required=True)
    c.add_argument("--review-by", type=_date, help="date by which the dispute must be reviewed")
    c = command("resolve", cmd_resolve, "end a dispute: resume, or credit part or all of the amount")
    c.add_argument("invoice")
    c.add_argument("--credit", help="credit note amount (partial)")
    c.add_argument("--cancel", action="store_true", help="credit note for the whole balance: closes the case")
    c.add_argument("--note", default="")
    for procedure, steps in PROCEDURE_STEPS.items():
        name = procedure.replace("_", "-")
        c = command(name, cmd_step, f"confirm a {name} step: {', '.join(steps)}")
        c.set_defaults(procedure=procedure)
        c.add_argument("invoice")
        c.add_argument("step", choices=steps)
        c.add_argument("--date", type=_date)
        c.add_argument("--amount", help="indemnity amount (insurer indemnified)")
    c = command("insolvency", cmd_insolvency, "a procédure collective opened against a debtor: stop all of its cases,"
                " and ask ops to declare each claim in time")
    c.add_argument("debtor", help="debtor id, as in the ledger")
    c.add_argument("--kind", required=True, choices=typing.get_args(InsolvencyKind))
    c.add_argument("--judgment", required=True, type=_date, help="date of the opening judgment")
    c.add_argument("--published", type=_date, help="BODACC publication date (starts the time to declare the claim)")
    c = command("close", cmd_close, "close a case by hand, with a reason")
    c.add_argument("invoice")
    c.add_argument("--reason", required=True)
    c = command("retry", cmd_retry, "run again a step that failed, once its data or template is fixed")
    c.add_argument("invoice")
    command("worker", cmd_worker, "run a worker against the configured Temporal", json_flag=False)
    c = command("up", cmd_up, "run everything locally: Temporal dev server, SMTP sink, worker", json_flag=False)
    c.add_argument("--port", type=int, default=7233)
    c.add_argument("--ui-port", type=int, default=8233)
    c.add_argument("--codec-port", type=int, default=8234, help="the codec server the Web UI decodes payloads with")
    c = command("codec-server", cmd_codec_server, "serve Temporal's remote codec endpoints, so that the Web UI and"
                " `temporal --codec-endpoint` show compressed payloads as JSON", json_flag=False)
    c.add_argument("--host", default="127.0.0.1", help="payloads hold debtor data: loopback unless told otherwise")
    c.add_argument("--port", type=int, default=8234)
    c.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                   help="a Web UI origin allowed to call it from the browser, e.g. http://127.0.0.1:8233 (repeatable)")
    c = command("demo", cmd_demo, "run the sample ledger through the real workflows on the time-skipping server",
                json_flag=False)
    c.add_argument("--ledger", default=str(ROOT / "examples" / "ledger.csv"))
    c.add_argument("--out", default=str(ROOT / "var" / "demo"))
    c.add_argument("--verbose", action="store_true")
    from relance import bank_cli

    bank_cli.add_commands(sub, _bank_errors)
    rules = sub.add_parser("rules", help="rule files: check, preview, compare, publish, audit").add_subparsers(
        dest="rules_command", required=True)

    def rules_command(name, run, help_text):
        c = rules.add_parser(name, help=help_text, description=help_text)
        c.set_defaults(run=run, command="rules")
        c.add_argument("--json", action="store_true", help="machine-readable output")
        return c

    c = rules_command("check", cmd_rules_check, "validate rule files: schema, meaning, French practice (exit 1 on error)")
    c.add_argument("paths", nargs="*", help="files or folders (default: the rules folder)")
    c = rules.add_parser("schema", help="the rule-file reference, generated from the models (docs/rules.md)")
    c.set_defaults(run=cmd_rules_schema, command="rules")
    c.add_argument("--write", action="store_true", help="rewrite docs/rules.md")
    rules_command("reload", cmd_rules_reload, "publish the rule files' versions now; running cases adopt them")
    c = rules_command("history", cmd_rules_history, "the versions of a policy seen, with hash and date")
    c.add_argument("policy")
    for name, run, help_text in (("simulate", cmd_rules_simulate, "run a ledger through the real workflows, months in seconds"),
                                 ("diff", cmd_rules_diff, "compare two rule folders on the same ledger")):
        c = rules_command(name, run, help_text)
        if name == "diff":
            c.add_argument("old", help="rules folder in force")
            c.add_argument("new", help="rules folder proposed")
        else:
            c.add_argument("--rules", help="rules folder (default: RELANCE_RULES_DIR)")
        c.add_argument("--ledger", required=True, help="CSV or JSON ledger; its script column plays debtor behaviour")
        c.add_argument("--rebase", type=int, metavar="DAYS",
                       help="move the ledger's dates so the first invoice falls due DAYS after today")
        c.add_argument("--fast", action="store_true",
                       help="the decision core in memory instead of the workflows on Temporal: same timelines,"
                            " a 50,000-invoice ledger in seconds (emails named by template, not rendered)")
        c.add_argument("--verbose", action="store_true")
    return p
