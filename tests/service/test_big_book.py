"""A book opened and listed honestly (issue 18), on the dev server with small books: `relance import` returns
once every case has made its first decision and says so, or says which have not; `relance list` says how many
cases match when it shows fewer."""
from __future__ import annotations

import datetime as dt
import json
import uuid

from tests import clock
from tests.service.conftest import relance
from tests.service.test_cli import ledger


def rows(tag: str, count: int) -> list[str]:
    due = (clock.dev_server_today() + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    issued = clock.dev_server_today().strftime("%d/%m/%Y")
    return [f"BIG-{tag}-{n:03};{issued};{due};BIG-{tag};Client {n} SAS;ap{n}@client.example;100,00;non"
            for n in range(1, count + 1)]


async def listed(service, tag: str, *args: str) -> dict:
    shown = await relance(service, "list", "--debtor", f"BIG-{tag}", "--json", *args)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


async def test_import_returns_when_every_case_has_opened_and_says_so(service, tmp_path):
    tag = uuid.uuid4().hex[:6]
    done = await relance(service, "import", str(ledger(tmp_path, rows(tag, 12))))

    assert done.returncode == 0, done.stderr
    assert "12 dossier(s) ouvert(s) : première décision prise" in done.stdout
    found = await listed(service, tag)  # at once: the import waited until visibility showed them open
    assert found["total"] == 12 and all(row["next_action_at"] and row["stage"] for row in found["rows"])


async def test_import_json_counts_opened_cases_and_no_wait_does_not_wait(service, tmp_path):
    tag = uuid.uuid4().hex[:6]
    done = await relance(service, "import", str(ledger(tmp_path, rows(tag, 3))), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and (report["started"], report["opened"], report["still_opening"]) == (3, 3, 0)

    other = uuid.uuid4().hex[:6]
    quick = await relance(service, "import", str(ledger(tmp_path, rows(other, 2))), "--json", "--no-wait")
    assert quick.returncode == 0 and "opened" not in json.loads(quick.stdout)


async def test_import_without_a_worker_stops_waiting_and_names_cases_still_opening(service, tmp_path):
    tag = uuid.uuid4().hex[:6]
    nobody = {**service, "TEMPORAL_TASK_QUEUE": f"no-worker-{tag}"}  # no worker polls this queue
    done = await relance(nobody, "import", str(ledger(tmp_path, rows(tag, 2))), "--stall-seconds", "2")

    assert done.returncode == 1, "not every case opened: the exit status says so"
    assert "2 dossier(s) lancé(s)" in done.stdout
    assert "0 dossier(s) ouvert(s), 2 encore en ouverture" in done.stdout
    assert f"BIG-{tag}-001" in done.stdout or f"BIG-{tag}-002" in done.stdout


async def test_list_shows_the_total_and_pages_through_it(service, tmp_path):
    tag = uuid.uuid4().hex[:6]
    assert (await relance(service, "import", str(ledger(tmp_path, rows(tag, 7))))).returncode == 0

    first = await relance(service, "list", "--debtor", f"BIG-{tag}", "--limit", "3")
    assert first.stdout.splitlines()[-1] == ("7 dossier(s), 3 affiché(s) (n° 1 à 3, page 1/3) :"
                                             " --page 2 pour la suite, --all pour tous")
    assert len(first.stdout.splitlines()) == 4

    pages = [await listed(service, tag, "--limit", "3", "--page", str(p)) for p in (1, 2, 3)]
    assert [(p["total"], p["shown"], p["first"]) for p in pages] == [(7, 3, 1), (7, 3, 4), (7, 1, 7)]
    invoices = [row["invoice"] for p in pages for row in p["rows"]]
    assert sorted(invoices) == [f"BIG-{tag}-{n:03}" for n in range(1, 8)], "the pages cover the book once"

    every = await listed(service, tag, "--all", "--limit", "3")
    assert (every["total"], every["shown"]) == (7, 7)
    whole = await relance(service, "list", "--debtor", f"BIG-{tag}")
    assert whole.stdout.splitlines()[-1] == "7 dossier(s)"


async def test_a_worker_serves_the_sdk_metrics_to_watch_when_asked(dev_server):
    import urllib.request

    from bench.procs import free_port
    from relance.config import TemporalSettings
    from relance.temporal import connect, metrics_runtime

    assert metrics_runtime(None) is None, "no address, no metrics endpoint"
    port = free_port()
    address = dev_server.client.service_client.config.target_host
    client = await connect(TemporalSettings(address=address), runtime=metrics_runtime(f"127.0.0.1:{port}"))
    await client.count_workflows("WorkflowType = 'InvoiceCase'")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'operation="CountWorkflowExecutions"' in text
