"""A real PostgreSQL server for the tests that need one (the sent ledger shared by several hosts).

Started once per session in a temporary folder (chaos/postgres.py); a machine that cannot start it fails these
tests rather than skipping them: `make test` installs Debian's postgresql (tools/system-packages.txt)."""
from __future__ import annotations

import pytest

from chaos.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _ledger_database(postgres) -> str:
    return postgres.new_database("ledger_tests")


@pytest.fixture
def postgres_url(_ledger_database) -> str:
    """The tests' database, its sent ledger empty (a new database per test costs a third of a second)."""
    import psycopg

    with psycopg.connect(_ledger_database, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS sent")
    return _ledger_database
