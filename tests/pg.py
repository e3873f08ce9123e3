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


@pytest.fixture
def postgres_url(postgres, request) -> str:
    """A database of its own for each test."""
    import psycopg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"
