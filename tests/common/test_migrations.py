"""Schema migrations: each file once, in order, safe when replicas start together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from common.migrations import apply_migrations, migrations_for
from tests.conftest import ADMIN_DSN, dsn_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    name = "attune_migrations_test"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    yield dsn_for(name)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.close()


async def test_concurrent_runs_apply_each_migration_once(empty_database: str) -> None:
    connections = [await asyncpg.connect(empty_database) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, "ingest", "ingest") for c in connections))
        expected = [m.version for m in migrations_for("ingest")]
        # Exactly one runner applied everything; the others found nothing left to do.
        assert sorted(results, key=len) == [[], [], expected]
        assert await apply_migrations(connections[0], "ingest", "ingest") == []
        recorded = await connections[0].fetch("SELECT version FROM ingest.schema_migrations ORDER BY version")
        assert sorted(r["version"] for r in recorded) == sorted(expected)
        tables = {
            r["table_name"]
            for r in await connections[0].fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ingest'"
            )
        }
        assert {"outbox", "processed_events", "projects", "datasets", "dataset_files", "utterances"} <= tables
    finally:
        for c in connections:
            await c.close()


async def test_invalid_schema_name_is_refused(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(ValueError, match="invalid schema name"):
            await apply_migrations(conn, "ingest; DROP TABLE x", "ingest")
    finally:
        await conn.close()
