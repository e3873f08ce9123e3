"""The activity through which an invoice case reaches its customer's account: signal-with-start.

A workflow can signal another only once it runs; the first invoice of a customer to ask must also start its account,
which only a client can do in one call. Retried, it signals again: the account knows an ask by its identity
(case, step, kind) and answers a repeated one once.
"""
from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from activities.contracts import AccountAsk
from domain.grouping import AccountStart, account_workflow_id


class AccountActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def ask_account(self, request: AccountAsk) -> None:
        from workflows.debtor_account import DebtorAccount

        await self.client.start_workflow(
            DebtorAccount.run, AccountStart(debtor_id=request.debtor_id),
            id=account_workflow_id(request.debtor_id), task_queue=activity.info().task_queue,
            start_signal="ask", start_signal_args=[request.ask])

    def all(self) -> list:
        return [self.ask_account]
