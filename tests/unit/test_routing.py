"""Which policy chases an invoice: the row's own, else the first matching route, else the default."""
from relance.config import ROOT
from relance.rules_cli import read_routed_ledger


def test_rows_without_a_policy_are_routed_and_named_ones_kept(tmp_path):
    ledger = tmp_path / "l.csv"
    ledger.write_text(
        "number;issue_date;due_date;debtor_id;debtor_name;debtor_email;amount_incl_tax;debtor_segment;policy\n"
        "R-1;01/01/2026;31/01/2026;D1;Key Account SA;a@k.example;100,00;grands_comptes;\n"
        "R-2;01/01/2026;31/01/2026;D2;Small SARL;b@s.example;100,00;btp;\n"
        "R-3;01/01/2026;31/01/2026;D3;Named SAS;c@n.example;100,00;grands_comptes;default\n"
        "R-4;01/01/2026;31/01/2026;D4;Typo SAS;d@t.example;100,00;btp;defualt\n", encoding="utf-8")
    rows, errors, problems = read_routed_ledger(ledger, ROOT / "rules")
    assert {r.invoice.number: r.invoice.policy_id for r in rows} == {
        "R-1": "grands-comptes", "R-2": "default", "R-3": "default"}
    assert [(e.row, e.field) for e in errors if e.severity == "error"] == [(5, "policy")] and problems == []
