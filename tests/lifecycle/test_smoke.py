import datetime as dt
from decimal import Decimal

from domain.case import CaseStart, CaseStatus, Payment
from domain.invoice import Debtor, Invoice
from workflows.invoice_case import InvoiceCase


async def test_smoke(harness):
    today = (await harness.env.get_current_time()).date()
    inv = Invoice(number="SMOKE-1", debtor=Debtor(debtor_id="D1", name="ACME", email="ap@acme.example"),
                  issue_date=today, due_date=today + dt.timedelta(days=30), amount_incl_tax=Decimal("1200.00"))
    handle = await harness.env.client.start_workflow(InvoiceCase.run, CaseStart(invoice=inv), id=inv.workflow_id,
                                                     task_queue=harness.task_queue)
    await harness.env.sleep(dt.timedelta(days=40))
    st = await handle.query(InvoiceCase.status)
    for a in st.audit: print(a.at, a.kind, a.step, a.summary)
    print(st.next_action)
    r = await handle.execute_update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    print(r)
    res = await handle.result()
    print(res.stage, [m["Subject"] for m in harness.sent_to("ap@acme.example")])
