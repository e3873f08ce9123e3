"""`relance rules simulate` and `diff`: a ledger through the real workflows under two rule folders."""
import shutil

from domain.rule_file import load_policy_file
from relance import rules_cli
from relance.config import ROOT

LEDGER = """number;issue_date;due_date;debtor_id;debtor_name;debtor_email;amount_incl_tax;insured;script
P-1;01/01/2026;31/01/2026;D1;Client Un;un@client.example;1 000,00;non;+40 pay full
P-2;01/01/2026;31/01/2026;D2;Client Deux;deux@client.example;9 000,00;non;
"""


async def test_diff_shows_moved_and_removed_reminders_and_totals(tmp_path, config):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(ROOT / "rules", old)
    shutil.copytree(ROOT / "rules", new)
    text = (new / "default.yaml").read_text()
    draft = load_policy_file(old / "default.yaml").version + 1
    text = text.replace(f"version: {draft - 1}", f"version: {draft}").replace("  - id: amicable-j+30\n    offset_days: 30", "  - id: amicable-j+30\n    offset_days: 20")
    text = text.replace("  - id: amicable-j+45\n    offset_days: 45\n    channels: [email]\n    template: reminder_last\n", "")
    (new / "default.yaml").write_text(text)

    before = await rules_cli.run_simulation(ledger, old, config, rebase_days=15)
    after = await rules_cli.run_simulation(ledger, new, config, rebase_days=15)
    report = rules_cli.diff(before, after)

    p2 = report["cases"]["P-2"]
    assert any(c["step"] == "reminder:amicable-j+30" and c["to"] == "J+20" for c in p2["earlier"])
    assert [c["step"] for c in p2["disappear"]] == ["reminder:amicable-j+45"]
    assert report["totals"]["old"]["emails"] - report["totals"]["new"]["emails"] == 1
    assert report["totals"]["old"]["court"] == report["totals"]["new"]["court"] == 1
    assert "P-2: reminder:amicable-j+30 J+" in rules_cli.diff_text(report)
    timeline = rules_cli.simulation_text(after)
    assert f"P-1 (default@v{draft})" in timeline and "Facture réglée" in timeline
