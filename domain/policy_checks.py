"""What `relance rules check` says about a policy beyond its schema: meaning, coverage and French practice."""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal
from typing import Literal

from domain.countries import country_code, is_country
from domain.policy import Channel, Policy

CENT = Decimal("0.01")
# Kinds the workflow renders itself, whatever the ladder says.
FIXED_TEMPLATES = {"email": {"plan_accepted", "ops_task", "insurer_claim"},
                   "letter": {"injonction_request", "small_claims_request", "insurer_claim", "statement_of_account"}}
LEGAL_INDEMNITY = Decimal("40.00")  # Code de commerce D441-5
MIN_DAYS_BETWEEN_REMINDERS = 3  # closer than this reads as harassment, which French law punishes


@dataclasses.dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.field}: {self.message}"


def check_policy(policy: Policy, templates: dict[str, set[str]], today: dt.date) -> list[Finding]:
    return [*_templates(policy, templates), *_escalation_coverage(policy), *_rates(policy, today), *_practice(policy, today),
            *(f for n, rule in enumerate(policy.escalation)
              for f in unknown_countries(rule.when.countries, f"escalation.{n}.when.countries"))]


def unknown_countries(countries: list[str] | None, field: str) -> list[Finding]:
    """A condition names debtors' countries by ISO code, as cases keep them: "Belgique" would match no debtor."""
    findings = []
    for given in countries or []:
        if is_country(given):
            continue
        try:
            hint = f": write {country_code(given)}"
        except ValueError:
            hint = ""
        findings.append(Finding("error", field, f"{given!r} is not an ISO 3166 country code{hint}"))
    return findings


def _templates(policy: Policy, templates: dict[str, set[str]]) -> list[Finding]:
    return [Finding("error", field, f"no {channel.value} template {kind!r} in fr/ of the templates folder (RELANCE_TEMPLATES_DIR)")
            for field, kind, channel in templates_wanted(policy) if kind not in templates[channel.value]]


def templates_wanted(policy: Policy) -> list[tuple[str, str, Channel]]:
    """Every template the policy's cases may render: (the rule field naming it, its kind, email or letter)."""
    wanted = [(f"reminders.{n}.template", r.template, c) for n, r in enumerate(policy.reminders) for c in r.channels]
    wanted += [("formal_notice.template", policy.formal_notice.template, c) for c in policy.formal_notice.channels]
    # A letter attached to its email is printed from the kind's document template.
    wanted += [(f"reminders.{n}.attach_pdf", r.template, Channel.letter) for n, r in enumerate(policy.reminders)
               if r.attach_pdf and Channel.email in r.channels]
    if policy.formal_notice.attach_pdf:
        wanted.append(("formal_notice.attach_pdf", policy.formal_notice.template, Channel.letter))
    wanted += [("negotiation.template", policy.negotiation.template, Channel.email)]
    if policy.payments.thank_you_template:
        wanted.append(("payments.thank_you_template", policy.payments.thank_you_template, Channel.email))
    wanted += [("(built in)", kind, Channel(channel)) for channel, kinds in FIXED_TEMPLATES.items() for kind in kinds]
    return [(field, kind, channel) for field, kind, channel in wanted if channel is not Channel.phone]


def _escalation_coverage(policy: Policy) -> list[Finding]:
    """Try one debtor of every kind the conditions tell apart; say which kinds no rule takes."""
    rules = policy.escalation
    thresholds = sorted({t for r in rules for t in (r.when.amount_at_least, r.when.amount_below) if t is not None})
    amounts = sorted({CENT, *thresholds, *(t - CENT for t in thresholds if t > CENT)})
    segments = sorted({s for r in rules for s in r.when.segments or []}) + ["(other)"]
    countries = sorted({c for r in rules for c in r.when.countries or []} | {"FR"}) + ["(other)"]
    gaps = []
    for insured, amount, segment, country in itertools.product((True, False), amounts, segments, countries):
        if not any(r.when.holds(insured=insured, amount=amount, segment=segment, country=country) for r in rules):
            gaps.append(f"insured={str(insured).lower()}, amount {amount} EUR, segment {segment}, country {country}")
    findings = [Finding("warning", "escalation", f"no rule for: {gap} (such a case gets an ops task)") for gap in gaps[:10]]
    if len(gaps) > 10:
        findings.append(Finding("warning", "escalation", f"... and {len(gaps) - 10} more kinds of debtor"))
    for n, rule in enumerate(rules):
        below = rule.when.amount_below
        if rule.path == "small_claims" and (below is None or below > policy.small_claims.max_amount):
            findings.append(Finding("error", f"escalation.{n}.when", f"rule {rule.id!r} sends claims above the"
                                    f" {policy.small_claims.max_amount} EUR small-claims ceiling there"))
    return findings


def _rates(policy: Policy, today: dt.date) -> list[Finding]:
    """Every half-year from the first rate to today's needs its ECB rate: the law takes the 1 Jan / 1 Jul one."""
    have = {r.effective for r in policy.penalties.ecb_rates}
    findings = [Finding("error", "penalties.ecb_rates", f"{day} is not 1 January or 1 July")
                for day in sorted(have) if (day.month, day.day) not in ((1, 1), (7, 1))]
    start = min(have)
    current = dt.date(today.year, 1 if today.month <= 6 else 7, 1)
    half = dt.date(start.year, 1 if start.month <= 6 else 7, 1)
    while half <= current:
        if half not in have:
            level = "warning" if half == current else "error"
            findings.append(Finding(level, "penalties.ecb_rates", f"no ECB rate for the half-year starting {half}"
                                    " (the previous one would be applied)"))
        half = dt.date(half.year + (half.month == 7), 7 if half.month == 1 else 1, 1)
    return findings


def _latest(rates, today: dt.date) -> Decimal:
    return max((r for r in rates if r.effective <= today), key=lambda r: r.effective, default=rates[0]).rate_percent


def _practice(policy: Policy, today: dt.date) -> list[Finding]:
    findings = []
    if policy.max_payment_terms_days > 60:
        findings.append(Finding("warning", "max_payment_terms_days",
                                f"{policy.max_payment_terms_days} days exceeds the 60 days of Code de commerce L441-10"))
    if policy.payments.impute == "principal_first":
        findings.append(Finding("warning", "payments.impute", "principal before penalties departs from Code civil"
                                " 1343-1: only where the contract says so"))
    if not policy.calendar.business_days_only:
        findings.append(Finding("warning", "calendar.business_days_only",
                                "reminders may go out on weekends and French public holidays"))
    if policy.penalties.legal_rates:
        rate = _latest(policy.penalties.ecb_rates, today) + policy.penalties.points_over_ecb
        floor = 3 * _latest(policy.penalties.legal_rates, today)
        if rate < floor:
            findings.append(Finding("warning", "penalties.points_over_ecb", f"a penalty rate of {rate} % today is"
                                    f" below 3 × the legal interest rate ({floor} %), the floor of L441-10"))
    indemnity = policy.penalties.fixed_indemnity
    if indemnity == 0:
        findings.append(Finding("warning", "penalties.fixed_indemnity", "0 waives the 40.00 EUR indemnity D441-5 gives"
                                " every late invoice: letters will not claim it"))
    elif indemnity != LEGAL_INDEMNITY:
        findings.append(Finding("warning", "penalties.fixed_indemnity", f"D441-5 sets the indemnity at 40.00 EUR, not"
                                f" {indemnity}: more is owed only on proof of the costs (L441-10), never as a flat rate"))
    insurer, notice = policy.insurer, policy.formal_notice
    last_safe_filing = insurer.max_credit_period_days + insurer.filing_window_days - insurer.file_days_before_deadline
    if notice.offset_days + notice.deadline_days >= last_safe_filing:
        findings.append(Finding("warning", "insurer", f"the notice's deadline (J+{notice.offset_days + notice.deadline_days})"
                                f" reaches the insurer's last safe filing day (J+{last_safe_filing}): insured cases file"
                                " the threat-of-loss notice before the notice's deadline ends"))
    if "insolvency" not in policy.model_fields_set:
        findings.append(Finding("warning", "insolvency", f"no insolvency section: a procédure collective gives"
                                f" {policy.insolvency.declaration_months} months to declare the claim (the legal default)"))
    offsets = [r.offset_days for r in policy.reminders]
    for before, after in zip(offsets, offsets[1:]):
        if after - before < MIN_DAYS_BETWEEN_REMINDERS:
            findings.append(Finding("warning", "reminders", f"reminders {before:+d} and {after:+d} days are less than"
                                    f" {MIN_DAYS_BETWEEN_REMINDERS} days apart: reminding too often is harassment"))
    return findings
