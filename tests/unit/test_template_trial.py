"""`rules check` and the fast preview render every template a policy uses before a case relies on it: a template an
admin broke is named there, not found by the first case that reaches its step."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from domain.rule_file import load_policy_file
from relance import rules_cli
from relance.config import ROOT
from relance.template_trial import trial

TODAY = dt.date(2026, 12, 7)
POLICY = load_policy_file(ROOT / "rules" / "default.yaml")


@pytest.fixture
def templates(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", folder)
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(folder))
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_templates_render_for_the_shipped_policy(templates):
    assert trial(POLICY, TODAY) == []


def test_a_syntax_error_names_the_rule_field_the_template_and_its_line(templates):
    (templates / "fr" / "reminder_firm.html").write_text("<p>\n{% if %}</p>", encoding="utf-8")
    findings = trial(POLICY, TODAY)
    assert len(findings) == 1 and findings[0].level == "error", findings
    assert findings[0].field.startswith("reminders.") and "fr/reminder_firm.html:2" in findings[0].message


def test_a_mistake_on_the_account_branch_only_is_found(templates):
    """A customer's message (several invoices, a credit netted) takes its own template: a typo there fails only
    those messages, which a single-invoice specimen would never show."""
    _edit(templates / "en" / "account_message.html", "{{", "{{ credits_totl }}{{")
    findings = trial(POLICY, TODAY)
    assert findings and all("(en)" in f.message and "credits_totl" in f.message for f in findings), findings
    assert len(findings) == 1, "the same error once, not once per kind using the account message"


def test_the_sandbox_refusal_and_a_broken_letter_are_errors_too(templates):
    _edit(templates / "fr" / "mise_en_demeure.document.html", "{{", "{{ invoice.__class__.__mro__ }}{{")
    _edit(templates / "fr" / "statement_of_account.document.html", "{{", "{{ account.nothing.here }}{{")
    messages = " | ".join(str(f) for f in trial(POLICY, TODAY))
    assert "letter template 'mise_en_demeure' (fr)" in messages and "SecurityError" in messages
    assert "letter template 'statement_of_account' (fr)" in messages


def test_rules_check_fails_and_the_fast_preview_refuses_on_a_broken_template(templates, tmp_path):
    (templates / "fr" / "reminder_overdue.txt").write_text("{{ montant_du }}", encoding="utf-8")
    lines, errors = rules_cli.check([ROOT / "rules" / "default.yaml"], TODAY)
    assert errors >= 1 and any("reminder_overdue" in line and "montant_du" in line for line in lines), lines
    ledger = ROOT / "examples" / "ledger.csv"
    with pytest.raises(rules_cli.RulesError, match="montant_du"):
        import asyncio
        asyncio.run(rules_cli.run_simulation(ledger, ROOT / "rules", None, None, fast=True,
                                             start=dt.datetime(2026, 12, 7, 9, tzinfo=dt.timezone.utc)))
