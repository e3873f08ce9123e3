"""Fault injection against real processes: `make chaos` (python -m chaos)."""
