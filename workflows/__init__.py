"""Workflows this package registers."""
from workflows.invoice_case import InvoiceCase

WORKFLOWS = [InvoiceCase]
