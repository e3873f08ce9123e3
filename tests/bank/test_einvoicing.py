"""The e-invoicing loop: 212 Encaissée written once per payment; the platform's statuses read and acted on."""
import datetime as dt
from decimal import Decimal

from bank.einvoicing import StatusFile, read_statuses
from domain import decisions
from domain.case import CaseState, PlatformStatus
from domain.transitions import platform_status, platform_status_refusal
from tests.unit.test_schedule import POLICY, an_invoice

NOW = dt.datetime(2027, 3, 10, 12, tzinfo=dt.timezone.utc)


def a_case() -> CaseState:
    invoice = an_invoice("1000.00", False)
    return CaseState(invoice=invoice, opened_at=NOW, principal=invoice.amount_incl_tax, accrued_through=invoice.due_date)


def test_cashed_is_written_once_per_invoice_and_bank_entry(tmp_path):
    out = StatusFile(tmp_path / "statuses-out.csv")
    assert out.cashed("FA-1", Decimal("100.00"), dt.date(2027, 3, 1), "BQ-1")
    assert not out.cashed("FA-1", Decimal("100.00"), dt.date(2027, 3, 1), "BQ-1")
    assert out.cashed("FA-1", Decimal("50.00"), dt.date(2027, 3, 2), "BQ-2")
    assert (tmp_path / "statuses-out.csv").read_text(encoding="utf-8").splitlines() == [
        "invoice;status;label;amount;cashed_on;bank_reference",
        "FA-1;212;Encaissée;100.00;2027-03-01;BQ-1", "FA-1;212;Encaissée;50.00;2027-03-02;BQ-2"]


def test_platform_statuses_are_read_from_csv_or_json_and_bad_rows_named(tmp_path):
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("invoice;status;date;comment\nFA-1;207;2027-03-08;Livraison incomplète\nFA-2;205;2027-03-08;\n"
                        "FA-3;225;08/03/2027;\n;210;2027-03-08;\n", encoding="utf-8")
    found, problems, other = read_statuses(csv_file)
    assert [(r.row, r.invoice, r.status.code, r.status.comment) for r in found] == [(2, "FA-1", "207", "Livraison incomplète")]
    assert other == 1 and problems == ["in.csv: ligne 4, date: '08/03/2027' n'est pas une date AAAA-MM-JJ",
                                       "in.csv: ligne 5, invoice: numéro de facture manquant"]
    json_file = tmp_path / "in.json"
    json_file.write_text('[{"invoice": "FA-9", "status": "213", "date": "2027-03-09"}]')
    assert [r.status.code for r in read_statuses(json_file)[0]] == ["213"]


def test_207_disputes_210_asks_ops_225_stops_the_chasing_and_a_status_counts_once():
    s = a_case()
    disputed = platform_status(s, POLICY, PlatformStatus(code="207", on=dt.date(2027, 3, 9), comment="Prix"), NOW).state
    assert disputed.dispute is not None and "207" in disputed.dispute.reason
    assert platform_status_refusal(disputed, PlatformStatus(code="207", on=dt.date(2027, 3, 9), comment="Prix"))
    refused = platform_status(s, POLICY, PlatformStatus(code="210", on=dt.date(2027, 3, 9)), NOW).state
    task = next(step for step in decisions.follow_ups(refused, POLICY, NOW) if step.key.startswith("einvoicing:210"))
    assert "refusée" in task.action.text
    factored = platform_status(s, POLICY, PlatformStatus(code="225", on=dt.date(2027, 3, 9)), NOW).state
    assert factored.stage == "closed" and factored.closed_reason == "factored"
    assert decisions.next_step(factored, POLICY, NOW) is None
