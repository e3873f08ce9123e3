"""`relance debtor DEBTOR --pdf FILE`: the customer's statement of account (relevé de compte), printed from its
template with the creditor of the policy its invoices follow."""
from __future__ import annotations

from pathlib import Path

from activities.printing import print_pdf
from activities.rendering import render_statement
from activities.rules import RuleDirectory
from domain.debtor_account import DebtorAccount
from relance.config import Config


def statement_pdf(account: DebtorAccount, rules_dir: Path) -> bytes:
    """The statement of account, printed with the creditor of the policy its invoices follow."""
    policies = {i.policy_ref.split("@")[0] for i in account.invoices} or {"default"}
    policy = RuleDirectory(rules_dir).get(sorted(policies)[0])  # one creditor per company: any will do
    return print_pdf(render_statement(account, policy.creditor, account.as_of))


def write_statement(account: DebtorAccount, config: Config, path: Path) -> Path:
    path.write_bytes(statement_pdf(account, config.rules_dir))
    return path
