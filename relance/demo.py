"""`relance demo`: the sample ledger through the real workflows, months of collection in seconds."""
from __future__ import annotations

import dataclasses
import shutil
import sys
import time
from pathlib import Path

from relance import views
from relance.config import Config
from relance.ledger import rejected_rows
from relance.rules_cli import RulesError, read_routed_ledger, valid_policies
from relance.simulation import SimulationResult, simulate, write_outputs

LEAD_DAYS = 15  # the earliest invoice falls due 15 days after the simulated today, so J-10 is still ahead


async def run_demo(ledger: Path, out: Path, config: Config, *, verbose: bool = False) -> int:
    try:
        rows, errors, problems = read_routed_ledger(ledger, config.rules_dir)
    except RulesError as error:
        print(f"relance: {error}", file=sys.stderr)
        return 1
    for problem in [*problems, *errors]:
        print(f"{ledger}: {problem}", file=sys.stderr)
    if out.exists():
        shutil.rmtree(out)
    config = dataclasses.replace(config, var_dir=out, documents_dir=out / "documents", sent_ledger=out / "sent.sqlite3")
    began = time.monotonic()
    result = await simulate(rows, config, valid_policies(config.rules_dir)[0], lead_days=LEAD_DAYS,
                            progress=(lambda line: print(line, file=sys.stderr)) if verbose else None)
    text = timelines(result)
    write_outputs(result, out, text)
    print(text)
    emails = len(list((out / "outbox").glob("*.eml")))
    documents = len(list((out / "documents").rglob("*.pdf")))
    print(f"{len(result.statuses)} invoices, {emails} emails and {documents} documents under {out}/"
          f" ({time.monotonic() - began:.1f}s for {(result.ended_on - result.started_on).days} simulated days)")
    return 1 if rejected_rows(errors) else 0


def timelines(result: SimulationResult) -> str:
    blocks = []
    for status in result.statuses:
        played = [p for p in result.played if p.invoice == status.invoice_number]
        block = views.status_text(status)
        if played:
            block += "\n  Comportement simulé du débiteur :\n" + "\n".join(
                f"  {views.format_date_fr(p.day)}  {p.event} -> {p.outcome}" for p in played)
        blocks.append(block)
    return "\n\n".join(blocks) + "\n"
