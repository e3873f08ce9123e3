"""Bank statements: parsers (CAMT.053, CFONB 120), the store of bank entries, the e-invoicing status file.

Adapters at the edge: what they read becomes `bank.entries.BankEntry`; which invoices an entry pays is decided by
the pure `domain.matching`.
"""
