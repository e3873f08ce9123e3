"""A step that cannot be carried out never stalls in silence: the case says why, ops get a task, and
`relance retry` runs it again once the data or the template is fixed."""
from domain.case import ProcedureStep
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase


async def test_a_court_dossier_without_the_debtors_address_waits_for_ops_then_runs_again(harness, today, monkeypatch):
    bare = invoice(today=today, due_in_days=15, amount="4000.00")
    without_address = bare.model_copy(update={"debtor": bare.debtor.model_copy(update={"address": ""})})
    case = await Case.open(harness, without_address)
    await case.wait_until_due_plus(75)
    status = await case.status()
    assert status.failure is not None and status.failure.waiting_for_retry
    assert status.failure.step == "small_claims:dossier" and "address" in status.failure.error
    task = next(t for t in status.tasks if t.key.startswith("failed:small_claims:dossier"))
    assert f"relance retry {case.invoice.number}" in task.text
    assert any(m["X-Relance-Key"].endswith(":task:" + task.key) for m in harness.sent_to("recouvrement@fournisseur.example"))
    assert "small_claims:file" not in await case.steps("task"), "nothing after the failed step ran"

    refused = await case.refusal(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step="served"))
    assert refused == "this case is on the small_claims path, not injonction", "the waiting case still answers ops"

    # Ops fix the template (here: a letter that no longer needs the address) and ask for the step again.
    template = harness.var / "templates"
    import shutil
    from relance.config import ROOT
    shutil.copytree(ROOT / "templates", template)
    for path in template.rglob("*.html"):
        path.write_text(path.read_text(encoding="utf-8").replace('|required("debtor.address")', ""), encoding="utf-8")
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(template))
    await case.handle.execute_update(InvoiceCase.retry_step)
    await case.until(lambda status: status.failure is None, "run the retried step")
    assert "small_claims:dossier" in await case.steps("document") and "small_claims:file" in await case.steps("task")
    assert "retry:small_claims:dossier" in await case.steps("retry")


async def test_no_retry_is_taken_when_nothing_failed(harness, today):
    from temporalio.client import WorkflowUpdateFailedError
    import pytest

    case = await Case.open(harness, invoice(today=today, due_in_days=15))
    await case.wait_until_due_plus(-12)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.handle.execute_update(InvoiceCase.retry_step)
    assert "no step of this case is waiting to be retried" in refused.value.cause.message


async def test_a_closed_case_whose_last_email_cannot_be_written_is_retried_and_ends(harness, today, monkeypatch):
    """The thank-you after the payment (a step that outlives the close) fails on a broken template: the case is
    closed but waits for ops, and `relance retry` is accepted on it (it was refused as closed, and the case never
    ended)."""
    import shutil
    from decimal import Decimal

    from domain.case import Payment
    from relance.config import ROOT

    template = harness.var / "templates-thanks"
    shutil.copytree(ROOT / "templates", template)
    thanks = template / "fr" / "thank_you.txt"
    thanks.write_text("{{ merci_beaucoup }}", encoding="utf-8")
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(template))
    case = await (await Case.open(harness, invoice(today=today, due_in_days=15, amount="900.00"))).opened()
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("900.00")))
    status = await case.until(lambda s: s.failure is not None and s.failure.waiting_for_retry, "wait for ops")
    assert status.stage.value == "closed" and status.failure.step == "thank-you"
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(ROOT / "templates"))  # ops deploy the fixed templates
    await case.handle.execute_update(InvoiceCase.retry_step)
    assert (await case.finished()).failure is None


async def test_ops_give_the_missing_address_and_the_court_request_is_written_on_retry(harness, today):
    """The data, not the template: `relance contact` corrects the case's debtor and `relance retry` writes the
    request with the address ops gave; an address with a control character is refused at the door."""
    from domain.case import ContactChange
    from tests.pdf import pdf_text

    bare = invoice(today=today, due_in_days=15, amount="4000.00")
    without_address = bare.model_copy(update={"debtor": bare.debtor.model_copy(update={"address": ""})})
    case = await Case.open(harness, without_address)
    await case.wait_until_due_plus(75)
    assert (await case.status()).failure.step == "small_claims:dossier"
    import pytest
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="control character U\\+0000"):
        ContactChange(address="9 rue Neuve\x00, 69003 Lyon")
    assert "not a valid email address" in await case.refusal(InvoiceCase.update_contact, ContactChange(email="pas-un-email"))
    assert "nothing to change" in await case.refusal(InvoiceCase.update_contact, ContactChange(address=""))
    status = await case.update(InvoiceCase.update_contact, ContactChange(address="9 rue Neuve, 69003 Lyon", by="ops"))
    assert status.invoice.debtor.address == "9 rue Neuve, 69003 Lyon"
    assert any(a.kind == "contact" and "adresse « 9 rue Neuve, 69003 Lyon » (vide jusqu'ici)" in a.summary for a in status.audit), [a.summary for a in status.audit][-3:]
    await case.handle.execute_update(InvoiceCase.retry_step)
    status = await case.until(lambda s: s.failure is None and "small_claims:dossier" in [a.step for a in s.audit],
                              "write the request")
    assert not [t for t in status.tasks if t.key.startswith("failed:")], "done: off the worklist"
    [dossier] = [a for a in status.audit if a.step == "small_claims:dossier"]
    request = next(ref for ref in dossier.refs if ref.endswith(".pdf"))
    assert "9 rue Neuve, 69003 Lyon" in pdf_text(open(request, "rb").read()), "printed with the address ops gave"
