"""Workflows this package registers."""
from workflows.invoice_case import InvoiceCase
from workflows.policy_registry import PolicyRegistry

WORKFLOWS = [InvoiceCase, PolicyRegistry]
