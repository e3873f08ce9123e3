"""Workflows this package registers.

Resolved on first use, not at import: activities import `workflows.visibility`, and an eager import of
the workflow modules here would loop back into them.
"""


def __getattr__(name: str):
    if name == "WORKFLOWS":
        from workflows.drop_folder_sync import DropFolderSync
        from workflows.invoice_case import InvoiceCase
        from workflows.policy_registry import PolicyRegistry

        return [InvoiceCase, PolicyRegistry, DropFolderSync]
    raise AttributeError(f"module 'workflows' has no attribute {name!r}")
