"""Gives the activities of `HEARTBEAT_TIMEOUTS` their heartbeat timeout when a workflow schedules them.

The case passes ADAPTER_CALL to every adapter, local activity included, which takes no heartbeat timeout; this
interceptor sets it on the calls that heartbeat. Only a timeout changes: the commands, and so replay, do not.
"""
from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.worker import (
    Interceptor, StartActivityInput, WorkflowInboundInterceptor, WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from activities.contracts import HEARTBEAT_TIMEOUTS


class HeartbeatTimeouts(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        timeout = HEARTBEAT_TIMEOUTS.get(input.activity)
        if timeout is not None and input.heartbeat_timeout is None:
            input.heartbeat_timeout = timeout
        return super().start_activity(input)
