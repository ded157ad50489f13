"""Applies numbered SQL files to one service's schema, once each, under an advisory lock.

The shared files in `common/migrations/` (outbox, processed events) come first, then the
service's own. Each file runs in its own transaction with the schema as search path and is
recorded in `<schema>.schema_migrations`; the advisory lock lets several replicas start at
once without racing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg

from common.logs import configure_logging
from common.settings import ServiceSettings

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str


def _read(package: str, prefix: str) -> list[Migration]:
    folder: Traversable = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        if _NAME.match(entry.name):
            found.append(Migration(f"{prefix}{entry.name.removesuffix('.sql')}", entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def migrations_for(package: str) -> list[Migration]:
    """The shared migrations, then those of `package` (which has a `migrations/` folder)."""
    return _read("common", "common/") + _read(package, "")


async def apply_migrations(conn: asyncpg.Connection, schema: str, package: str) -> list[str]:
    """Brings `schema` up to date; returns the versions applied now."""
    if not _SCHEMA.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    applied_now: list[str] = []
    lock_key = f"attune.migrations.{schema}"
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock_key)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")}
        for migration in migrations_for(package):
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {schema}")
                await conn.execute(migration.sql)
                await conn.execute(f"INSERT INTO {schema}.schema_migrations (version) VALUES ($1)", migration.version)
            log.info("applied migration", extra={"schema": schema, "version": migration.version})
            applied_now.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock_key)
    return applied_now


async def run_migrations(settings: ServiceSettings, *, service: str, schema: str, package: str) -> list[str]:
    """The body of every `python -m <service>.migrate`: connect, migrate, log, close."""
    configure_logging(f"{service}-migrate", settings.log_level)
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        applied = await apply_migrations(conn, schema, package)
    finally:
        await conn.close()
    log.info("schema up to date", extra={"schema": schema, "applied": applied})
    return applied
