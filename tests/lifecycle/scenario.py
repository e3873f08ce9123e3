"""A case under test: an invoice, its workflow, and the simulated clock, in the domain's words."""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from domain.case import CaseStatus
from domain.invoice import Debtor, Invoice
from relance.cases import case_start
from workflows.invoice_case import InvoiceCase

PARIS = ZoneInfo("Europe/Paris")


def invoice(*, due_in_days: int = 30, due_date: dt.date | None = None, today: dt.date, amount: str = "1200.00",
            insured: bool = False, credit_limit: str | None = None, excl: str | None = None,
            language: str = "fr", policy: str = "default") -> Invoice:
    number = f"T-{uuid.uuid4().hex[:10]}"
    due = due_date or today + dt.timedelta(days=due_in_days)
    return Invoice(
        number=number,
        debtor=Debtor(debtor_id=f"D-{number}", name="Dupont & Fils SARL", email=f"ap-{number}@client.example",
                      language=language, insured=insured, address="5 rue des Lilas, 75011 Paris",
                      credit_limit=Decimal(credit_limit) if credit_limit else None),
        issue_date=min(due - dt.timedelta(days=30), today), due_date=due, amount_incl_tax=Decimal(amount),
        amount_excl_tax=Decimal(excl) if excl else None, policy_id=policy,
    )


def customer_invoices(amounts: list[str], *, today: dt.date, due_in_days: int = 30, **kwargs) -> list[Invoice]:
    """Invoices of one customer (one debtor id and address), each its own case, falling due together."""
    first = invoice(today=today, due_in_days=due_in_days, amount=amounts[0], **kwargs)
    return [first, *(invoice(today=today, due_in_days=due_in_days, amount=amount, **kwargs).model_copy(
        update={"debtor": first.debtor}) for amount in amounts[1:])]


@dataclasses.dataclass
class Case:
    harness: object
    invoice: Invoice
    handle: WorkflowHandle
    first_run_id: str | None = None

    @classmethod
    async def open(cls, harness, invoice: Invoice, **start) -> "Case":
        client = harness.env.client
        first = await client.start_workflow(
            InvoiceCase.run, case_start(invoice).model_copy(update=start), id=invoice.workflow_id,
            task_queue=harness.task_queue)
        # By workflow id, as ops and the CLI address a case: the latest run, across continue-as-new.
        handle = client.get_workflow_handle_for(InvoiceCase.run, invoice.workflow_id)
        harness.started.append(handle)
        return cls(harness, invoice, handle, first.first_execution_run_id)

    async def opened(self) -> "Case":
        """Once the case has read its policy: before, it refuses messages ("still opening")."""
        await self.until(lambda status: bool(status.policy_ref), "read its policy")
        return self

    async def until(self, holds, what: str, seconds: float = 10.0) -> CaseStatus:
        """The first status for which `holds` is true: work an update sets off (a retried step) runs in
        activities after the update returns, so a test asks again rather than reading the status once."""
        import asyncio

        for _ in range(int(seconds / 0.05)):
            status = await self.status()
            if holds(status):
                return status
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.invoice.number} did not {what} within {seconds} s: {status}")

    async def now(self) -> dt.datetime:
        return await self.harness.env.get_current_time()

    async def today(self) -> dt.date:
        return (await self.now()).astimezone(PARIS).date()

    async def wait_until(self, day: dt.date, hour: int = 12) -> None:
        """Let simulated time run to `day` at `hour` (Paris): every timer on the way fires."""
        target = dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS)
        # A week at a time, and a sleep the SDK gave up on is asked again from where the server's clock got to:
        # one sleep is one call to the test server, which the SDK abandons after 30 s of wall time, and months of a
        # case's life (reminders, letters printed as PDFs) on a machine shared by many processes take longer.
        patience = 20
        while (remaining := target - await self.now()) > dt.timedelta(0):
            try:
                await self.harness.env.sleep(min(remaining, dt.timedelta(days=7)))
            except RPCError as error:
                patience -= 1
                if "Timeout expired" not in str(error) or patience == 0:
                    raise

    async def wait_until_due_plus(self, days: int, hour: int = 12) -> None:
        await self.wait_until(self.invoice.due_date + dt.timedelta(days=days), hour)

    async def finished(self) -> CaseStatus:
        """The case's final status. Time must not skip while its last activities run (the test server would
        jump to the next timer it knows, the run's ten-year timeout), so auto time skipping is off here."""
        with self.harness.env.auto_time_skipping_disabled():
            return await self.handle.result()

    async def status(self) -> CaseStatus:
        return await self.handle.query(InvoiceCase.status, await self.today())

    async def update(self, update, argument):
        return await self.handle.execute_update(update, argument)

    async def refusal(self, update, argument) -> str:
        """The reason a validator gives for refusing an update; fails the test if it was accepted."""
        try:
            await self.handle.execute_update(update, argument)
        except WorkflowUpdateFailedError as error:
            return error.cause.message
        raise AssertionError(f"{update.__name__} was accepted")

    def emails(self):
        return self.harness.sent_to(self.invoice.debtor.email)

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.emails()]

    async def steps(self, kind: str | None = None) -> list[str]:
        return [a.step for a in (await self.status()).audit if kind is None or a.kind == kind]

    async def action(self, step: str):
        return next(a for a in (await self.status()).audit if a.step == step)

    def day_of(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(PARIS).date()
