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
