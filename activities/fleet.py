"""Activities that act on many cases at once through Temporal itself: finding them and signalling them."""
from __future__ import annotations

import asyncio

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.versions import NotifyRequest, PolicyNotice
from workflows.visibility import POLICY, POLICY_VERSION

log = structlog.get_logger(__name__)


class FleetActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def notify_cases(self, request: NotifyRequest) -> int:
        """Signal every running case still on an older version, `batch_size` at a time."""
        query = (f"WorkflowType = 'InvoiceCase' AND ExecutionStatus = 'Running'"
                 f" AND {POLICY.name} = '{request.policy_id}' AND {POLICY_VERSION.name} < {request.version}")
        notice = PolicyNotice(policy_id=request.policy_id, version=request.version)
        notified, batch = 0, []
        try:
            async for execution in self.client.list_workflows(query):
                batch.append(execution.id)
                if len(batch) >= request.batch_size:
                    notified += await self._signal(batch, notice)
                    batch = []
                    activity.heartbeat(notified)
        except RPCError as error:
            if error.status != RPCStatusCode.UNIMPLEMENTED:
                raise
            # The time-skipping server of previews and tests has no visibility: no running case can be found
            # there, and retrying would hold its clock (it skips time only when no activity is in flight).
            log.warning("policy.no_visibility", policy=request.policy_id, version=request.version)
            return 0
        notified += await self._signal(batch, notice)
        log.info("policy.cases_notified", policy=request.policy_id, version=request.version, cases=notified)
        return notified

    async def _signal(self, workflow_ids: list[str], notice: PolicyNotice) -> int:
        async def one(workflow_id: str) -> bool:
            try:
                await self.client.get_workflow_handle(workflow_id).signal("policy_published", notice)
                return True
            except Exception as error:  # closed meanwhile: nothing to adopt
                log.info("policy.case_not_signalled", workflow_id=workflow_id, reason=str(error))
                return False

        return sum(await asyncio.gather(*(one(w) for w in workflow_ids)))

    def all(self) -> list:
        return [self.notify_cases]
