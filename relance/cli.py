"""`relance`: the command line of ops and of the engineer who runs the service."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import os
import sys
import typing
import time
from decimal import Decimal
from pathlib import Path

from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.case import (
    PROCEDURE_STEPS, CloseRequest, ContactChange, DisputeRequest, DisputeResolution, InsolvencyKind, InsolvencyNotice, OpsMessage,
    Payment, PlanProposal, ProcedureStep, RetryRequest,
)
from domain.countries import country_code
from domain.debtor_account import debtor_account
from domain.invoice import case_workflow_id
from domain.letters import Instalment
from domain.money import parse_date
from relance import cases, go_live, listing, logs, opening, refusals, rules_cli, views
from relance.config import ROOT, Config, from_env
from importers.base import said
from relance.ledger import LedgerFileError, LedgerReader, read_amount
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
    reader, problems = _routed_ledger(Path(args.file), config.rules_dir, cases.paris_today(), args.mapping)
    for problem in problems:
        print(f"rules: {problem}", file=sys.stderr)
    # Each invoice's start: its history, and the day the catch-up's daily cap lets it send on (relance.go_live),
    # after the places earlier imports took.
    now = dt.datetime.now(dt.timezone.utc)
    if args.dry_run:
        taken, unknown = await _places_for_dry_run(config, reader.policies, now)
        return _dry_run(args, reader, go_live.planned_starts(reader, reader.policies, now, taken), unknown)
    client = await connect(config.temporal)
    try:
        taken = await go_live.places_taken(client, config.temporal.task_queue, reader.policies, now)
    except go_live.PlacesUnknown as error:
        raise UserError(str(error)) from error
    plans = go_live.planned_starts(reader, reader.policies, now, taken)
    bar = ProgressBar(reader.rows_hint, "import")
    try:  # cases start as rows are read: the ledger is never held whole
        report = await cases.open_cases(client, config.temporal.task_queue, (plan.start for plan in plans),
                                        progress=bar.advance)
    except LedgerFileError as error:
        raise UserError(f"{error}; the cases of the rows before it were started") from error
    finally:
        bar.close()
    errors = reader.errors
    for line in said(errors):
        print(f"{args.file}: {line}", file=sys.stderr)
    for number, reason in report.failed:
        print(f"{number}: non lancé : {reason}", file=sys.stderr)
    summary = {"started": len(report.started), "already_open": len(report.existing),
               "rejected_rows": reader.rejected, "failed": len(report.failed)}
    waited = None if args.no_wait or not report.started else await _wait_open(client, report.started,
                                                                              args.stall_seconds)
    if waited:
        summary.update(opened=waited.opened, still_opening=waited.still_opening)
    if args.json:
        print(json.dumps({**summary, "existing": report.existing, "errors": [e.model_dump() for e in errors]}))
    else:
        print(f"{summary['started']} dossier(s) lancé(s), {summary['already_open']} déjà ouvert(s) (rien de nouveau"
              f" lancé), {summary['rejected_rows']} ligne(s) rejetée(s), {summary['failed']} non lancé(s)")
        if waited:
            print(opening.summary_line(waited))
    return 1 if reader.rejected or report.failed or (waited and waited.still_opening) else 0


async def _wait_open(client, started: list[str], stall_seconds: float) -> opening.Opening:
    """The cases started open when a worker makes their first decision: wait for it, with a progress bar."""
    bar = ProgressBar(len(started), "ouverture")
    try:
        return await opening.wait_open(client, [case_workflow_id(n) for n in started], progress=bar.show,
                                        stall_seconds=stall_seconds)
    finally:
        bar.close()


async def _places_for_dry_run(config: Config, policies, now: dt.datetime):
    """The places earlier imports took, when Temporal answers at once; a dry run also works without it."""
    try:
        client = await connect(config.temporal)
        return await go_live.places_taken(client, config.temporal.task_queue, policies, now), None
    except Exception as error:  # noqa: BLE001 - the preview stands without them, and says so
        return None, getattr(error, "message", None) or str(error) or type(error).__name__


def _dry_run(args, reader: LedgerReader, plans, places_unknown: str | None = None) -> int:
    """`relance import --dry-run`: what each invoice would get first and when, per day; nothing starts."""
    try:
        if args.json:  # one object per invoice, in the file's order; the rows are all read once they are
            invoices = [{"number": plan.start.invoice.number, "stage": plan.stage, "first": plan.first,
                         "on": plan.on.isoformat() if plan.on else None,
                         "overdue_since": plan.overdue_since.isoformat() if plan.overdue_since else None}
                        for plan in plans]
            print(json.dumps({"invoices": invoices, "rejected_rows": reader.rejected, "places_unknown": places_unknown,
                              "errors": [e.model_dump() for e in reader.errors]}, ensure_ascii=False))
            return 1 if reader.rejected else 0
        text = go_live.dry_run_text(plans, cases.paris_today())
    except LedgerFileError as error:
        raise UserError(str(error)) from error
    print(text)
    if places_unknown:
        print(f"Places déjà prises par des imports précédents non comptées ({places_unknown})"
              f" — places taken by earlier imports not counted", file=sys.stderr)
    for line in said(reader.errors):
        print(f"{args.file}: {line}", file=sys.stderr)
    print(f"Aperçu seulement, aucun dossier ouvert ; {reader.rejected} ligne(s) rejetée(s)"
          f" — dry run, nothing started; {reader.rejected} row(s) rejected")
    return 1 if reader.rejected else 0


def _routed_ledger(path: Path, rules_dir: Path, today: dt.date,
                   mapping_file: str | None = None) -> tuple[LedgerReader, list[str]]:
    try:
        return rules_cli.routed_reader(path, rules_dir, today, mapping_file)
    except rules_cli.RulesError as error:
        raise UserError(str(error)) from error


async def cmd_sync(args, config: Config) -> int:
    """A newer export of the same book: new invoices open, paid ones close, lowered ones are credited, gone ones
    are reported (relance/sync.py); `--dry-run` first."""
    from relance import sync

    if args.schedule:
        client = await connect(config.temporal)
        done = await sync.schedule_daily(client, config.temporal.task_queue, args.hour, args.schedule_id)
        if args.run_now:
            await client.get_schedule_handle(args.schedule_id).trigger()
        print(f"synchronisation quotidienne {'créée' if done == 'created' else 'mise à jour'} ({args.schedule_id}) :"
              f" chaque jour à {args.hour} h, le dernier export de RELANCE_SYNC_DIR des workers"
              + (" ; lancée maintenant" if args.run_now else ""))
        return 0
    if not args.file:
        raise UserError("sync : donner un FICHIER, ou --schedule pour la synchronisation quotidienne du dossier de dépôt")
    reader, problems = _routed_ledger(Path(args.file), config.rules_dir, cases.paris_today(), args.mapping)
    for problem in problems:
        print(f"rules: {problem}", file=sys.stderr)
    client = await connect(config.temporal)
    try:
        report = await sync.sync(client, config.temporal.task_queue, reader, reader.policies,
                                 dt.datetime.now(dt.timezone.utc), dry_run=args.dry_run)
    except LedgerFileError as error:
        raise UserError(f"{error}; nothing after it was reconciled") from error
    except go_live.PlacesUnknown as error:
        raise UserError(str(error)) from error
    for line in said(reader.errors):
        print(f"{args.file}: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps({**report.summary(), "rejected_rows": reader.rejected, "vanished_invoices": report.vanished,
                          "raised_invoices": report.raised, "failures": report.failed}))
    else:
        print(report.text(args.dry_run))
        print(f"{reader.rejected} ligne(s) rejetée(s)" + (" — aperçu seulement, rien n'a changé" if args.dry_run else ""))
    return 1 if reader.rejected or report.failed else 0


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
    if not args.closed:
        clauses.append("ExecutionStatus = 'Running'")
    if args.limit < 1 or args.page < 1:
        raise UserError("--limit and --page count from 1")
    shown = listing.Page(client, " AND ".join(clauses), limit=None if args.all else args.limit,
                         page=1 if args.all else args.page)
    rows, total = await shown.rows(), await shown.total()
    if args.json:
        print(json.dumps({"total": total, "shown": len(rows), "first": shown.first(len(rows)), "rows": rows},
                         default=str, indent=2))
    else:
        for row in rows:
            print(views.list_line(row))
        print(listing.footer(len(rows), total, shown))
    return 0


async def cmd_debtor(args, config: Config) -> int:
    from relance import debtors

    client = await connect(config.temporal)
    as_of = args.as_of or cases.paris_today()
    found = await debtors.debtor_cases(client, args.debtor, as_of)
    if not found.statuses:
        raise UserError(f"aucun dossier pour le client {args.debtor}"
                        + (f" ({'; '.join(found.skipped)})" if found.skipped else ""))
    account = debtor_account(found.statuses, as_of)
    if args.pdf:
        from relance.statement_pdf import write_statement

        write_statement(account, config, Path(args.pdf))
    if args.json:
        print(json.dumps({**views.debtor_json(account), "skipped": found.skipped}, indent=2))
    else:
        print(views.debtor_text(account, found.skipped))
    return 0


async def cmd_debtors(args, config: Config) -> int:
    from relance import debtors

    client = await connect(config.temporal)
    as_of = args.as_of or cases.paris_today()
    accounts, skipped = await debtors.accounts(client, as_of, config.temporal.task_queue, stage=args.stage)
    if args.over_limit:
        accounts = [a for a in accounts if a.over_limit]
    if args.alerts:
        accounts = [a for a in accounts if a.alerts]
    if args.sort == "days":
        accounts.sort(key=lambda a: (-(a.oldest_days_late if a.oldest_days_late is not None else -10**6), a.debtor_id))
    else:
        accounts.sort(key=lambda a: (-a.exposure, a.debtor_id))
    if args.json:
        print(json.dumps([views.debtor_json(a) for a in accounts], indent=2))
    else:
        print(views.debtors_header())
        for account in accounts:
            print(views.debtors_line(account))
        print(f"{len(accounts)} client(s)")
    for why in skipped:
        print(f"hors compte: {why}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- ops messages


async def cmd_pay(args, config: Config) -> int:
    payment = _model(Payment, amount=_amount(args.amount), currency=args.currency, paid_on=args.date,
                     reference=args.reference)
    receipt = await _update(config, args.invoice, InvoiceCase.record_payment, payment)
    if args.json:
        print(receipt.model_dump_json(indent=2))
    else:
        print(f"Paiement enregistré : {views.format_eur(receipt.to_penalties)} aux pénalités, "
              f"{views.format_eur(receipt.to_indemnity)} à l'indemnité forfaitaire, "
              f"{views.format_eur(receipt.to_principal)} au principal ; reste dû {views.format_eur(receipt.balance)}"
              + (" ; dossier clos" if receipt.closed else "")
              + (f" ; TROP-PERÇU de {views.format_eur(receipt.overpaid)}, signalé à ops" if receipt.overpaid else ""))
    return 0


async def cmd_plan(args, config: Config) -> int:
    # Read at the door: a refused amount or date never costs a connection.
    proposal = _model(PlanProposal, instalments=[_instalment(text) for text in args.instalment]) if args.instalment else None
    client = await connect(config.temporal)
    case = cases.handle(client, args.invoice)
    try:
        if proposal is not None:
            decision = await case.execute_update(InvoiceCase.propose_plan, proposal)
        elif args.instalments:
            decision = await cases.plan_in_equal_parts(case, args.instalments, args.every, first_due=args.first)
        else:
            raise UserError("donner --instalments N [--every JOURS] ou un --instalment DATE=MONTANT par échéance")
    except WorkflowUpdateFailedError as refused:
        cause = _cause(refused)  # "échéancier refusé : ..." says it already
        raise UserError(f"{args.invoice}: {cause if cause.startswith('échéancier refusé') else f'refusé : {cause}'}") \
            from refused
    if args.json:
        print(decision.model_dump_json(indent=2))
    else:
        print("Plan accepté : " + ", ".join(f"{views.format_date_fr(i.due_date)} {views.format_eur(i.amount)}"
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
    return _told(args, outcomes, "arrêté(s) pour la procédure collective")


async def cmd_contact(args, config: Config) -> int:
    try:  # "Belgique" or "BEL" as typed is BE
        country = country_code(args.country) if args.country is not None else None
    except ValueError as error:
        raise UserError(f"pays : {error}") from error
    change = _model(ContactChange, email=args.email, address=args.address, country=country, language=args.language)
    if not change.changes():
        raise UserError("rien à changer : donner --email, --address, --country ou --language — nothing to change")
    client = await connect(config.temporal)
    outcomes = await cases.debtor_contact(client, args.debtor, change)
    return _told(args, outcomes, "désormais adressé(s) aux coordonnées corrigées")


def _told(args, outcomes: dict[str, str], what: str) -> int:
    """What each running case of the debtor answered a message sent to all of them."""
    if args.json:
        print(json.dumps(outcomes, indent=2))
    else:
        for number, outcome in outcomes.items():  # --json keeps the cases' words: "recorded", "refused: ..."
            answer = "enregistré" if outcome == "recorded" else f"refusé : {refusals.in_french(outcome.removeprefix('refused: '))}"
            print(f"{number}: {answer}")
        print(f"{sum(o == 'recorded' for o in outcomes.values())} sur {len(outcomes)} dossier(s) en cours de"
              f" {args.debtor} {what}")
    if not outcomes:
        print(f"aucun dossier en cours pour le débiteur {args.debtor}", file=sys.stderr)
    return 0 if outcomes and all(o == "recorded" for o in outcomes.values()) else 1


async def cmd_credit(args, config: Config) -> int:
    """A credit note or a payment not applied to an invoice yet, held by the customer's account (grouping per_debtor):
    netted in its messages, and a reminder it covers is not sent."""
    from domain.grouping import AccountStart, account_workflow_id
    from domain.invoice import amount_problem
    from domain.letters import AccountCredit
    from workflows.debtor_account import DebtorAccount

    start = dict(id=account_workflow_id(args.debtor), task_queue=config.temporal.task_queue)
    if args.remove:
        client = await connect(config.temporal)
        await client.start_workflow(DebtorAccount.run, AccountStart(debtor_id=args.debtor), **start,
                                    start_signal="remove_credit", start_signal_args=[args.remove])
        print(f"{args.remove} retiré du compte de {args.debtor}: il n'est plus déduit des relances")
        return 0
    if not args.amount or not args.reference:
        raise UserError("donner le montant et --reference (ou --remove REFERENCE)")
    amount = _amount(args.amount)
    problem = amount_problem(amount)
    if problem:
        raise UserError(f"montant {args.amount!r}: {problem}")
    on = args.date or cases.paris_today()
    if on > cases.paris_today():
        raise UserError(f"date {on:%d/%m/%Y}: dans le futur")
    credit = _model(AccountCredit, reference=args.reference, kind=args.kind, on=on, amount=amount)
    client = await connect(config.temporal)
    await client.start_workflow(DebtorAccount.run, AccountStart(debtor_id=args.debtor), **start,
                                start_signal="record_credit", start_signal_args=[credit])
    what = "avoir" if args.kind == "credit_note" else "règlement non imputé"
    print(f"{what} {args.reference} de {views.format_eur(amount)} enregistré sur le compte de {args.debtor}:"
          " déduit des prochaines relances")
    return 0


async def cmd_close(args, config: Config) -> int:
    status = await _update(config, args.invoice, InvoiceCase.close_case, _model(CloseRequest, reason=args.reason))
    return _print_status(args, status)


async def cmd_retry(args, config: Config) -> int:
    status = await _update(config, args.invoice, InvoiceCase.retry_step, _model(RetryRequest))
    return _print_status(args, status)


# ---------------------------------------------------------------- running


async def cmd_worker(args, config: Config) -> int:
    import worker

    await worker.run(config)
    return 0


async def cmd_up(args, config: Config) -> int:
    from relance.service import run_service

    return await run_service(config, ui_port=args.ui_port, port=args.port, codec_port=args.codec_port,
                             console_port=None if args.no_console else args.console_port)


async def cmd_console(args, config: Config) -> int:
    from console import server

    await server.serve(server.console_for(config), args.host, args.port)
    return 0


async def cmd_console_adduser(args, config: Config) -> int:
    """A console user; the first admin is made this way: there is never a default password."""
    from console import server
    from console.store import Store, StoreError

    password = None
    if not args.oidc:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"mot de passe de {args.login}: ")
            if getpass.getpass("une seconde fois: ") != password:
                raise UserError("les deux mots de passe diffèrent")
    store = Store(server.settings_from_env(config).store_path)
    try:
        user = store.add_user(args.login, args.name or args.login, args.role, password, dt.datetime.now(dt.timezone.utc))
    except StoreError as error:
        raise UserError(str(error)) from error
    print(f"utilisateur {user.login} ({user.role}) ajouté à {store.path}"
          + (": connexion par le fournisseur OpenID Connect" if args.oidc else ""))
    return 0


async def cmd_console_users(args, config: Config) -> int:
    from console import server
    from console.store import Store

    for user in Store(server.settings_from_env(config).store_path).users():
        print(f"{user.login:<30} {user.role:<6} {user.name}")
    return 0


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
    if args.json:
        print(json.dumps({"errors": errors, "lines": lines}, ensure_ascii=False))
    else:
        rules_cli.print_findings(lines)
    return 1 if errors else 0


async def cmd_rules_reload(args, config: Config) -> int:
    """Publish the folder's valid versions with their content; report the files refused to their registries,
    which keep the version in force: a refused file changes nothing, for any case or worker."""
    from relance import policies

    seen_by = "relance rules reload"
    valid, refused = rules_cli.read_rule_folder(config.rules_dir, seen_by)
    client = await connect(config.temporal)
    try:
        refusals = await policies.publish_refused(client, config.temporal.task_queue, refused)
        answers = await policies.publish(client, config.temporal.task_queue, valid.values(), seen_by=seen_by)
    except policies.NoWorker as error:
        raise UserError(str(error)) from error
    for file in refused:
        for problem in file.problems:
            print(problem, file=sys.stderr)
        print(refusals[file.source].message, file=sys.stderr)
    for answer in answers.values():  # each answer names its version
        print(answer.message, file=sys.stdout if answer.accepted else sys.stderr)
    return 1 if refused or not all(a.accepted for a in answers.values()) else 0


async def cmd_rules_history(args, config: Config) -> int:
    from relance import policies

    client = await connect(config.temporal)
    try:
        versions = await policies.history(client, config.temporal.task_queue, args.policy)
        refusals = await policies.refusals(client, config.temporal.task_queue, args.policy)
    except RPCError as error:
        raise UserError(f"aucune version de {args.policy!r} n'a été publiée : {error.message}") from error
    if args.json:
        print(rules_cli.as_json({"versions": [v.model_dump(mode="json") for v in versions],
                                 "refusals": [r.model_dump(mode="json") for r in refusals]}))
        return 0
    for v in versions:
        notified = "" if v.cases_notified is None else f", {v.cases_notified} dossier(s) en cours prévenu(s)"
        print(f"v{v.version}  empreinte {v.content_hash}  {v.adoption:<6} vue le {views.when(v.first_seen_at)}"
              f" par {v.seen_by}{notified}")
    for r in refusals:
        print(f"refus du {views.when(r.at)} ({r.seen_by or 'lecteur inconnu'}) : {r.source} : {r.reason}"
              f" ; en vigueur : {r.kept or 'aucune'}")
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
    # A step that cannot be carried out (a template, missing data) would stop these cases for real: said, and the
    # exit status lets a deploy script stop there.
    stuck = [s for s in result.statuses if s.failure is not None]
    for status in stuck[:20]:
        print(f"{status.invoice_number}: étape {status.failure.step} impossible — {status.failure.error}", file=sys.stderr)
    if stuck:
        print(f"{len(stuck)} dossier(s) arrêté(s) sur une étape impossible — {len(stuck)} case(s) stopped on a step"
              f" that cannot be carried out", file=sys.stderr)
    return 1 if stuck else 0


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
        raise UserError(f"{invoice}: le dossier n'a pas pu répondre : {error.message}") from error


async def _unless_broken(client, invoice: str, *, only_if_failing_now: bool = False, cause=None) -> None:
    try:
        broken = await cases.diagnose(client, invoice, only_if_failing_now=only_if_failing_now)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise UserError(f"aucun dossier pour la facture {invoice}") from error
        raise UserError(f"{invoice}: l'historique du dossier n'a pas pu être lu : {error.message}") from error
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


async def _update(config: Config, invoice: str, update, argument):
    client = await connect(config.temporal)
    try:
        return await cases.handle(client, invoice).execute_update(update, argument)
    except WorkflowUpdateFailedError as refused:
        raise UserError(f"{invoice}: refusé : {_cause(refused)}") from refused
    except RPCError as error:
        raise UserError(f"{invoice}: {error.message}") from error


def _cause(error: WorkflowUpdateFailedError) -> str:
    """The case's refusal, in French."""
    return refusals.in_french(
        error.cause.message if error.cause is not None and hasattr(error.cause, "message") else str(error))


def _print_status(args, status) -> int:
    print(status.model_dump_json(indent=2) if args.json else views.status_text(status, audit=False))
    return 0


def _model(cls, **fields):
    from pydantic import ValidationError

    if issubclass(cls, OpsMessage):  # the case's audit names who sent it
        fields.setdefault("by", f"cli:{getpass.getuser()}")
    try:
        return cls(**fields)
    except ValidationError as error:
        raise UserError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from error


def _amount(text: str) -> Decimal:
    """Bounded and validated as the ledger's amounts: a typo such as 1E400 never reaches a case."""
    try:
        return read_amount(text)
    except ValueError as error:
        raise UserError(f"montant refusé : {error}") from error


def _instalment(text: str) -> Instalment:
    day, _, amount = text.partition("=")
    try:
        return Instalment(due_date=dt.date.fromisoformat(day), amount=_amount(amount))
    except ValueError as error:
        raise UserError(f"échéance {text!r} : écrivez DATE=MONTANT, par exemple 2027-01-15=500.00") from error


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal, a few lines in a log otherwise."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self.tty = sys.stderr.isatty()
        self._last = -1

    def advance(self, n: int = 1) -> None:
        self.show(self.done + n)

    def show(self, done: int) -> None:
        self.done = done
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
        return parse_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ) — not a date"
                                         f" (DD/MM/YYYY or YYYY-MM-DD)") from error


def _rebase_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} n'est pas un nombre de jours — not a number of days") from None
    if not -3650 <= days <= 3650:  # ten years either way: far enough for any ledger, and a date Python can hold
        raise argparse.ArgumentTypeError(f"{text} jours : entre -3650 et 3650 — days: between -3650 and 3650")
    return days


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relance", description="Collections engine: one durable case per invoice.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, run, help_text, json_flag=True):
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.set_defaults(run=run)
        if json_flag:
            c.add_argument("--json", action="store_true", help="machine-readable output")
        return c

    c = command("import", cmd_import, "start one case per invoice of a CSV or JSON ledger, then wait until they"
                                      " have opened (made their first decision)")
    c.add_argument("file")
    c.add_argument("--no-wait", action="store_true",
                   help="return once the cases are started; they open as the workers get to them")
    c.add_argument("--stall-seconds", type=float, default=120,
                   help="stop waiting when no case has opened for this long (120): no worker, or a broken case")
    c.add_argument("--mapping", metavar="YAML", help="how to read an export whose headers are not recognized")
    c.add_argument("--dry-run", action="store_true",
                   help="print what each invoice would get first and when, per day; start nothing")
    c = command("sync", cmd_sync, "reconcile a newer export of the book with the running cases")
    c.add_argument("file", nargs="?")
    c.add_argument("--schedule", action="store_true",
                   help="create or update the Temporal schedule syncing the workers' RELANCE_SYNC_DIR daily")
    c.add_argument("--hour", type=int, default=6, choices=range(24), metavar="H", help="with --schedule: hour, Paris")
    c.add_argument("--schedule-id", default="relance-daily-sync", help=argparse.SUPPRESS)
    c.add_argument("--run-now", action="store_true", help="with --schedule: run it once now too")
    c.add_argument("--mapping", metavar="YAML", help="how to read an export whose headers are not recognized")
    c.add_argument("--dry-run", action="store_true", help="print the changes; change nothing")
    c = command("status", cmd_status, "where a case stands, why, and what comes next")
    c.add_argument("invoice")
    c = command("list", cmd_list, "cases through Temporal visibility")
    c.add_argument("--stage", choices=sorted(views.STAGE_LABELS))
    c.add_argument("--debtor", help="debtor id")
    c.add_argument("--paused", action="store_true", help="only disputed cases")
    c.add_argument("--closed", action="store_true", help="closed cases too")
    c.add_argument("--limit", type=int, default=1000, help="cases per page (1000)")
    c.add_argument("--page", type=int, default=1, help="which page of --limit cases (1)")
    c.add_argument("--all", action="store_true", help="every case, however many")
    c = command("debtor", cmd_debtor, "a customer's account: open invoices, credits, aging, exposure against the"
                " credit limit, next contact")
    c.add_argument("debtor", help="debtor id, as in the ledger")
    c.add_argument("--as-of", type=_date, help="the day the figures are computed for (default today)")
    c.add_argument("--pdf", metavar="FILE", help="also write the statement of account (relevé de compte) as a PDF")
    c = command("debtors", cmd_debtors, "customers with running cases, their exposure and oldest days late")
    c.add_argument("--over-limit", action="store_true", help="only those whose exposure passes the credit limit")
    c.add_argument("--alerts", action="store_true", help="only those with something to watch: exposure past the"
                   " limit, a limit lowered or withdrawn, invoices issued after a threat-of-loss notice")
    c.add_argument("--stage", choices=sorted(views.STAGE_LABELS), help="only those with an invoice at this stage")
    c.add_argument("--sort", choices=("exposure", "days"), default="exposure",
                   help="largest exposure first (default) or oldest days late first")
    c.add_argument("--as-of", type=_date, help="the day the figures are computed for (default today)")
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
        c = command(name, cmd_step, f"confirm a step of the {name} procedure: {', '.join(steps)}")
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
    c = command("contact", cmd_contact, "correct a debtor's email, postal address, country or language on all of its"
                " running cases: the next message, letter or court request uses them (then `relance retry` a step that"
                " failed for want of them)")
    c.add_argument("debtor", help="debtor id, as in the ledger")
    c.add_argument("--email")
    c.add_argument("--address", help='one line, parts separated by commas: "5 rue des Lilas, 75011 Paris"')
    c.add_argument("--country", help="code ISO (FR, BE...) ou nom du pays (Belgique, Belgium)")
    c.add_argument("--language", choices=["fr", "en"])
    c = command("credit", cmd_credit, "a credit note or an unapplied payment of a customer (grouping per_debtor):"
                " netted in its messages; a reminder it covers is not sent", json_flag=False)
    c.add_argument("debtor", help="debtor id, as in the ledger")
    c.add_argument("amount", nargs="?", help="amount, e.g. 1234.56 or 1 234,56")
    c.add_argument("--reference", help="the credit note's or the payment's reference")
    c.add_argument("--kind", choices=["credit_note", "payment"], default="credit_note")
    c.add_argument("--date", type=_date, help="its date (default today)")
    c.add_argument("--remove", metavar="REFERENCE", help="applied to an invoice since: no longer netted")
    c = command("close", cmd_close, "close a case by hand, with a reason")
    c.add_argument("invoice")
    c.add_argument("--reason", required=True)
    c = command("retry", cmd_retry, "run again a step that failed, once its data or template is fixed")
    c.add_argument("invoice")
    command("worker", cmd_worker, "run a worker against the configured Temporal", json_flag=False)
    c = command("up", cmd_up, "run everything locally: Temporal dev server, SMTP sink, worker, ops console",
                json_flag=False)
    c.add_argument("--port", type=int, default=7233)
    c.add_argument("--ui-port", type=int, default=8233)
    c.add_argument("--codec-port", type=int, default=8234, help="the codec server the Web UI decodes payloads with")
    c.add_argument("--console-port", type=int, default=8080, help="the ops console, on http://127.0.0.1:PORT")
    c.add_argument("--no-console", action="store_true", help="no ops console")
    c = command("console", cmd_console, "the ops console (web) against the configured Temporal;"
                " `relance console adduser` makes its users", json_flag=False)
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8080)
    users = c.add_subparsers(dest="console_command")
    u = users.add_parser("adduser", help="add a console user (the first admin too): the password is asked twice,"
                         " or read from stdin with --password-stdin", description="add a console user")
    u.set_defaults(run=cmd_console_adduser)
    u.add_argument("login")
    u.add_argument("--role", required=True, choices=("read", "ops", "admin"))
    u.add_argument("--name", default="")
    u.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    u.add_argument("--oidc", action="store_true", help="no password: signs in through RELANCE_OIDC_ISSUER")
    u = users.add_parser("users", help="list console users")
    u.set_defaults(run=cmd_console_users)
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
        c.add_argument("--rebase", type=_rebase_days, metavar="DAYS",
                       help="move the ledger's dates so the first invoice falls due DAYS after today")
        c.add_argument("--fast", action="store_true",
                       help="the decision core in memory instead of the workflows on Temporal: same timelines,"
                            " a 50,000-invoice ledger in seconds (emails named by template, not rendered)")
        c.add_argument("--verbose", action="store_true")
    return p


if __name__ == "__main__":
    main()
