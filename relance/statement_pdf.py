"""`relance debtor DEBTOR --pdf FILE`: the customer's statement of account (relevé de compte), printed from its
template with the creditor of the policy its invoices follow."""
from __future__ import annotations

from pathlib import Path

from activities.printing import print_pdf
from activities.rendering import render_statement
from activities.rules import RuleDirectory
from domain.debtor_account import DebtorAccount
from relance.config import Config


def write_statement(account: DebtorAccount, config: Config, path: Path) -> Path:
    policies = {i.policy_ref.split("@")[0] for i in account.invoices} or {"default"}
    policy = RuleDirectory(config.rules_dir).get(sorted(policies)[0])  # one creditor per company: any will do
    path.write_bytes(print_pdf(render_statement(account, policy.creditor, account.as_of)))
    return path
