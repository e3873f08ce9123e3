"""The bank matching bench at a toy size: it runs, scores both matchers, and ours makes no wrong match there."""
from bench.bank_matching import run


def test_the_bank_matching_bench_scores_both_matchers():
    result = run(invoices_count=600, lines_count=300, seed=3)
    ours, naive = result["relance"], result["naive_exact_reference"]
    assert result["lines"] == 300 and result["customer_payments"] > 250
    assert ours["wrong"] == 0 and ours["recall_percent"] > naive["recall_percent"]
    assert sum(k["lines"] for k in ours["by_kind"].values()) == 300
