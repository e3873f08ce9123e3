"""The lifecycles whose histories are kept under tests/histories and replayed against today's code."""
import datetime as dt
from decimal import Decimal

from domain.case import DisputeRequest, DisputeResolution, InsolvencyNotice, Payment, ProcedureStep
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase


async def paid_early(harness, today) -> Case:
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(-5)
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    await case.finished()
    return case


async def dispute_then_resume(harness, today) -> Case:
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(5)
    await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Livraison incomplète"))
    await case.wait_until_due_plus(15)
    await case.update(InvoiceCase.resolve_dispute, DisputeResolution(outcome="resume"))
    await case.wait_until_due_plus(50)
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    await case.finished()
    return case


async def insurer_path(harness, today) -> Case:
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="24000.00", excl="20000.00",
                                            insured=True, credit_limit="50000.00"))
    await case.wait_until_due_plus(80)
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="insurer", step="acknowledged"))
    await case.wait_until_due_plus(260)
    await case.update(InvoiceCase.record_procedure_step,
                      ProcedureStep(procedure="insurer", step="indemnified", amount=Decimal("18000.00")))
    await case.finished()
    return case


async def injonction_path(harness, today) -> Case:
    """Left running, asleep after the order became enforceable: an in-flight case."""
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="9000.00"))
    await case.wait_until_due_plus(75)
    for step in ("filed", "order_issued", "served"):
        await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step=step))
        await case.wait_until(await case.today() + dt.timedelta(days=10))
    await case.wait_until(await case.today() + dt.timedelta(days=40))
    return case


async def insolvency(harness, today) -> Case:
    """Left running after the claim was declared: an in-flight case of an insolvent debtor."""
    case = await Case.open(harness, invoice(today=today, due_in_days=15))
    await case.wait_until_due_plus(20)
    judged = await case.today() - dt.timedelta(days=8)
    await case.update(InvoiceCase.record_insolvency, InsolvencyNotice(kind="redressement", judgment_on=judged))
    await case.wait_until_due_plus(30)
    await case.update(InvoiceCase.record_insolvency, InsolvencyNotice(kind="redressement", judgment_on=judged,
                                                                        published_on=await case.today()))
    await case.wait_until_due_plus(60)
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="declaration", step="declared"))
    await case.wait_until_due_plus(100)
    return case


SCENARIOS = {f.__name__: f for f in (paid_early, dispute_then_resume, insurer_path, injonction_path, insolvency)}


async def plan_missed(harness, today) -> Case:
    """A plan accepted, its second instalment missed: straight to the mise en demeure (default policy)."""
    from relance.cases import plan_in_equal_parts

    case = await Case.open(harness, invoice(today=today, due_in_days=10, amount="3000.00"))
    await case.wait_until_due_plus(5)
    await plan_in_equal_parts(case.handle, 3, 30, today=await case.today())
    await case.wait_until_due_plus(34)
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1000.00")))
    await case.wait_until_due_plus(80)
    return case


async def policy_adopted_in_flight(harness, today) -> Case:
    """A newer version of the policy published while the case sleeps: adopted at its next decision."""
    from domain.rule_file import load_policy_file
    from domain.versions import PolicyNotice

    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(-5)
    path = harness.var / "rules" / "default.yaml"
    current = load_policy_file(path).version
    text = path.read_text(encoding="utf-8").replace(f"version: {current}", f"version: {current + 1}", 1)
    path.write_text(text.replace("offset_days: 30", "offset_days: 20", 1), encoding="utf-8")
    await case.handle.signal(InvoiceCase.policy_published, PolicyNotice(policy_id="default", version=current + 1))
    await case.wait_until_due_plus(25)
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    await case.finished()
    return case


async def continued_as_new(harness, today) -> Case:
    """A long case carries its state into a new run; the first run's history ends with continue-as-new."""
    case = await Case.open(harness, invoice(today=today, due_in_days=30), history_events_limit=25)
    await case.wait_until_due_plus(50)
    case.handle = harness.env.client.get_workflow_handle(case.invoice.workflow_id, run_id=case.first_run_id)
    return case


async def small_claims(harness, today) -> Case:
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="4000.00"))
    await case.wait_until_due_plus(75)
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="small_claims", step="sent"))
    await case.wait_until(await case.today() + dt.timedelta(days=20))
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="small_claims", step="agreed"))
    await case.wait_until(await case.today() + dt.timedelta(days=10))
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("4000.00")))
    await case.finished()
    return case


async def failed_then_retried(harness, today) -> Case:
    """A dossier that cannot be written (no debtor address) waits for ops, then runs again after a fix."""
    import os
    import shutil

    from relance.config import ROOT

    bare = invoice(today=today, due_in_days=15, amount="4000.00")
    case = await Case.open(harness, bare.model_copy(update={"debtor": bare.debtor.model_copy(update={"address": ""})}))
    await case.wait_until_due_plus(75)
    fixed = harness.var / "templates"
    shutil.copytree(ROOT / "templates", fixed, dirs_exist_ok=True)
    for path in fixed.rglob("*.html"):
        path.write_text(path.read_text(encoding="utf-8").replace('|required("debtor.address")', ""), encoding="utf-8")
    os.environ["RELANCE_TEMPLATES_DIR"] = str(fixed)
    try:
        await case.handle.execute_update(InvoiceCase.retry_step)
        await case.until(lambda status: status.failure is None, "run the retried step")
        await case.wait_until(await case.today() + dt.timedelta(days=1))
    finally:
        del os.environ["RELANCE_TEMPLATES_DIR"]
    return case


async def policy_registry(harness, today):
    """The registry of a policy: versions reported with their content (pinned: no case to tell), a changed file
    that kept its version number and a file that does not validate, both refused and recorded."""
    import re

    from domain.rule_file import parse_policy
    from domain.versions import RefusedFile, RegistryState, seen
    from relance.config import ROOT
    from workflows.policy_registry import PolicyRegistry

    text = (ROOT / "rules" / "grands_comptes.yaml").read_text(encoding="utf-8")

    def version(number: int, extra: str = ""):
        return parse_policy(re.sub(r"(?m)^version: \d+", f"version: {number}", text) + extra, "grands_comptes.yaml")

    handle = await harness.env.client.start_workflow(
        PolicyRegistry.run, RegistryState(policy_id="grands-comptes"), id=f"registry-{harness.task_queue}",
        task_queue=harness.task_queue)
    harness.started.append(handle)
    await handle.execute_update(PolicyRegistry.observe, seen(version(1), "test"))
    await handle.execute_update(PolicyRegistry.observe, seen(version(1, "# edited\n"), "test"))
    await handle.execute_update(PolicyRegistry.refuse_file, RefusedFile(
        policy_id="grands-comptes", source="grands_comptes.yaml", problems=["grands_comptes.yaml:4: version: > 0"],
        seen_by="test"))
    await handle.execute_update(PolicyRegistry.observe, seen(version(2), "test"))
    await handle.query(PolicyRegistry.history)

    class Registry:
        pass

    registry = Registry()
    registry.handle = handle
    return registry


SCENARIOS.update({f.__name__: f for f in (plan_missed, policy_adopted_in_flight, continued_as_new, small_claims,
                                          failed_then_retried, policy_registry)})


async def _customer_with_credit(harness, today):
    """Two invoices of one customer under grouping per_debtor: one J-10 message for both; then a credit note that
    covers both, so that J-3 is netted (not sent)."""
    from domain.grouping import account_workflow_id
    from domain.letters import AccountCredit
    from tests.lifecycle.scenario import customer_invoices
    from workflows.debtor_account import DebtorAccount

    invoices = customer_invoices(["1200.00", "300.00"], today=today, due_in_days=12)
    cases = [await Case.open(harness, inv) for inv in invoices]
    await cases[0].wait_until_due_plus(-9)
    account = harness.env.client.get_workflow_handle(account_workflow_id(invoices[0].debtor.debtor_id))
    await account.signal(DebtorAccount.record_credit, AccountCredit(
        reference="AV-1", kind="credit_note", on=await cases[0].today(), amount=Decimal("1500.00")))
    await cases[0].wait_until_due_plus(-2)
    harness.started.append(account)
    return cases, account


async def account_of_a_customer(harness, today):
    """The customer's account workflow: a batch sent, a credit recorded, a batch netted."""
    _, account = await _customer_with_credit(harness, today)

    class Account:
        handle = account

    return Account()


async def case_through_its_account(harness, today) -> Case:
    """An invoice case whose reminders its customer's account carried (one sent, one netted)."""
    cases, _ = await _customer_with_credit(harness, today)
    return cases[0]


account_of_a_customer.per_debtor = case_through_its_account.per_debtor = True
SCENARIOS.update({f.__name__: f for f in (account_of_a_customer, case_through_its_account)})


async def held_for_credit(harness, today) -> Case:
    """A reminder held by a probable bank credit of the debtor, sent once the hold is over, then paid by the bank."""
    from tests.lifecycle.test_bank_hold import credit_in_the_bank

    case = await (await Case.open(harness, invoice(today=today, due_in_days=20))).opened()
    credit_in_the_bank(harness, "BQ-REPLAY", "1200.00", "Dupont et Fils", today)
    await case.wait_until_due_plus(-2)
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00"), paid_on=today,
                                                          bank_reference="BQ-REPLAY"))
    await case.finished()
    return case


async def imported_in_court(harness, today) -> Case:
    """Imported with its past (relance import): a mise en demeure and an order issued before relance, the order
    never served; left running after ops got the lapse at once."""
    from domain.prior import PriorHistory

    bill = invoice(today=today, due_date=today - dt.timedelta(days=370), amount="9000.00")
    prior = PriorHistory(notice_sent_on=today - dt.timedelta(days=300), court_filed_on=today - dt.timedelta(days=260),
                         order_issued_on=today - dt.timedelta(days=215))
    case = await Case.open(harness, bill, prior=prior, catch_up_from=today)
    await case.wait_until(today + dt.timedelta(days=2))
    return case


async def imported_overdue(harness, today) -> Case:
    """Imported 50 days late, its first message held a day by the daily cap: the last reminder, then paid."""
    bill = invoice(today=today, due_date=today - dt.timedelta(days=50))
    case = await Case.open(harness, bill, catch_up_from=today + dt.timedelta(days=1))
    await case.wait_until(today + dt.timedelta(days=10))
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    await case.finished()
    return case


SCENARIOS[held_for_credit.__name__] = held_for_credit


async def payment_returned(harness, today) -> Case:
    """Paid from the bank, closed, then the payment came back: the case starts again from its final state,
    reopened, the reversal first, and its reminders resume (the history kept is the reopened run's)."""
    from domain.case import PaymentReversal
    from relance.cases import reverse_payment

    case = await (await Case.open(harness, invoice(today=today, due_in_days=20))).opened()
    await case.wait_until_due_plus(-5)
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00"), bank_reference="BQ-PAID"))
    await case.finished()
    outcome = await reverse_payment(harness.env.client, harness.task_queue, case.invoice.number,
                                    PaymentReversal(bank_reference="BQ-PAID", returned_by="BQ-BACK", reason="AC04"))
    assert outcome == "dossier rouvert, paiement annulé", outcome
    harness.started.append(case.handle)
    await case.wait_until_due_plus(3)
    return case


SCENARIOS[payment_returned.__name__] = payment_returned


async def platform_statuses(harness, today) -> Case:
    """The e-invoicing platform says the invoice was refused (a task for ops), then factored (the chasing stops)."""
    from domain.case import PlatformStatus

    case = await (await Case.open(harness, invoice(today=today, due_in_days=20))).opened()
    await case.wait_until_due_plus(3)
    await case.update(InvoiceCase.record_platform_status, PlatformStatus(code="210", on=await case.today()))
    await case.wait_until_due_plus(4)
    await case.update(InvoiceCase.record_platform_status, PlatformStatus(code="225", on=await case.today()))
    await case.finished()
    return case


SCENARIOS[platform_statuses.__name__] = platform_statuses
SCENARIOS.update({f.__name__: f for f in (imported_in_court, imported_overdue)})


async def small_claims_rerouted(harness, today) -> Case:
    """Two invoices of one customer escalate to small claims; together past the ceiling, the account files one
    injonction request and the case follows it (its small-claims filing task withdrawn)."""
    from tests.lifecycle.scenario import customer_invoices

    cases = [await Case.open(harness, inv) for inv in
             customer_invoices(["3000.00", "3000.00"], today=today, due_date=today - dt.timedelta(days=59))]
    day = today
    while day < today + dt.timedelta(days=27):
        day += dt.timedelta(days=1)
        await cases[0].wait_until(day)
    assert (await cases[0].status()).path == "injonction"
    return cases[0]


small_claims_rerouted.per_debtor = True
SCENARIOS[small_claims_rerouted.__name__] = small_claims_rerouted


async def claim_complemented(harness, today):
    """The customer's account files a threat-of-loss notice, then a second invoice's, complementing the first."""
    from domain.grouping import account_workflow_id
    from tests.lifecycle.scenario import customer_invoices

    first, second = customer_invoices(["14400.00", "14400.00"], today=today, due_date=today - dt.timedelta(days=59),
                                      excl="12000.00", insured=True, credit_limit="10000.00")
    second = second.model_copy(update={"due_date": first.due_date + dt.timedelta(days=30),
                                       "issue_date": first.issue_date + dt.timedelta(days=30)})
    cases = [await Case.open(harness, inv) for inv in (first, second)]
    day = today
    while day < today + dt.timedelta(days=60):
        day += dt.timedelta(days=1)
        await cases[0].wait_until(day)
    assert (await cases[1].status()).expected_indemnity == 9000
    account = harness.env.client.get_workflow_handle(account_workflow_id(first.debtor.debtor_id))
    harness.started.append(account)

    class Account:
        handle = account

    return Account()


claim_complemented.per_debtor = True
SCENARIOS[claim_complemented.__name__] = claim_complemented


async def accounting_notices(harness, today) -> Case:
    """A newer export raised the invoice, then left it out (`relance sync`): a task for ops each, the first told
    twice (a second sync) and raising none more; then paid."""
    from domain.case import AccountingNotice

    case = await (await Case.open(harness, invoice(today=today, due_in_days=20, amount="1200.00"))).opened()
    raised = AccountingNotice(kind="raised", export_amount=Decimal("1300.00"), on=await case.today(), by="relance sync")
    await case.update(InvoiceCase.record_accounting_notice, raised)
    await case.update(InvoiceCase.record_accounting_notice, raised)
    await case.update(InvoiceCase.record_accounting_notice,
                      AccountingNotice(kind="vanished", on=await case.today(), by="relance sync"))
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    await case.finished()
    return case


SCENARIOS[accounting_notices.__name__] = accounting_notices


async def claim_on_insolvency(harness, today) -> Case:
    """Under grouping per_debtor, an insured customer's insolvency: the case asks its account to declare the loss
    to the insurer, and the account files it (the `claim-on-insolvency` patch: before it, the ask was withdrawn)."""
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="1200.00", excl="1000.00",
                                            insured=True, credit_limit="50000.00"))
    await case.wait_until_due_plus(20)
    judged = await case.today() - dt.timedelta(days=2)
    await case.update(InvoiceCase.record_insolvency, InsolvencyNotice(kind="redressement", judgment_on=judged))
    await case.wait_until_due_plus(40)
    return case


claim_on_insolvency.per_debtor = True
SCENARIOS[claim_on_insolvency.__name__] = claim_on_insolvency
