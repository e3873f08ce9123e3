"""Editing a rule file while cases sleep, on the real dev server: adopt, pin, refuse, audit, replay."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
from pathlib import Path

from relance.payloads import DATA_CONVERTER
from temporalio.worker import Replayer

from activities.contracts import PolicyRequest
from activities.policy_source import PolicySource
from activities.rules import RuleDirectory
from relance import policies
from tests import clock
from tests.lifecycle.scenario import invoice
from tests.service.conftest import Service, eventually, relance
from workflows import WORKFLOWS
from workflows.invoice_case import InvoiceCase
from relance.cases import case_start



def write_policy(rules_dir: Path, policy_id: str, version: int, *, adoption: str = "adopt",
                 j10: int = -10, j10_id: str = "preventive-j-10") -> Path:
    """The default policy, sending at midnight on any day (so a step dated today is due at once)."""
    text = (rules_dir / "default.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^version: \d+$", f"version: {version}", text.replace("policy_id: default", f"policy_id: {policy_id}"))
    text = text.replace("adoption: adopt ", f"adoption: {adoption} ")
    text = text.replace("  business_days_only: true ", "  business_days_only: false ")
    text = text.replace("  extra_closed_days: []", "  extra_closed_days: []\n  send_hour: 0")
    text = text.replace("  - id: preventive-j-10\n    offset_days: -10", f"  - id: {j10_id}\n    offset_days: {j10}")
    path = rules_dir / f"{policy_id}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def open_case(dev_server, service, policy_id: str, due_in_days: int = 20):
    today = clock.dev_server_today()
    case_invoice = invoice(today=today, due_in_days=due_in_days, policy=policy_id)
    handle = await dev_server.client.start_workflow(InvoiceCase.run, case_start(case_invoice),
                                                    id=case_invoice.workflow_id, task_queue=service.task_queue)

    async def listed():
        return [w async for w in dev_server.client.list_workflows(f"WorkflowId = '{handle.id}' AND RelancePolicyVersion = 1")]

    assert await eventually(listed), "the case publishes its policy version for visibility"
    return case_invoice, handle


async def status(handle):
    return await handle.query(InvoiceCase.status, clock.dev_server_today())


async def test_an_edit_that_brings_a_reminder_earlier_wakes_the_case_and_it_goes_out(dev_server, service, rules_dir, smtp):
    write_policy(rules_dir, "adoptable", 1)
    case_invoice, handle = await open_case(dev_server, service, "adoptable")
    assert (await status(handle)).next_action.step == "reminder:preventive-j-10"

    # The file changes; the worker's watcher sees it and publishes the new version.
    stop = asyncio.Event()
    watcher = asyncio.create_task(policies.watch(dev_server.client, service.task_queue, service.activities.rules, 0.2, stop))
    try:
        async def v1_published():
            try:
                return [v.version for v in await policies.history(dev_server.client, service.task_queue, "adoptable")] == [1]
            except Exception:
                return False

        assert await eventually(v1_published), "the running worker reported the version in force"
        write_policy(rules_dir, "adoptable", 2, j10=-20, j10_id="preventive-j-20")

        async def sent():
            return [m for m in smtp.outbox.to(case_invoice.debtor.email)
                    if m["X-Relance-Key"] == f"{case_invoice.number}:reminder:preventive-j-20"]

        assert await eventually(sent), "the reminder brought to today went out"
    finally:
        stop.set()
        await watcher

    current = await status(handle)
    assert current.policy_ref == "adoptable@v2"
    adopted = [a for a in current.audit if a.step == "policy:v2"]
    assert len(adopted) == 1 and adopted[0].policy_ref == "adoptable@v2"
    email = next(a for a in current.audit if a.step == "reminder:preventive-j-20")
    assert email.rule_id == "preventive-j-20" and email.policy_ref == "adoptable@v2"
    assert current.next_action.step == "reminder:preventive-j-3"

    versions = await policies.history(dev_server.client, service.task_queue, "adoptable")
    assert [v.version for v in versions] == [1, 2] and versions[1].cases_notified >= 1
    assert versions[0].content_hash != versions[1].content_hash

    # The case's history replays on today's code, edit included.
    history = await handle.fetch_history()
    result = await Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER).replay_workflow(
        history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_an_edit_that_moves_a_reminder_later_is_followed(dev_server, service, rules_dir):
    write_policy(rules_dir, "later", 1)
    case_invoice, handle = await open_case(dev_server, service, "later")
    before = (await status(handle)).next_action

    write_policy(rules_dir, "later", 2, j10=-5)
    reloaded = await relance(service, "rules", "reload")
    assert "later@v2 enregistrée ; les dossiers en cours l'adopteront" in reloaded.stdout, reloaded.stdout + reloaded.stderr

    async def moved():
        current = await status(handle)
        return current if current.policy_ref == "later@v2" else None

    after = (await eventually(moved)).next_action
    assert after.step == before.step and after.at - before.at == dt.timedelta(days=5)


async def test_a_pinned_policy_ignores_the_edit(dev_server, service, rules_dir):
    write_policy(rules_dir, "pinned", 1, adoption="pin")
    case_invoice, handle = await open_case(dev_server, service, "pinned")
    before = (await status(handle)).next_action

    write_policy(rules_dir, "pinned", 2, adoption="pin", j10=-8)
    reloaded = await relance(service, "rules", "reload")
    assert "pinned@v2 enregistrée ; épinglée, les dossiers en cours gardent leur version" in reloaded.stdout
    # v2 of a pinned policy tells no running case; opening a new case under v2 shows it is in force.
    newer_invoice, newer = await open_case_v2(dev_server, service, "pinned")
    assert (await status(newer)).policy_ref == "pinned@v2"
    current = await status(handle)
    assert current.policy_ref == "pinned@v1" and current.next_action == before

    # v3 is to be adopted: running cases are told, and the one that opened pinned still keeps v1.
    write_policy(rules_dir, "pinned", 3, adoption="adopt", j10=-8)
    await relance(service, "rules", "reload")

    async def refused_on_record():
        return [a for a in (await status(handle)).audit if a.step == "policy:v3:pinned"]

    assert await eventually(refused_on_record)
    current = await status(handle)
    assert current.policy_ref == "pinned@v1" and current.next_action == before


async def open_case_v2(dev_server, service, policy_id):
    today = clock.dev_server_today()
    case_invoice = invoice(today=today, due_in_days=20, policy=policy_id)
    handle = await dev_server.client.start_workflow(InvoiceCase.run, case_start(case_invoice),
                                                    id=case_invoice.workflow_id, task_queue=service.task_queue)

    async def opened():
        return (await status(handle)).policy_ref == f"{policy_id}@v2"

    await eventually(opened)
    return case_invoice, handle


async def test_a_refused_reload_changes_nothing_and_the_registry_says_why(dev_server, service, rules_dir):
    path = write_policy(rules_dir, "fragile", 1)
    case_invoice, handle = await open_case(dev_server, service, "fragile")
    before = await status(handle)
    await relance(service, "rules", "reload")

    broken = path.read_text().replace("version: 1", "version: 2").replace("  deadline_days: 8", "  deadline_days: -8")
    path.write_text(broken)
    reloaded = await relance(service, "rules", "reload")
    line = broken.splitlines().index("  deadline_days: -8") + 1
    assert reloaded.returncode == 1
    assert f"fragile.yaml:{line}: formal_notice.deadline_days" in reloaded.stderr
    assert "fragile@v1 reste en vigueur" in reloaded.stderr

    # The registry keeps v1 and records the refusal, with why, in French.
    assert [v.version for v in await policies.history(dev_server.client, service.task_queue, "fragile")] == [1]
    [refusal] = await policies.refusals(dev_server.client, service.task_queue, "fragile")
    assert refusal.reason.startswith("refusé : ") and f"fragile.yaml:{line}: formal_notice.deadline_days" in refusal.reason
    assert refusal.kept == "fragile@v1" and refusal.seen_by == "relance rules reload"
    shown = await relance(service, "rules", "history", "fragile")
    assert "refus du " in shown.stdout and "en vigueur : fragile@v1" in shown.stdout, shown.stdout + shown.stderr

    # No case sees it: the running one keeps v1, a new one opens under v1, and a worker that starts now with
    # only the broken file on disk reads v1 from the registry.
    service.activities.rules.load()
    after = await status(handle)
    assert after.policy_ref == "fragile@v1" and after.next_action == before.next_action
    newer_invoice, newer = await open_case(dev_server, service, "fragile")
    assert (await status(newer)).policy_ref == "fragile@v1"
    fresh = PolicySource(dev_server.client, service.task_queue, RuleDirectory(rules_dir), "a worker started now")
    assert (await fresh.load_policy(PolicyRequest(policy_id="fragile"))).ref == "fragile@v1"


async def test_a_changed_file_that_kept_its_version_number_is_refused(dev_server, service, rules_dir):
    path = write_policy(rules_dir, "sloppy", 1)
    await relance(service, "rules", "reload")
    path.write_text(path.read_text().replace("  deadline_days: 8", "  deadline_days: 10"))
    reloaded = await relance(service, "rules", "reload")
    assert reloaded.returncode == 1 and "sans nouveau numéro de version" in reloaded.stderr
    history = json.loads((await relance(service, "rules", "history", "sloppy", "--json")).stdout)
    assert [v["version"] for v in history["versions"]] == [1]
    assert [r["kept"] for r in history["refusals"]] == ["sloppy@v1"]


async def test_a_version_published_from_a_folder_no_worker_has_is_adopted(dev_server, service, rules_dir, tmp_path):
    """Issue 12: `RELANCE_RULES_DIR=elsewhere relance rules reload` left every case retrying `load_policy` for
    minutes, the workers not having the file. The registry carries the content: the cases adopt it at once."""
    write_policy(rules_dir, "roaming", 1)
    case_invoice, handle = await open_case(dev_server, service, "roaming")
    before = (await status(handle)).next_action
    await relance(service, "rules", "reload")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(rules_dir / "default.yaml", elsewhere / "default.yaml")
    write_policy(elsewhere, "roaming", 2, j10=-5)
    (elsewhere / "default.yaml").unlink()
    reloaded = await relance(Service({**service, "RELANCE_RULES_DIR": str(elsewhere)}), "rules", "reload")
    assert "roaming@v2 enregistrée ; les dossiers en cours l'adopteront" in reloaded.stdout, reloaded.stderr
    assert service.activities.rules.get("roaming").version == 1, "the worker's own folder still says v1"

    async def adopted():
        current = await status(handle)
        return current if current.policy_ref == "roaming@v2" else None

    after = (await eventually(adopted)).next_action
    assert after.step == before.step and after.at - before.at == dt.timedelta(days=5)
