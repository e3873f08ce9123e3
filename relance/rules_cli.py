"""`relance rules ...`: check rule files, preview them on a ledger, compare two versions, publish, audit."""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

from activities.rendering import templates_by_channel
from relance.template_trial import trial
from domain.case import CaseStatus
from domain.policy import Policy
from domain.policy_checks import Finding, check_policy, unknown_countries
from domain.routing import load_routing
from domain.rule_file import ROUTING_FILE, RuleFileError, declared_policy_id, load_policy_file, policy_files
from domain.versions import RefusedFile
from importers.mapping import NO_MAPPING, Mapping, load_mapping
from relance import views
from relance.config import Config
from relance.ledger import LedgerFileError, LedgerReader, LedgerRow, RowError, read_ledger
from relance.simulation import SimulationResult, simulate, simulate_fast

# What counts as an action in a preview: what the debtor, the court or the insurer would see, and ops' tasks.
VISIBLE = ("email", "letter", "task", "escalation", "insurer", "document")
PARALLEL_FROM = 200  # invoices: below this a second worker process costs more to start than it saves


class RulesError(Exception):
    """Reported in one line by the CLI, exit status 1."""


def valid_policies(rules_dir: Path) -> tuple[dict[str, Policy], list[str]]:
    """Every policy file that validates; a broken one is reported, and nothing starts or changes under it."""
    policies, refused = read_rule_folder(rules_dir)
    return policies, [problem for file in refused for problem in file.problems]


def read_rule_folder(rules_dir: Path, seen_by: str = "") -> tuple[dict[str, Policy], list[RefusedFile]]:
    """Every policy file that validates, and the files refused with why (for their policy's registry)."""
    policies, refused = {}, []
    for path in policy_files(rules_dir):
        try:
            policy = load_policy_file(path)
        except RuleFileError as error:
            refused.append(RefusedFile(policy_id=declared_policy_id(path), source=str(path), seen_by=seen_by,
                                       problems=[str(p) for p in error.problems]))
            continue
        if policy.policy_id in policies:
            refused.append(RefusedFile(policy_id=policy.policy_id, source=str(path), seen_by=seen_by, problems=[
                f"{path}: policy_id {policy.policy_id!r} is defined twice; this file is ignored"]))
            continue
        policies[policy.policy_id] = policy
    return policies, refused


# ---------------------------------------------------------------- check


def check(paths: list[Path], today: dt.date) -> tuple[list[str], int]:
    """Lines to print, and the number of errors (schema errors, then meaning, then French practice).
    Lines that report a problem start with the file name and never end in a verdict."""
    files = [f for p in paths for f in (policy_files(p) if p.is_dir() else [p]) if f.name != ROUTING_FILE]
    lines, errors, seen = [], 0, {}
    templates = templates_by_channel()
    for path in files:
        try:
            policy = load_policy_file(path)
        except RuleFileError as error:
            lines.extend(f"{problem}" for problem in error.problems)
            errors += len(error.problems)
            continue
        if policy.policy_id in seen:
            lines.append(f"{path}: error: policy_id {policy.policy_id!r} is already defined in {seen[policy.policy_id]}")
            errors += 1
        seen[policy.policy_id] = path
        findings = check_policy(policy, templates, today) + trial(policy, today)
        errors += sum(f.level == "error" for f in findings)
        lines.extend(f"{path}: {f}" for f in findings)
        verdict = "ok" if not any(f.level == "error" for f in findings) else "errors"
        lines.append(f"{path}: {verdict} ({policy.ref}, {policy.adoption}, hash {policy.content_hash},"
                     f" {sum(f.level == 'warning' for f in findings)} warning(s))")
    for folder in {p if p.is_dir() else p.parent for p in paths}:
        # The routes may name any policy of the folder, checked now or not (`rules check one.yaml`).
        lines_, errors_ = _check_routing(folder, set(seen) | set(valid_policies(folder)[0]))
        lines += lines_
        errors += errors_
    return lines, errors


def _check_routing(folder: Path, policies: set[str]) -> tuple[list[str], int]:
    if not (folder / ROUTING_FILE).exists():
        return [], 0
    try:
        routing = load_routing(folder)
    except RuleFileError as error:
        return [str(p) for p in error.problems], len(error.problems)
    missing = sorted(routing.policies() - policies)
    path = folder / ROUTING_FILE
    problems = [f"{path}: error: routes to unknown policy {name!r}" for name in missing]
    problems += [f"{path}: {finding}" for n, route in enumerate(routing.routes)
                 for finding in unknown_countries(route.when.countries, f"routes.{n}.when.countries")]
    if problems:
        return problems, len(problems)
    return [f"{path}: ok ({len(routing.routes)} route(s), default {routing.default})"], 0


# ---------------------------------------------------------------- simulate and diff


@dataclasses.dataclass(frozen=True)
class Planned:
    """One action of a simulated case, dated in days from the invoice's due date."""

    invoice: str
    step: str
    kind: str
    day: int
    on: dt.date
    rule: str


def read_routed_ledger(ledger: Path, rules_dir: Path,
                       mapping_file: str | None = None) -> tuple[list[LedgerRow], list[RowError], list[str]]:
    """The ledger's rows with their policy (named in the row, or chosen by routing.yaml), the rows refused
    and the warnings, and the rule-file problems; a row under a broken or unknown policy is refused."""
    policies, problems = valid_policies(rules_dir)
    try:
        routing = load_routing(rules_dir)
        rows, errors = read_ledger(ledger, known_policies=set(policies), route=routing.policy_for,
                                   mapping=mapping_of(mapping_file), policies=policies)
    except (LedgerFileError, RuleFileError) as error:
        raise RulesError(str(error)) from error
    return rows, errors, problems


def routed_reader(path: Path, rules_dir: Path, today: dt.date,
                  mapping_file: str | None = None) -> tuple[LedgerReader, list[str]]:
    """`read_routed_ledger`, row by row, for `relance import` and `relance sync`: each row with its policy (named
    in the row, or chosen by routing.yaml), a row under a broken or unknown policy refused, dates checked against
    `today`, its history checked against its policy."""
    policies, problems = valid_policies(rules_dir)
    try:
        routing = load_routing(rules_dir)
        reader = LedgerReader(path, known_policies=set(policies), route=routing.policy_for, today=today,
                              mapping=mapping_of(mapping_file), policies=policies)
    except (LedgerFileError, RuleFileError) as error:
        raise RulesError(str(error)) from error
    return reader, problems


def mapping_of(path: str | None) -> Mapping:
    """The `--mapping` file, or none (LedgerFileError when it cannot be read)."""
    return load_mapping(Path(path)) if path else NO_MAPPING


async def run_simulation(ledger: Path, rules_dir: Path, config: Config, rebase_days: int | None,
                         progress=None, *, fast: bool = False, start: dt.datetime | None = None) -> SimulationResult:
    """The ledger through the real workflows on the time-skipping server; with `fast`, through the same decision
    core in memory (`start`: the moment the preview begins, now by default)."""
    if not rules_dir.is_dir():
        raise RulesError(f"{rules_dir} : dossier de règles introuvable — no such rules folder")
    rows, errors, problems = read_routed_ledger(ledger, rules_dir)
    if problems:
        raise RulesError("rules refused:\n" + "\n".join(problems))
    errors = [error for error in errors if error.severity == "error"]  # a warning does not change a timeline
    if errors:
        raise RulesError(f"{ledger}: " + "; ".join(str(e) for e in errors[:10])
                         + (f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""))
    if fast:
        policies, _ = valid_policies(rules_dir)
        start = start or dt.datetime.now(dt.timezone.utc)
        # The fast preview writes no letter: a template that cannot render would fail every case reaching it.
        broken = [f"{policies[name].ref}: {finding}" for name in sorted({row.invoice.policy_id for row in rows})
                  for finding in trial(policies[name], start.date())]
        if broken:
            raise RulesError("templates that cannot be rendered (each case reaching them would wait for ops):\n"
                             + "\n".join(broken))
        return simulate_fast(rows, policies, start or dt.datetime.now(dt.timezone.utc), lead_days=rebase_days)
    with tempfile.TemporaryDirectory(prefix="relance-sim-") as scratch:
        var = Path(scratch)
        config = dataclasses.replace(config, rules_dir=rules_dir, var_dir=var, documents_dir=var / "documents",
                                     sent_ledger=var / "sent.sqlite3")
        extra = max(0, (os.cpu_count() or 1) - 1) if len(rows) >= PARALLEL_FROM else 0
        policies, _ = valid_policies(rules_dir)
        return await simulate(rows, config, policies, lead_days=rebase_days, send_mail=False, extra_workers=extra,
                              progress=progress)


def planned(result: SimulationResult) -> list[Planned]:
    out = []
    for status in result.statuses:
        due = _due(status, result)
        for action in status.audit:
            if action.kind in VISIBLE:
                on = views.paris_date(action.at)
                out.append(Planned(status.invoice_number, action.step, action.kind, (on - due).days, on, action.rule_id))
    return out


def _due(status: CaseStatus, result: SimulationResult) -> dt.date:
    return result.due_dates[status.invoice_number]  # as simulated: after any rebase


def simulation_text(result: SimulationResult) -> str:
    lines = []
    for status in result.statuses:
        lines.append(f"{status.invoice_number} ({status.policy_ref}) — {views.STAGE_LABELS.get(status.stage, status.stage)}"
                     + (f", {status.closed_reason}" if status.closed_reason else ""))
        due = _due(status, result)
        for action in status.audit:
            if action.kind in VISIBLE or action.kind in ("payment", "dispute", "plan", "close", "policy"):
                on = views.paris_date(action.at)
                lines.append(f"  {views.format_date_fr(on)} J{(on - due).days:+d}  {action.kind:<10} {action.summary}  [{action.rule_id}]")
    return "\n".join(lines) + "\n"


def diff(old: SimulationResult, new: SimulationResult) -> dict:
    """Per invoice, actions that move earlier or later, appear or disappear; then totals of both runs."""
    by_case = collections.defaultdict(lambda: {"earlier": [], "later": [], "appear": [], "disappear": []})
    old_steps = {(p.invoice, p.step): p for p in planned(old)}
    new_steps = {(p.invoice, p.step): p for p in planned(new)}
    for key in sorted(old_steps.keys() | new_steps.keys()):
        before, after = old_steps.get(key), new_steps.get(key)
        invoice, step = key
        if before and after and before.day != after.day:
            by_case[invoice]["earlier" if after.day < before.day else "later"].append(
                {"step": step, "from": f"J{before.day:+d}", "to": f"J{after.day:+d}"})
        elif after and not before:
            by_case[invoice]["appear"].append({"step": step, "at": f"J{after.day:+d}"})
        elif before and not after:
            by_case[invoice]["disappear"].append({"step": step, "at": f"J{before.day:+d}"})
    return {"cases": dict(by_case), "totals": {"old": totals(old), "new": totals(new)}}


def emails_sent(result: SimulationResult) -> dict[str | tuple[str, str], dt.date]:
    """Each email a debtor receives and its day: one a step per invoice, one for all the invoices a customer's
    message carried (`grouping: per_debtor`: its lines share the account's key)."""
    sent: dict[str | tuple[str, str], dt.date] = {}
    for status in result.statuses:
        for action in status.audit:
            if action.kind == "email" and action.refs:  # none: taken out of its customer's message, or netted
                key = next((r for r in action.refs if r.startswith("account-")), (status.invoice_number, action.step))
                on = views.paris_date(action.at)
                sent[key] = min(sent.get(key, on), on)
    return sent


def totals(result: SimulationResult) -> dict:
    emails = collections.Counter(on.strftime("%Y-%m") for on in emails_sent(result).values())
    paths = collections.Counter(s.path for s in result.statuses if s.path)
    return {"emails_per_month": dict(sorted(emails.items())), "emails": sum(emails.values()),
            "court": paths["injonction"] + paths["small_claims"], "insurer": paths["insurer_claim"],
            "closed": sum(s.stage == "closed" for s in result.statuses), "cases": len(result.statuses)}


def diff_text(report: dict) -> str:
    lines = []
    for invoice, changes in sorted(report["cases"].items()):
        parts = [f"{c['step']} {c['from']} → {c['to']}" for c in changes["earlier"] + changes["later"]]
        parts += [f"+ {c['step']} {c['at']}" for c in changes["appear"]]
        parts += [f"- {c['step']} {c['at']}" for c in changes["disappear"]]
        if parts:
            lines.append(f"{invoice}: " + "; ".join(parts))
    if not lines:
        lines.append("Aucune action n'est avancée, retardée, ajoutée ni retirée.")
    old, new = report["totals"]["old"], report["totals"]["new"]
    lines.append("")
    lines.append(f"{'':<26}{'en vigueur':>12}{'proposée':>10}")
    for label, key in (("e-mails", "emails"), ("dossiers au tribunal", "court"), ("dossiers à l'assureur", "insurer"),
                       ("dossiers clos", "closed")):
        lines.append(f"{label:<26}{old[key]:>12}{new[key]:>10}")
    months = sorted(old["emails_per_month"].keys() | new["emails_per_month"].keys())
    for month in months:
        lines.append(f"  e-mails {month:<16}{old['emails_per_month'].get(month, 0):>12}"
                     f"{new['emails_per_month'].get(month, 0):>10}")
    return "\n".join(lines) + "\n"


def print_findings(lines: list[str]) -> None:
    """Verdicts on stdout; problems on stderr, so a deploy script can keep them apart."""
    for line in lines:
        verdict = line.endswith(")") and (": ok (" in line or ": errors (" in line)
        print(line, file=sys.stdout if verdict else sys.stderr)


def as_json(obj) -> str:
    return json.dumps(obj, indent=2, default=str, ensure_ascii=False)


__all__ = ["Finding", "RulesError", "check", "diff", "diff_text", "planned", "run_simulation", "simulation_text",
           "totals", "read_rule_folder", "valid_policies"]
